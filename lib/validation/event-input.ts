import type { Problem } from '../errors';
import type { ErrorCode } from '../errors';

/** Default bound on a serialized event: generous for a production order with 100 operations. */
export const DEFAULT_MAX_EVENT_BYTES = 256 * 1024;

export type ParsedInput = { ok: true; value: unknown } | { ok: false; code: ErrorCode; message: string; errors: Problem[] };

/**
 * Accepts an event as an object, a JSON string or a Buffer (as it comes off a broker or HTTP).
 * Serialized input is size-checked before parsing; objects are bounded by the schemas themselves
 * (every string has a maxLength, every array a maxItems, and no unknown properties).
 */
export function parseEventInput(input: unknown, maxBytes = DEFAULT_MAX_EVENT_BYTES): ParsedInput {
  if (typeof input !== 'string' && !Buffer.isBuffer(input)) return { ok: true, value: input };
  const bytes = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (bytes > maxBytes) {
    const message = `event is ${bytes} bytes, more than the limit of ${maxBytes}`;
    return { ok: false, code: 'PAYLOAD_TOO_LARGE', message, errors: [{ pointer: '', message, keyword: 'maxBytes' }] };
  }
  try {
    return { ok: true, value: JSON.parse(input.toString()) };
  } catch (err) {
    const message = `not valid JSON: ${(err as Error).message}`;
    return { ok: false, code: 'INVALID_JSON', message, errors: [{ pointer: '', message, keyword: 'json' }] };
  }
}
