/**
 * The HTTP status a flow behind `http in` answers with, from the outcome of its PlantSync nodes.
 * Nodes set it as `msg.statusCode`, which the core `http response` node sends, so a guarded flow
 * answers right without change nodes. One table, so every node answers the same way:
 *
 * | outcome                                         | status |
 * |-------------------------------------------------|--------|
 * | posted (a write operation succeeded)            | 201    |
 * | read, or a duplicate answered from the store    | 200    |
 * | conflict (same key, other data), key in flight  | 409    |
 * | invalid event (validation, mapping, bad input)  | 422    |
 * | payload too large                               | 413    |
 * | target refused it (permanent target failure)    | 502    |
 * | target, store or broker unavailable (retryable) | 503    |
 * | target timed out                                | 504    |
 * | configuration or anything unexpected            | 500    |
 */

export type Outcome = 'created' | 'ok' | 'duplicate' | 'conflict' | 'invalid';

const OUTCOME_STATUS: Readonly<Record<Outcome, number>> = {
  created: 201,
  ok: 200,
  duplicate: 200,
  conflict: 409,
  invalid: 422,
};

/** The event (or the request's parameters) is wrong: the client must change it. */
const INVALID = new Set([
  'INVALID_JSON', 'NOT_AN_EVENT', 'UNKNOWN_EVENT_TYPE', 'UNKNOWN_EVENT_VERSION', 'RETIRED_EVENT_VERSION',
  'SCHEMA_INVALID', 'UPCAST_FAILED', 'INVALID_INPUT', 'INVALID_EVENT', 'MAPPING_ERROR',
]);

const BY_CODE: Readonly<Record<string, number>> = {
  PAYLOAD_TOO_LARGE: 413,
  // the same key is being worked elsewhere, or was taken over: the client asks again later
  IN_FLIGHT: 409,
  LEASE_LOST: 409,
  NOT_FOUND: 404,
  // the target answered, but not acceptably
  TARGET_REJECTED: 502,
  AUTHENTICATION_FAILED: 502,
  RESPONSE_MAPPING_ERROR: 502,
  TARGET_UNAVAILABLE: 503,
  CIRCUIT_OPEN: 503,
  TIMEOUT: 504,
  // the server is set up wrong: not the client's fault, and no use retrying until it is fixed
  CONFIG_ERROR: 500,
  NO_CLAIM: 500,
};

export function statusForOutcome(outcome: Outcome): number {
  return OUTCOME_STATUS[outcome];
}

/** The status of a failure, from its code, else its own verdict: retryable 503, otherwise 500. */
export function statusForError(error: { code?: unknown; retryable?: unknown }): number {
  const code = typeof error.code === 'string' ? error.code : '';
  if (INVALID.has(code)) return 422;
  const known = BY_CODE[code];
  if (known !== undefined) return known;
  return error.retryable === true ? 503 : 500;
}
