/**
 * The one error family of PlantSync. Every error the core raises extends BaseError: a stable,
 * machine-readable `code` (Catch nodes copy it to `msg.error.code`), the raiser's own verdict
 * `retryable` (the guard releases a claim on a retryable failure and fails it on a permanent one),
 * and the `cause` it wraps. Anything else that is thrown (a pg, amqplib or Node error) is wrapped
 * by `asPlantSyncError` as UNEXPECTED_ERROR with its cause kept, never relabelled as bad input.
 */

export interface Problem {
  /** JSON pointer (RFC 6901) to the offending value; "" is the whole document. */
  pointer: string;
  message: string;
  /** The JSON Schema keyword or PlantSync rule that failed. */
  keyword: string;
}

/** A wrapped error as it appears on `msg.error.cause`: enough to diagnose, no stack. */
export interface CauseSummary {
  name?: string;
  code?: string;
  message: string;
}

export interface BaseErrorOptions {
  retryable: boolean;
  cause?: unknown;
}

export class BaseError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: BaseErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable;
  }

  /** The plain object a node puts on `msg.error`; subclasses add their own fields. */
  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = { code: this.code, message: this.message, retryable: this.retryable };
    const cause = summariseCause(this.cause);
    if (cause) json.cause = cause;
    return json;
  }
}

export type ErrorCode =
  | 'INVALID_JSON'
  | 'PAYLOAD_TOO_LARGE'
  | 'NOT_AN_EVENT'
  | 'UNKNOWN_EVENT_TYPE'
  | 'UNKNOWN_EVENT_VERSION'
  | 'RETIRED_EVENT_VERSION'
  | 'SCHEMA_INVALID'
  | 'UPCAST_FAILED'
  | 'INVALID_INPUT'
  | 'CONFIG_ERROR'
  | 'LEASE_LOST'
  | 'OUTBOX_FULL'
  | 'STORE_CLOSED'
  | 'NOT_FOUND'
  | 'IN_FLIGHT'
  | 'NO_CLAIM'
  | 'RESPONSE_MAPPING_ERROR'
  | 'UNEXPECTED_ERROR';

/**
 * PlantSync codes whose failure the environment or an operator can fix, so the same event may
 * succeed later: back-pressure and shutdown, a key held elsewhere, and configuration or wiring
 * mistakes (a claim is released on them, never failed for good: after the fix the retry works).
 * Every other code means the event as it is will never be accepted.
 */
const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'OUTBOX_FULL', 'STORE_CLOSED', 'IN_FLIGHT', 'CONFIG_ERROR', 'NO_CLAIM', 'UNEXPECTED_ERROR',
]);

/** Whether a PlantSync error code is retryable by default (see RETRYABLE_CODES). */
export function isRetryableCode(code: ErrorCode): boolean {
  return RETRYABLE_CODES.has(code);
}

/** The core's own errors; `details` lists every problem with a JSON pointer into the input. */
export class PlantSyncError extends BaseError {
  declare readonly code: ErrorCode;
  readonly details: Problem[];

  constructor(code: ErrorCode, message: string, details: Problem[] = [], options: Partial<BaseErrorOptions> = {}) {
    super(code, message, { retryable: options.retryable ?? isRetryableCode(code), cause: options.cause });
    this.details = details;
  }

  override toJSON(): Record<string, unknown> & { code: ErrorCode; message: string; details: Problem[] } {
    return { ...super.toJSON(), code: this.code, message: this.message, details: this.details };
  }
}

/**
 * Any thrown value as a PlantSync error: BaseErrors as they are, anything else wrapped as
 * UNEXPECTED_ERROR keeping its cause (whose code, such as ECONNREFUSED, shows in
 * `msg.error.cause`). The wrapper is retryable unless `retryable` (the failure classifier's
 * reading of the cause, passed in by callers that have it) says otherwise.
 */
export function asPlantSyncError(err: unknown, retryable = true): BaseError {
  if (err instanceof BaseError) return err;
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : 'unexpected failure';
  return new PlantSyncError('UNEXPECTED_ERROR', message, [], { retryable, cause: err });
}

function summariseCause(cause: unknown): CauseSummary | undefined {
  if (cause === undefined || cause === null) return undefined;
  if (typeof cause !== 'object') return { message: String(cause) };
  const c = cause as { name?: unknown; code?: unknown; message?: unknown };
  const summary: CauseSummary = { message: typeof c.message === 'string' ? c.message : String(cause) };
  if (typeof c.name === 'string') summary.name = c.name;
  if (typeof c.code === 'string' || typeof c.code === 'number') summary.code = String(c.code);
  return summary;
}
