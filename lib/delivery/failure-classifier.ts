/**
 * Decides whether a failed delivery may be retried (the guard releases the claim) or is permanent
 * (the guard keeps it and the event is dead-lettered). The rule: permanent means this event, as
 * it is, will never be accepted, or retrying could do harm; everything the environment can fix
 * (network, overload, a target restarting) is retryable, bounded by the attempt count.
 *
 * Decisions worth knowing:
 * - The raiser's own verdict wins: PlantSync's errors (BaseError) and anything else carrying a
 *   boolean `retryable` are classed by it; the rules below only give the `reason`, and decide for
 *   foreign errors (pg, amqplib, Node) and for plain `msg.error` objects without the flag.
 * - CONFIG_ERROR (and NO_CLAIM, a wiring mistake) is RETRYABLE: an operator fixes it, and the
 *   event is not at fault, so a claim is released, never failed for good; the attempt count still
 *   bounds the retries of a broker delivery, which is then parked with its event intact.
 * - Unknown errors are RETRYABLE: third-party clients (pg, amqplib, OPC UA, ERP SDKs) throw plain
 *   Errors for transient faults, backoff rules out a hot loop, and after maxAttempts the event is
 *   dead-lettered anyway. Programming errors (TypeError, RangeError, ReferenceError, SyntaxError)
 *   are PERMANENT: they repeat deterministically, and one thrown while reading a response may
 *   come after the side effect, where a retry would post again.
 * - ENOTFOUND is RETRYABLE: usually a typo, but plant DNS (site resolvers, VPN tunnels) flaps; a
 *   typo costs a few bounded attempts and shows as an open circuit, while treating a flap as
 *   permanent would dead-letter good events.
 * - 401 and 403 are PERMANENT: adapters refresh an expired OAuth token themselves and retry once,
 *   so a 401 that gets here means wrong credentials, and repeating a failed logon can lock the
 *   service account (SAP and AD lockout policies) for every flow. 403 needs an administrator.
 * - 423 Locked is RETRYABLE (a lock is temporary by definition, e.g. an order open in an ERP
 *   transaction); 501 and 505 are PERMANENT (they state a capability the server lacks).
 * - LEASE_LOST is PERMANENT for this worker: another holder owns the key and delivers it; a retry
 *   here would race it. Callers should neither retry nor dead-letter it (see `reason`).
 * - CIRCUIT_OPEN is RETRYABLE with the breaker's wait; no request was sent, so callers should
 *   hand the event to the outbox rather than spend an attempt on it.
 */
import { parseRetryAfter } from './retry-policy';

export type FailureClass = 'retryable' | 'permanent';

export interface FailureClassification {
  class: FailureClass;
  /** Short and stable: `HTTP 503`, `ECONNRESET`, `SCHEMA_INVALID`... for the dead-letter record. */
  reason: string;
  /** Only on retryable failures whose source said when to come back. */
  retryAfterMs?: number;
}

const RETRYABLE_CODES = new Set([
  // timeouts
  'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ECONNABORTED', 'ERR_SOCKET_CONNECTION_TIMEOUT',
  // connection and name resolution
  'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN',
  'EADDRNOTAVAIL', 'EAI_AGAIN', 'ENOTFOUND', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_NETWORK',
  // undici (fetch)
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET',
  'UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'UND_ERR_ABORTED', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  // PlantSync: back-pressure, shutdown, an open circuit, a key held elsewhere, a setting or wiring to fix
  'OUTBOX_FULL', 'STORE_CLOSED', 'CIRCUIT_OPEN', 'IN_FLIGHT', 'CONFIG_ERROR', 'NO_CLAIM', 'UNEXPECTED_ERROR',
  // the broker transport: the link, not the event
  'PUBLISH_TIMEOUT', 'PUBLISH_NACKED', 'NOT_CONNECTED', 'BROKER_CLOSED', 'UNROUTABLE',
]);

const PERMANENT_CODES = new Set([
  // PlantSync: the event is wrong, or another holder owns the key
  'INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'NOT_AN_EVENT', 'UNKNOWN_EVENT_TYPE', 'UNKNOWN_EVENT_VERSION',
  'RETIRED_EVENT_VERSION', 'SCHEMA_INVALID', 'UPCAST_FAILED', 'INVALID_INPUT', 'INVALID_EVENT',
  'NOT_FOUND', 'LEASE_LOST',
  // mapping: the event cannot be expressed for the target, or its answer cannot be read; a retry maps the same way
  'MAPPING_ERROR', 'RESPONSE_MAPPING_ERROR',
  // undici: the request itself is malformed or unsupported
  'UND_ERR_INVALID_ARG', 'UND_ERR_INVALID_RETURN_VALUE', 'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'UND_ERR_RESPONSE_EXCEEDED_MAX_SIZE', 'UND_ERR_HEADERS_OVERFLOW',
]);

const RETRYABLE_STATUS = new Set([408, 423, 425, 429]);
const PERMANENT_5XX = new Set([501, 505]);
const TIMEOUT_NAMES = new Set(['TimeoutError', 'AbortError']);
const PROGRAMMING_ERRORS = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError']);
/** How far to follow `cause` chains (which may be cyclic). */
const MAX_CAUSE_DEPTH = 5;

type Bag = Record<string, unknown>;

/** `nowMs` only serves to turn a Retry-After HTTP-date into a delay. */
export function classifyFailure(err: unknown, nowMs: number = Date.now()): FailureClassification {
  const rules = classifyByRules(err, nowMs);
  if (!isBag(err) || typeof err.retryable !== 'boolean' || (rules.class === 'retryable') === err.retryable) return rules;
  // The raiser knows best; the rules' reason (HTTP 503, ECONNRESET, the code) still names it.
  return err.retryable ? retryable(rules.reason, err, nowMs) : { class: 'permanent', reason: rules.reason };
}

function classifyByRules(err: unknown, nowMs: number): FailureClassification {
  if (!isBag(err)) return retryable('unclassified failure', err, nowMs);

  const status = httpStatus(err);
  if (status !== undefined) {
    if (status >= 500 ? !PERMANENT_5XX.has(status) : RETRYABLE_STATUS.has(status)) {
      return retryable(`HTTP ${status}`, err, nowMs);
    }
    return { class: 'permanent', reason: `HTTP ${status}` };
  }

  for (const code of errorCodes(err)) {
    if (RETRYABLE_CODES.has(code)) return retryable(code, err, nowMs);
    if (PERMANENT_CODES.has(code)) return { class: 'permanent', reason: code };
  }

  const name = typeof err.name === 'string' ? err.name : '';
  if (TIMEOUT_NAMES.has(name)) return retryable(name, err, nowMs);
  // undici wraps every network failure in TypeError('fetch failed'); known causes were handled above.
  if (name === 'TypeError' && err.message === 'fetch failed') return retryable('fetch failed', err, nowMs);
  if (PROGRAMMING_ERRORS.has(name)) return { class: 'permanent', reason: `programming error: ${name}` };
  return retryable(name ? `unclassified ${name}` : 'unclassified failure', err, nowMs);
}

function retryable(reason: string, err: unknown, nowMs: number): FailureClassification {
  const retryAfterMs = isBag(err) ? retryAfter(err, nowMs) : undefined;
  return retryAfterMs === undefined ? { class: 'retryable', reason } : { class: 'retryable', reason, retryAfterMs };
}

/** The status from `status`, `statusCode` or `response.status(Code)`, as fetch wrappers, got and axios put it. */
function httpStatus(err: Bag): number | undefined {
  const response = isBag(err.response) ? err.response : {};
  for (const candidate of [err.status, err.statusCode, response.status, response.statusCode]) {
    const n = typeof candidate === 'string' && /^\d{3}$/.test(candidate) ? Number(candidate) : candidate;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 100 && n <= 599) return n;
  }
  return undefined;
}

/** String codes of the error, its `cause` chain and an AggregateError's members, outermost first. */
function errorCodes(err: Bag): string[] {
  const codes: string[] = [];
  const seen = new Set<unknown>();
  let current: unknown = err;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH && isBag(current) && !seen.has(current); depth++) {
    seen.add(current);
    if (typeof current.code === 'string') codes.push(current.code);
    if (Array.isArray(current.errors)) {
      for (const member of current.errors) if (isBag(member) && typeof member.code === 'string') codes.push(member.code);
    }
    current = current.cause;
  }
  return codes;
}

/** `retryAfterMs` set by an adapter, else a Retry-After header on the error or its response. */
function retryAfter(err: Bag, nowMs: number): number | undefined {
  if (typeof err.retryAfterMs === 'number' && Number.isFinite(err.retryAfterMs) && err.retryAfterMs >= 0) {
    return err.retryAfterMs;
  }
  const response = isBag(err.response) ? err.response : {};
  for (const headers of [err.headers, response.headers]) {
    const value = header(headers, 'retry-after');
    if (value !== undefined) return parseRetryAfter(value, nowMs);
  }
  return undefined;
}

/** Reads a header from a fetch Headers object or a plain object (Node's IncomingHttpHeaders, axios). */
function header(headers: unknown, name: string): string | number | undefined {
  if (!isBag(headers)) return undefined;
  if (typeof headers.get === 'function') {
    const value: unknown = (headers.get as (n: string) => unknown).call(headers, name);
    return typeof value === 'string' ? value : undefined;
  }
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    const first: unknown = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string' || typeof first === 'number') return first;
  }
  return undefined;
}

function isBag(value: unknown): value is Bag {
  return typeof value === 'object' && value !== null;
}

/**
 * Whether a reported failure is permanent: the failing component's own verdict when it gave one
 * (adapter errors carry `retryable`), else the classifier's reading of its code and status.
 */
export function isPermanentFailure(error: { code?: string; message?: string; status?: number; retryable?: boolean }): boolean {
  return classifyFailure({ code: error.code, message: error.message, statusCode: error.status, retryable: error.retryable }).class === 'permanent';
}
