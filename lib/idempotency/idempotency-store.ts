/**
 * The idempotency guard's storage contract (after Camel's IdempotentRepository, with leases and
 * fencing added for several workers and crashes):
 *
 * - `claim` before the side effect. A new key, a released key, or an in-flight key whose lease
 *   has expired (its holder crashed) is `claimed`: the caller gets a fencing `token` and a lease.
 *   A completed key is a `duplicate` carrying the first attempt's stored result. A key another
 *   holder is working on within its lease is `in-flight`. A key stored with a different payload
 *   hash is a `conflict`, whatever its state: the same business key must mean the same payload.
 *   A permanently failed key answers `failed` (it is dead-lettered), unless the claim is a replay
 *   (`reclaimFailed`), which takes it again.
 * - `complete` after the side effect succeeded, with its result (an ERP document number...);
 *   `release` after a retryable failure, so a retry can claim at once; `fail` after a permanent
 *   failure. Each takes the claim's token and is refused (`LEASE_LOST`) when the lease was taken
 *   over by another holder meanwhile, so a stale worker can never overwrite a newer one.
 * - `purge` removes settled records (completed, failed, released) older than the retention.
 * - Every claim of a key reports `firstAttemptAt`, the time of its FIRST claim (the record's
 *   creation), the same after a release, a takeover or a replay: what a target's repeatable
 *   request header (SAP's Repeatability-First-Sent) must carry on every retry of the same request.
 *
 * Every state change is durable before its promise resolves.
 */
export type RecordState = 'in-flight' | 'completed' | 'failed' | 'released';

export interface IdempotencyRecord {
  key: string;
  payloadHash: string;
  state: RecordState;
  /** Fencing token of the current or last holder. */
  token: string;
  /** Epoch ms; meaningful while in-flight. */
  leaseExpiresAt: number;
  /** How many times the key was claimed. */
  attempts: number;
  /** What `complete` stored (JSON). */
  result?: unknown;
  /** What `fail` stored (JSON). */
  reason?: unknown;
  /** Epoch ms of the first claim; never changes while the record exists (the first attempt's time). */
  createdAt: number;
  updatedAt: number;
}

export type ClaimOutcome =
  | { status: 'claimed'; token: string; attempt: number; takeover: boolean; firstAttemptAt: number }
  | { status: 'duplicate'; result: unknown; completedAt: number }
  | { status: 'in-flight'; leaseExpiresAt: number }
  | { status: 'conflict'; storedHash: string; state: RecordState }
  | { status: 'failed'; reason: unknown };

export interface ClaimOptions {
  /** A replay of a dead-lettered event may claim a key that failed permanently. */
  reclaimFailed?: boolean;
}

export interface IdempotencyStore {
  claim(key: string, payloadHash: string, leaseMs: number, options?: ClaimOptions): Promise<ClaimOutcome>;
  complete(key: string, result: unknown, token: string): Promise<void>;
  release(key: string, token: string): Promise<void>;
  fail(key: string, reason: unknown, token: string): Promise<void>;
  lookup(key: string): Promise<IdempotencyRecord | undefined>;
  /** Removes settled records last changed more than `retentionMs` ago; returns how many. */
  purge(retentionMs: number): Promise<number>;
  close(): Promise<void>;
}

/** Clock and token source, injectable so tests can move time without sleeping. */
export interface StoreEnvironment {
  now?: () => number;
  newToken?: () => string;
}
