import { BaseError } from '../errors';

/**
 * The one error of PlantSync's transports: the AMQP broker and local bus (codes below) and HTTP
 * exchanges (Node's socket code: ECONNRESET, ECONNREFUSED..., or ETIMEDOUT for the request
 * timeout). `details` says where (routing key, message id; method and URL for HTTP).
 */
export type TransportErrorCode =
  | 'UNROUTABLE'
  | 'PUBLISH_TIMEOUT'
  | 'PUBLISH_NACKED'
  | 'NOT_CONNECTED'
  | 'BROKER_CLOSED'
  | 'INVALID_EVENT'
  | 'INVALID_JSON'
  | 'HANDLER_FAILED'
  | 'CONFIG_ERROR'
  // an HTTP exchange's socket code
  | (string & {});

/** Only a malformed event is permanent: every other transport failure is the link's, or a setting an operator fixes. */
const PERMANENT: ReadonlySet<string> = new Set(['INVALID_EVENT', 'INVALID_JSON']);

export class TransportError extends BaseError {
  declare readonly code: TransportErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: TransportErrorCode, message: string, details: Record<string, unknown> = {}, options: { cause?: unknown } = {}) {
    super(code, message, { retryable: !PERMANENT.has(code), cause: options.cause });
    this.details = details;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), details: this.details };
  }
}

/** `code` and `message` of any thrown value, for headers and status text. */
export function describeError(err: unknown): { code: string; message: string } {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown };
    const code = typeof e.code === 'string' || typeof e.code === 'number' ? String(e.code) : 'HANDLER_FAILED';
    const message = typeof e.message === 'string' ? e.message : String(err);
    return { code, message: message.slice(0, 1000) };
  }
  return { code: 'HANDLER_FAILED', message: String(err).slice(0, 1000) };
}
