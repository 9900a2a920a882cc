/**
 * Correlation headers: X-Correlation-ID for people grepping logs, and a W3C traceparent for
 * tracing tools. The trace id is DERIVED from the correlation id (a hash), so every request about
 * one business event, from any node, any retry, any Node-RED instance, lands in one trace without
 * passing trace state around; each HTTP request is its own span.
 */
import { createHash, randomBytes } from 'node:crypto';

/** 32 lower-case hex digits, stable per correlation id, never the invalid all-zero id. */
export function traceIdFor(correlationId: string): string {
  const id = createHash('sha256').update(correlationId, 'utf8').digest('hex').slice(0, 32);
  return /^0+$/.test(id) ? `${id.slice(0, 31)}1` : id;
}

/** 16 random lower-case hex digits, never all zero. */
export function newSpanId(): string {
  const id = randomBytes(8).toString('hex');
  return /^0+$/.test(id) ? '0000000000000001' : id;
}

/** `00-<trace id>-<span id>-01` (version 00, sampled). */
export function traceparent(correlationId: string, spanId: string = newSpanId()): string {
  return `00-${traceIdFor(correlationId)}-${spanId}-01`;
}
