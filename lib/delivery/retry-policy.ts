/**
 * Redelivery policy (after Camel's RedeliveryPolicy): the retry delay is a pure function of the
 * attempt number, with the randomness and the clock passed in, so callers own every timer and
 * tests need none.
 *
 * - Exponential backoff with FULL jitter: after failed attempt n (n >= 1) the delay is uniform in
 *   [0, min(maxDelayMs, baseDelayMs * 2^(n-1))]. Full jitter spreads the retries of many workers
 *   that failed together, so a recovering target is not hit by synchronised waves.
 * - Retry-After: when the target said when to come back, the delay is at least that, even beyond
 *   `maxDelayMs` (the cap bounds our own guess, not the server's instruction). The only bound is
 *   MAX_DELAY_MS, the largest delay `setTimeout` honours: a larger one fires at once, which would
 *   turn a "come back in a month" into a hot loop.
 * - A bounded attempt count; permanent failures are never retried (they are dead-lettered).
 */
import { PlantSyncError } from '../errors';
import type { FailureClass } from './failure-classifier';

export interface RetryPolicy {
  /** Total attempts including the first; after the last one the event is dead-lettered. */
  maxAttempts: number;
  /** Upper bound of the delay after the first failed attempt; doubles with each attempt. */
  baseDelayMs: number;
  /** Cap of the exponential bound (not of a server's Retry-After). */
  maxDelayMs: number;
}

/** The defaults, in one place: 5 attempts, 500 ms doubling up to 30 s (at most 7.5 s of waiting in total). */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
});

/** The largest delay a Node.js timer honours (2^31 - 1 ms, about 24.8 days). */
export const MAX_DELAY_MS = 2_147_483_647;

/** Beyond this exponent the bound is far past any sane cap; stops 2^n from reaching Infinity. */
const MAX_EXPONENT = 52;

/** Merges node configuration over the defaults and rejects values that would break the loop. */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...stripUndefined(overrides) };
  const problems: string[] = [];
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) problems.push('maxAttempts must be an integer >= 1');
  if (!isDelay(policy.baseDelayMs)) problems.push('baseDelayMs must be a number of ms >= 0');
  if (!isDelay(policy.maxDelayMs)) problems.push('maxDelayMs must be a number of ms >= 0');
  if (problems.length > 0) {
    throw new PlantSyncError('CONFIG_ERROR', `invalid retry policy: ${problems.join('; ')}`,
      problems.map((message) => ({ pointer: '', message, keyword: 'retryPolicy' })));
  }
  return policy;
}

/** The shape of an exponential backoff; a RetryPolicy is one. */
export interface Backoff {
  /** Upper bound of the delay after the first failure. */
  baseDelayMs: number;
  /** Cap of the exponential bound. */
  maxDelayMs: number;
  /** Growth of the bound per failure (default 2). */
  factor?: number;
}

/** The upper bound of the jittered delay after failed attempt `attempt` (>= 1). */
export function backoffCeiling(attempt: number, policy: Backoff): number {
  assertAttempt(attempt);
  if (policy.baseDelayMs <= 0 || policy.maxDelayMs <= 0) return 0; // also avoids 0 * Infinity
  const exponential = policy.baseDelayMs * (policy.factor ?? 2) ** Math.min(attempt - 1, MAX_EXPONENT);
  return Math.min(policy.maxDelayMs, exponential, MAX_DELAY_MS);
}

/**
 * The one backoff of the core: exponential with FULL jitter, whole ms uniform in
 * [0, backoffCeiling(attempt)]; `equal` jitter keeps the upper half [ceiling/2, ceiling] (the
 * broker reconnect, so that a restarting broker is never met by immediate reconnects). `random`
 * must return values in [0, 1) like Math.random; out-of-range values are clamped, not trusted.
 */
export function backoffDelay(attempt: number, policy: Backoff, random: () => number = Math.random, jitter: 'full' | 'equal' = 'full'): number {
  const ceiling = backoffCeiling(attempt, policy);
  const r = random();
  const unit = Number.isFinite(r) ? Math.min(1, Math.max(0, r)) : 0;
  return Math.round(jitter === 'equal' ? ceiling / 2 + (unit * ceiling) / 2 : unit * ceiling);
}

/**
 * Delay in whole ms before the retry that follows failed attempt `attempt` (>= 1): the backoff,
 * or the server's Retry-After when that is longer.
 */
export function retryDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random, retryAfterMs?: number): number {
  const jittered = backoffDelay(attempt, policy, random);
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs) || retryAfterMs < 0) return jittered;
  return Math.min(MAX_DELAY_MS, Math.max(jittered, Math.ceil(retryAfterMs)));
}

/** True when failed attempt `attempt` may be followed by another one. */
export function shouldRetry(attempt: number, policy: RetryPolicy, failure: FailureClass | { class: FailureClass }): boolean {
  assertAttempt(attempt);
  const cls = typeof failure === 'string' ? failure : failure.class;
  return cls === 'retryable' && attempt < policy.maxAttempts;
}

export type RetryDecision =
  | { retry: true; delayMs: number }
  /** Why the event goes to the dead-letter store instead. */
  | { retry: false; reason: 'permanent' | 'exhausted' };

/** shouldRetry and retryDelay in one call: what a delivery loop does after a failed attempt. */
export function decideRetry(
  attempt: number,
  policy: RetryPolicy,
  failure: { class: FailureClass; retryAfterMs?: number },
  random: () => number = Math.random,
): RetryDecision {
  if (failure.class === 'permanent') return { retry: false, reason: 'permanent' };
  if (!shouldRetry(attempt, policy, failure)) return { retry: false, reason: 'exhausted' };
  return { retry: true, delayMs: retryDelay(attempt, policy, random, failure.retryAfterMs) };
}

const DELTA_SECONDS = /^\d+$/;
const DAYS = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAYS = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MON = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** RFC 9110 5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms recipients must accept. */
const IMF_FIXDATE = new RegExp(`^${DAYS}, (\\d{2}) ${MON} (\\d{4}) ${TIME} GMT$`, 'i');
const RFC850_DATE = new RegExp(`^${LONG_DAYS}, (\\d{2})-${MON}-(\\d{2}) ${TIME} GMT$`, 'i');
const ASCTIME_DATE = new RegExp(`^${DAYS} ${MON} ([ \\d]\\d) ${TIME} (\\d{4})$`, 'i');

/**
 * HTTP Retry-After (RFC 9110 10.2.3) as ms from `nowMs`: delta-seconds or an HTTP-date. A number
 * is taken as seconds (a header already parsed by a client library). Negative or unparseable
 * values, and fractional text (not delta-seconds), give undefined: no instruction. A date in the
 * past gives 0. Not Date.parse: it accepts nearly anything and reads asctime as local time.
 */
export function parseRetryAfter(value: string | number | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? Math.min(MAX_DELAY_MS, Math.ceil(value * 1000)) : undefined;
  }
  const text = value.trim();
  if (DELTA_SECONDS.test(text)) return Math.min(MAX_DELAY_MS, Number(text) * 1000);
  const at = parseHttpDate(text, nowMs);
  if (at === undefined) return undefined;
  return Math.min(MAX_DELAY_MS, Math.max(0, at - nowMs));
}

function parseHttpDate(text: string, nowMs: number): number | undefined {
  let m = IMF_FIXDATE.exec(text);
  if (m) return utc(Number(m[3]), m[2], Number(m[1]), m[4], m[5], m[6]);
  m = RFC850_DATE.exec(text);
  if (m) return utc(fullYear(Number(m[3]), nowMs), m[2], Number(m[1]), m[4], m[5], m[6]);
  m = ASCTIME_DATE.exec(text);
  if (m) return utc(Number(m[6]), m[1], Number(m[2].trim()), m[3], m[4], m[5]);
  return undefined;
}

/** RFC 9110: a two-digit year more than 50 years in the future is the most recent past such year. */
function fullYear(twoDigits: number, nowMs: number): number {
  const thisYear = new Date(nowMs).getUTCFullYear();
  let year = Math.floor(thisYear / 100) * 100 + twoDigits;
  if (year > thisYear + 50) year -= 100;
  return year;
}

function utc(year: number, month: string, day: number, hh: string, mm: string, ss: string): number | undefined {
  const mon = MONTHS.indexOf(month.toLowerCase());
  const [h, mi, s] = [Number(hh), Number(mm), Number(ss)];
  if (h > 23 || mi > 59 || s > 60) return undefined; // 60: a leap second
  const ms = Date.UTC(year, mon, day, h, mi, Math.min(s, 59));
  // Date.UTC rolls 31 Feb over into March; reject instead of guessing.
  return new Date(ms).getUTCDate() === day ? ms : undefined;
}

function assertAttempt(attempt: number): void {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be an integer >= 1, got ${attempt}`);
}

function isDelay(ms: number): boolean {
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
