import { PlantSyncError } from '../errors';
import { OutboxDrain, defaultRetryDelay, type DeliverFn, type RetryDelay } from './outbox-drain';
import { OutboxStore, serialiseEntry, type OutboxEntry, type OutboxRow } from './outbox-store';
import { TokenBucket } from './rate-limiter';

// The outbox's parts, re-exported so importers of the outbox (lib/index.ts, nodes, tests) keep one entry point.
export type { OutboxEntry } from './outbox-store';
export { defaultRetryDelay, type DeliverFn, type RetryDelay } from './outbox-drain';
/** @deprecated import from './rate-limiter'; re-exported because lib/index.ts exposed it here. */
export { TokenBucket } from './rate-limiter';

export interface OutboxStats {
  /** Entries stored (enqueued and not yet delivered). */
  backlog: number;
  /** `deliver` calls pending right now. */
  inFlight: number;
  /** Deliveries completed since this Outbox was opened. */
  delivered: number;
  /** Failed delivery attempts since this Outbox was opened. */
  failed: number;
  /** Partitions waiting out a retry delay. */
  paused: number;
  /** Age of the oldest stored entry (0 when empty). */
  oldestAgeMs: number;
  /** Enqueue is refusing with OUTBOX_FULL. */
  full: boolean;
  running: boolean;
}

export interface OutboxOptions {
  /** Maximum number of stored entries; enqueue beyond it rejects with OUTBOX_FULL. */
  capacity?: number;
  /** Entries read per drain round (one SELECT). */
  batchSize?: number;
  /** Maximum `deliver` calls in flight, each for a different partition. */
  concurrency?: number;
  /** Deliveries per second across the outbox; 0 = unlimited. */
  ratePerSec?: number;
  /** Token-bucket size (deliveries allowed in a burst); default 50 ms worth, at least 1. */
  rateBurst?: number;
  /** Retry delay after a failed delivery: a fixed number of ms or a policy function. */
  retry?: number | RetryDelay;
  /** How long stop() waits for in-flight deliveries before giving up on them. */
  stopTimeoutMs?: number;
  /** Coalescing interval of onChange notifications. */
  statusIntervalMs?: number;
  /** Clock for timestamps and the rate limiter. */
  now?: () => number;
}

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw new PlantSyncError('CONFIG_ERROR', `outbox option ${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

/**
 * Durable store-and-forward on SQLite (WAL, synchronous=FULL): its storage is outbox-store.ts,
 * its drain loop outbox-drain.ts; this class holds the capacity, the lifecycle and the status.
 *
 * - `enqueue` resolves only after the entry is committed and fsynced (group commit), so whatever
 *   was acknowledged survives a process kill; a full outbox rejects (back-pressure), never drops.
 * - Entries of one partition are delivered strictly in enqueue order, one at a time: the next is
 *   handed over only after the previous `deliver` resolved AND its delivery record is durable.
 *   Different partitions are delivered in parallel, up to `concurrency`, within the rate limit.
 * - At-least-once: a delivery is recorded only after `deliver` resolved. A kill between the
 *   handover and the record's commit delivers that entry again after restart (at most the one most
 *   recent entry per partition); downstream idempotency turns that into effectively-once.
 * - A failed delivery records attempts and the error, and pauses only its partition for the retry
 *   delay; then the same head entry is retried.
 *
 * One process drains a file at a time: two Outbox instances draining the same file would each
 * deliver every entry.
 */
export class Outbox {
  readonly capacity: number;
  readonly batchSize: number;
  readonly concurrency: number;

  private readonly store: OutboxStore;
  private readonly drain: OutboxDrain;
  private readonly now: () => number;
  private readonly statusIntervalMs: number;
  /** Enqueues accepted but not yet committed (they count against capacity). */
  private pending = 0;
  private closing?: Promise<void>;

  private readonly listeners = new Set<(stats: OutboxStats) => void>();
  private statusTimer?: NodeJS.Timeout;
  private wasFull = false;

  constructor(file: string, options: OutboxOptions = {}) {
    this.capacity = positiveInt('capacity', options.capacity, 100000);
    this.batchSize = positiveInt('batchSize', options.batchSize, 500);
    this.concurrency = positiveInt('concurrency', options.concurrency, 8);
    const rate = options.ratePerSec ?? 0;
    if (!(rate >= 0) || !Number.isFinite(rate)) throw new PlantSyncError('CONFIG_ERROR', `outbox option ratePerSec must be a number >= 0, got ${rate}`);
    this.now = options.now ?? Date.now;
    let bucket: TokenBucket | undefined;
    if (rate > 0) {
      const burst = options.rateBurst ?? Math.max(1, Math.ceil(rate / 20));
      if (!(burst >= 1)) throw new PlantSyncError('CONFIG_ERROR', `outbox option rateBurst must be >= 1, got ${burst}`);
      bucket = new TokenBucket(rate, burst, this.now);
    }
    const retry = options.retry ?? defaultRetryDelay;
    const stopTimeoutMs = positiveInt('stopTimeoutMs', options.stopTimeoutMs, 10000, 0);
    this.statusIntervalMs = positiveInt('statusIntervalMs', options.statusIntervalMs, 250, 0);

    this.store = new OutboxStore(file, this.now);
    this.drain = new OutboxDrain(this.store, {
      batchSize: this.batchSize,
      concurrency: this.concurrency,
      bucket,
      retryDelay: typeof retry === 'number' ? () => retry : retry,
      stopTimeoutMs,
      changed: () => {
        if (this.wasFull) this.noteFull(); // a recorded delivery may have made room
        this.changed();
      },
    });
    this.wasFull = this.store.stored >= this.capacity;
  }

  /**
   * Stores one entry durably. Resolves with its id and the backlog after the commit; rejects with
   * OUTBOX_FULL at capacity and STORE_CLOSED after close().
   */
  enqueue(partitionKey: string, payload: unknown, headers?: Record<string, string>): Promise<{ id: number; backlog: number }> {
    return this.enqueueMany([{ partitionKey, payload, headers }]).then((r) => ({ id: r.ids[0], backlog: r.backlog }));
  }

  /** Stores several entries atomically (all or none), in the given order. */
  enqueueMany(items: ReadonlyArray<{ partitionKey: string; payload: unknown; headers?: Record<string, string> }>): Promise<{ ids: number[]; backlog: number }> {
    if (this.store.closed) return Promise.reject(new PlantSyncError('STORE_CLOSED', 'the outbox is closed'));
    let rows: OutboxRow[];
    try {
      rows = items.map((item) => serialiseEntry(item.partitionKey, item.payload, item.headers));
    } catch (err) {
      return Promise.reject(err);
    }
    const stored = this.store.stored;
    if (stored + this.pending + rows.length > this.capacity) {
      this.noteFull();
      return Promise.reject(
        new PlantSyncError(
          'OUTBOX_FULL',
          `the outbox is full: ${stored + this.pending} of ${this.capacity} entries stored` +
            (rows.length > 1 ? `, ${rows.length} more do not fit` : '') +
            '; retry after it drains or raise its capacity',
        ),
      );
    }
    this.pending += rows.length;
    return this.store.insert(rows).then(
      (ids) => {
        this.pending -= rows.length;
        this.noteFull();
        this.changed();
        this.drain.pump();
        return { ids, backlog: this.store.stored };
      },
      (err) => {
        this.pending -= rows.length;
        throw this.store.closed ? new PlantSyncError('STORE_CLOSED', 'the outbox is closed') : err;
      },
    );
  }

  /** Starts draining: `deliver` is called per entry; resolve = delivered, reject = retry later. */
  start(deliver: DeliverFn): void {
    if (this.store.closed) throw new PlantSyncError('STORE_CLOSED', 'the outbox is closed');
    if (this.drain.running) throw new PlantSyncError('CONFIG_ERROR', 'the outbox is already draining');
    if (this.drain.isStopping) throw new PlantSyncError('CONFIG_ERROR', 'the outbox is still stopping; await stop() first');
    this.drain.start(deliver);
  }

  /**
   * Stops handing out entries and waits (at most stopTimeoutMs) for in-flight deliveries and their
   * delivery records. Undelivered entries stay stored; a later start() or a new Outbox resumes in
   * order. A delivery still hanging at the timeout is given up: its entry is delivered again later.
   */
  stop(): Promise<void> {
    return this.drain.stop();
  }

  /** Stops draining, commits what is queued and closes the file. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await this.stop();
    await this.store.close();
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.listeners.clear();
  }

  /** Stored entries (committed, not yet delivered). */
  backlog(): number {
    return this.store.stored;
  }

  stats(): OutboxStats {
    const oldest = this.store.oldestEnqueuedAt();
    return {
      backlog: this.store.stored,
      inFlight: this.drain.inFlight,
      delivered: this.drain.delivered,
      failed: this.drain.failed,
      paused: this.drain.paused,
      oldestAgeMs: oldest !== undefined ? Math.max(0, this.now() - oldest) : 0,
      full: this.store.stored + this.pending >= this.capacity,
      running: this.drain.running,
    };
  }

  /**
   * Calls `listener` with fresh stats after changes, coalesced to at most one call per
   * statusIntervalMs (so a node status stays cheap at thousands of entries per second).
   * Returns the unsubscribe function.
   */
  onChange(listener: (stats: OutboxStats) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The oldest stored entries, for diagnostics; does not affect draining. */
  peek(limit = 100): OutboxEntry[] {
    return this.store.peek(limit);
  }

  private noteFull(): void {
    const full = this.store.stored + this.pending >= this.capacity;
    if (full !== this.wasFull) {
      this.wasFull = full;
      this.changed();
    }
  }

  private changed(): void {
    if (this.listeners.size === 0 || this.statusTimer || this.store.closed) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = undefined;
      if (this.store.closed) return;
      const stats = this.stats();
      for (const listener of this.listeners) {
        try {
          listener(stats);
        } catch {
          // A status listener must not break delivery.
        }
      }
    }, this.statusIntervalMs);
    this.statusTimer.unref();
  }
}
