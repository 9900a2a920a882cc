/**
 * Errors of the AMQP transport. Same shape as PlantSyncError (`code`, `details`, `toJSON`) so
 * nodes copy them to `msg.error` alike; a separate class because lib/errors.ts's ErrorCode union
 * does not list the transport codes yet (to be merged there by its owner).
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
  | 'CONFIG_ERROR';

export class TransportError extends Error {
  readonly code: TransportErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: TransportErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'TransportError';
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: TransportErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
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
