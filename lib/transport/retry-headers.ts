/**
 * Where a failed delivery goes next, and the headers its copy carries: one rule for the RabbitMQ
 * consumer and the local bus. Past `maxAttempts` (or when forced, e.g. a body that is not JSON)
 * the message is parked with reason and attempt count; otherwise it goes to the retry tier of its
 * attempt (the last tier repeats) with attempt + 1, or straight back when no tiers are configured.
 */
import { HEADERS } from './message';
import { describeError } from './transport-error';

export type FailureHop =
  /** `tier`: index into the retry tiers, undefined when there are none (retry at once). */
  | { to: 'retry'; tier: number | undefined; headers: Record<string, unknown> }
  | { to: 'park'; headers: Record<string, unknown> };

export interface FailedDelivery {
  /** 1 on the first delivery. */
  attempt: number;
  maxAttempts: number;
  tierCount: number;
  /** The message's headers as received (the first failure time is kept from them). */
  headers: Record<string, unknown>;
  error: unknown;
  /** Wall-clock ms for the timestamps written. */
  now: number;
  /** Park regardless of the attempt count. */
  park?: boolean;
}

/** The next hop of a failed delivery with the headers to set on its copy (merged over the received ones). */
export function failureHop(d: FailedDelivery): FailureHop {
  const { code, message } = describeError(d.error);
  const at = new Date(d.now).toISOString();
  if (d.park || d.attempt >= d.maxAttempts) {
    return {
      to: 'park',
      headers: {
        [HEADERS.parkedReason]: code,
        [HEADERS.parkedMessage]: message,
        [HEADERS.attempts]: d.attempt,
        [HEADERS.parkedAt]: at,
        [HEADERS.lastErrorCode]: code,
        [HEADERS.lastErrorMessage]: message,
      },
    };
  }
  return {
    to: 'retry',
    tier: d.tierCount > 0 ? Math.min(d.attempt - 1, d.tierCount - 1) : undefined,
    headers: {
      [HEADERS.attempt]: d.attempt + 1,
      [HEADERS.lastErrorCode]: code,
      [HEADERS.lastErrorMessage]: message,
      [HEADERS.firstFailure]: (d.headers[HEADERS.firstFailure] as string | undefined) ?? at,
    },
  };
}
