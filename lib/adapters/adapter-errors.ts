/**
 * What an adapter call can end in, as one error family. Catch nodes copy `code`; the delivery
 * layer reads `retryable` (and classifyFailure agrees: rejected and authentication errors carry
 * their 4xx status, unavailable and timeout errors a 5xx status or a socket code in `cause`).
 */
import type { CircuitOpenError } from '../delivery/circuit-breaker';
import { BaseError } from '../errors';

export type TargetRole = 'ERP' | 'MES' | 'WMS' | 'QMS' | 'EAM';

export type AdapterErrorCode =
  /** Credentials refused (401 after a token refresh), 403 (not CSRF), or the token endpoint failed. */
  | 'AUTHENTICATION_FAILED'
  /** A permanent answer (4xx, 501, 505): the same request will never succeed. */
  | 'TARGET_REJECTED'
  /** Retryable failures (5xx, 408, 429, socket errors) until the attempts ran out. */
  | 'TARGET_UNAVAILABLE'
  /** The target's circuit breaker is open: no request was sent. */
  | 'CIRCUIT_OPEN'
  /** The last attempt got no complete answer within timeoutMs. */
  | 'TIMEOUT';

/** The target's own error, from an OData body ({error:{code,message:{value}}}) or a REST one ({error,message}). */
export interface TargetErrorDetail {
  code: string;
  message: string;
}

export interface AdapterErrorInit {
  /** Undefined only for an auth provider's own error; EndpointClient always sets it. */
  target: TargetRole | undefined;
  attempts: number;
  retryable: boolean;
  status?: number;
  method?: string;
  path?: string;
  /** The parsed response body of the failing answer. */
  body?: unknown;
  targetError?: TargetErrorDetail;
  /** Socket or timeout code of the last failure (ECONNRESET, ETIMEDOUT...). */
  lastCode?: string;
  retryAfterMs?: number;
  cause?: unknown;
}

export class AdapterError extends BaseError {
  declare readonly code: AdapterErrorCode;
  readonly target: TargetRole | undefined;
  readonly attempts: number;
  readonly status?: number;
  readonly method?: string;
  readonly path?: string;
  readonly body?: unknown;
  readonly targetError?: TargetErrorDetail;
  readonly lastCode?: string;
  readonly retryAfterMs?: number;

  constructor(code: AdapterErrorCode, message: string, init: AdapterErrorInit) {
    super(code, message, { retryable: init.retryable, cause: init.cause });
    this.target = init.target;
    this.attempts = init.attempts;
    if (init.status !== undefined) this.status = init.status;
    if (init.method !== undefined) this.method = init.method;
    if (init.path !== undefined) this.path = init.path;
    if (init.body !== undefined) this.body = init.body;
    if (init.targetError !== undefined) this.targetError = init.targetError;
    if (init.lastCode !== undefined) this.lastCode = init.lastCode;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
  }

  /** The plain object a node puts on `msg.error`. */
  override toJSON(): Record<string, unknown> {
    const { code, message, target, attempts, retryable, status, method, path, targetError, lastCode, retryAfterMs } = this;
    return Object.fromEntries(Object.entries({ code, message, target, attempts, retryable, status, method, path, targetError, lastCode, retryAfterMs })
      .filter(([, v]) => v !== undefined));
  }
}

export class AuthenticationError extends AdapterError {
  constructor(message: string, init: AdapterErrorInit) {
    super('AUTHENTICATION_FAILED', message, init);
    this.name = 'AuthenticationError';
  }
}

export class TargetRejectedError extends AdapterError {
  constructor(message: string, init: Omit<AdapterErrorInit, 'retryable'>) {
    super('TARGET_REJECTED', message, { ...init, retryable: false });
    this.name = 'TargetRejectedError';
  }
}

export class TargetUnavailableError extends AdapterError {
  constructor(message: string, init: Omit<AdapterErrorInit, 'retryable'>) {
    super('TARGET_UNAVAILABLE', message, { ...init, retryable: true });
    this.name = 'TargetUnavailableError';
  }
}

export class TargetTimeoutError extends AdapterError {
  constructor(message: string, init: Omit<AdapterErrorInit, 'retryable'>) {
    super('TIMEOUT', message, { ...init, retryable: true, lastCode: init.lastCode ?? 'ETIMEDOUT' });
    this.name = 'TargetTimeoutError';
  }
}

/** Wraps the breaker's CircuitOpenError (kept as `cause`) so callers catch one family. */
export class TargetCircuitOpenError extends AdapterError {
  declare readonly retryAfterMs: number;

  constructor(message: string, init: Omit<AdapterErrorInit, 'retryable' | 'retryAfterMs' | 'cause'> & { cause: CircuitOpenError }) {
    super('CIRCUIT_OPEN', message, { ...init, retryable: true, retryAfterMs: init.cause.retryAfterMs });
    this.name = 'TargetCircuitOpenError';
  }
}

/**
 * The target's error code and text from a response body: SAP OData v2 ({error:{code,
 * message:{value}}}), OData v4 ({error:{code,message}}), generic REST ({error,message}) and
 * OAuth ({error,error_description}). Undefined when the body has none of these shapes.
 */
export function parseTargetError(body: unknown): TargetErrorDetail | undefined {
  if (!isBag(body)) return undefined;
  const error = body.error;
  if (isBag(error)) {
    const code = typeof error.code === 'string' ? error.code : '';
    const m = error.message;
    const message = typeof m === 'string' ? m : isBag(m) && typeof m.value === 'string' ? m.value : '';
    return code || message ? { code, message } : undefined;
  }
  if (typeof error === 'string') {
    const text = typeof body.message === 'string' ? body.message : typeof body.error_description === 'string' ? body.error_description : '';
    return { code: error, message: text };
  }
  return undefined;
}

function isBag(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
