/**
 * The outbox's drain loop: reads stored entries in id order, hands them to `deliver` one at a
 * time per partition (in parallel across partitions, within the concurrency and the rate limit),
 * records each delivery before the partition's next entry, and pauses a partition whose delivery
 * failed for the retry delay. The table (outbox-store.ts) is the truth; the loop's memory is a
 * bounded window onto it that stop() forgets.
 */
import { backoffDelay } from './retry-policy';
import type { OutboxEntry, OutboxStore, StoredRow } from './outbox-store';
import { errorText, toEntry } from './outbox-store';
import type { TokenBucket } from './rate-limiter';

export type DeliverFn = (entry: OutboxEntry) => Promise<void>;
/** Milliseconds a partition waits before retrying its head entry; `attempt` counts failures (1, 2, ...). */
export type RetryDelay = (attempt: number, entry: OutboxEntry, error: unknown) => number;

/** The outbox's default retry delay: the shared full-jitter backoff, 250 ms doubling up to 30 s. */
export const defaultRetryDelay: RetryDelay = (attempt) => backoffDelay(attempt, { baseDelayMs: 250, maxDelayMs: 30000 });

export interface DrainOptions {
  batchSize: number;
  concurrency: number;
  bucket?: TokenBucket;
  retryDelay: RetryDelay;
  stopTimeoutMs: number;
  /** Called after every change the outbox's status shows (deliveries, pauses, start, stop). */
  changed: () => void;
}

type PartitionState = 'idle' | 'delivering' | 'committing' | 'paused';

interface Partition {
  key: string;
  /** Fetched, undelivered entries in id order; queue[0] is the head. */
  queue: OutboxEntry[];
  state: PartitionState;
  /** Highest id ever put in `queue`: where a refill from the table resumes. */
  lastId: number;
  /**
   * The table holds entries of this partition with ids in (lastId, cursor] that are not in
   * memory; global fetches skip this partition until a refill has caught up.
   */
  spilled: boolean;
  /** Waiting in the ready queue (guards against double insertion). */
  queued: boolean;
  timer?: NodeJS.Timeout;
}

export class OutboxDrain {
  running = false;
  inFlight = 0;
  delivered = 0;
  failed = 0;
  paused = 0;

  /** Per-partition in-memory cap; beyond it the partition is spilled and refilled from its index. */
  private readonly partitionBuffer: number;
  /** Memory bound for fetched entries of partitions that are not paused. */
  private readonly maxBuffered: number;
  private deliverFn?: DeliverFn;
  /** Bumped by stop(): callbacks of an earlier run must not touch the new run's state. */
  private generation = 0;
  private readonly partitions = new Map<string, Partition>();
  private ready: Partition[] = [];
  private readyHead = 0;
  /** Highest id read by a global fetch. */
  private cursor = 0;
  private buffered = 0;
  /** Partitions delivering or committing their delivery record; stop() waits for 0. */
  private busy = 0;
  private pumping = false;
  private fetchScheduled = false;
  private stopping?: Promise<void>;
  private rateTimer?: NodeJS.Timeout;
  private idleWaiter?: () => void;

  constructor(
    private readonly store: OutboxStore,
    private readonly options: DrainOptions,
  ) {
    // A low-buffer fetch (fewer than batchSize buffered, adds at most batchSize) never fills a
    // partition past twice that; only the few-partitions fetch can, and then the partition spills.
    this.partitionBuffer = 2 * options.batchSize;
    this.maxBuffered = 4 * options.batchSize;
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  start(deliver: DeliverFn): void {
    this.deliverFn = deliver;
    this.running = true;
    this.options.changed();
    this.pump();
  }

  /**
   * Stops handing out entries and waits (at most stopTimeoutMs) for in-flight deliveries and their
   * delivery records. A delivery still hanging at the timeout is given up.
   */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    if (!this.running) return this.store.flushDeletes();
    this.stopping = this.halt().finally(() => (this.stopping = undefined));
    return this.stopping;
  }

  /** Hands out what is due now (after an enqueue, a delivery record, a retry delay, a token). */
  pump(): void {
    if (!this.running || this.pumping) return;
    this.pumping = true;
    try {
      this.maybeFetch();
      while (this.running && this.inFlight < this.options.concurrency) {
        if (this.readyHead >= this.ready.length) {
          this.maybeFetch();
          if (this.readyHead >= this.ready.length) break;
        }
        if (this.options.bucket) {
          const wait = this.options.bucket.take();
          if (wait > 0) {
            if (!this.rateTimer) {
              this.rateTimer = setTimeout(() => {
                this.rateTimer = undefined;
                this.pump();
              }, wait);
            }
            break;
          }
        }
        const p = this.shiftReady() as Partition;
        this.deliverHead(p);
      }
    } finally {
      this.pumping = false;
    }
  }

  private async halt(): Promise<void> {
    this.running = false;
    if (this.rateTimer) clearTimeout(this.rateTimer);
    this.rateTimer = undefined;
    for (const p of this.partitions.values()) if (p.timer) clearTimeout(p.timer);
    if (this.busy > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.idleWaiter = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.stopTimeoutMs))),
      ]);
      clearTimeout(timer);
      this.idleWaiter = undefined;
    }
    await this.store.flushDeletes();
    // Forget everything in memory: the table is the truth, and the next run re-reads it.
    this.generation++;
    this.partitions.clear();
    this.ready = [];
    this.readyHead = 0;
    this.cursor = 0;
    this.buffered = 0;
    this.paused = 0;
    this.inFlight = 0;
    this.busy = 0;
    this.options.changed();
  }

  private pushReady(p: Partition): void {
    if (p.queued) return;
    p.queued = true;
    this.ready.push(p);
  }

  private shiftReady(): Partition | undefined {
    if (this.readyHead >= this.ready.length) return undefined;
    const p = this.ready[this.readyHead++];
    // Compact now and then instead of Array.shift() per entry.
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
    p.queued = false;
    return p;
  }

  /**
   * One SELECT of the next entries after the cursor, distributed to their partitions in id order.
   * Runs while the active buffer is low, or while too few partitions are known to fill the
   * concurrency slots (so one long partition does not hide the others behind it).
   */
  private maybeFetch(): void {
    const { batchSize, concurrency } = this.options;
    // A few rounds at most per call: rows of spilled partitions are skipped, and skipping a long
    // backlog in one go would block the event loop.
    for (let round = 0; this.cursor < this.store.lastId; round++) {
      const active = this.buffered - this.paused;
      const lowBuffer = active < batchSize;
      const fewPartitions = this.partitions.size - this.paused < concurrency && active < this.maxBuffered;
      if (!lowBuffer && !fewPartitions) return;
      if (round === 4) {
        // Continue on the next turn: otherwise, with nothing in flight, no event would come back here.
        if (!this.fetchScheduled) {
          this.fetchScheduled = true;
          setImmediate(() => {
            this.fetchScheduled = false;
            this.pump();
          });
        }
        return;
      }
      const rows = this.store.fetch(this.cursor, batchSize);
      if (rows.length === 0) {
        this.cursor = this.store.lastId;
        return;
      }
      for (const row of rows) this.accept(row);
      this.cursor = Number(rows[rows.length - 1].id);
      if (this.cursor > this.store.lastId) this.store.lastId = this.cursor;
    }
  }

  private accept(row: StoredRow): void {
    const key = row.partition_key;
    let p = this.partitions.get(key);
    if (!p) {
      p = { key, queue: [], state: 'idle', lastId: 0, spilled: false, queued: false };
      this.partitions.set(key, p);
    }
    if (p.spilled) return; // stays in the table; the partition's refill reads it
    if (p.queue.length >= this.partitionBuffer) {
      p.spilled = true;
      return;
    }
    p.queue.push(toEntry(row));
    p.lastId = Number(row.id);
    this.buffered++;
    if (p.state === 'idle') this.pushReady(p);
  }

  /** Reads the partition's stored entries that global fetches skipped (ids up to the cursor). */
  private refill(p: Partition): void {
    const entries = this.store.fetchPartition(p.key, p.lastId, this.cursor, this.partitionBuffer);
    for (const entry of entries) {
      p.queue.push(entry);
      p.lastId = entry.id;
    }
    this.buffered += entries.length;
    if (entries.length < this.partitionBuffer) p.spilled = false;
  }

  private deliverHead(p: Partition): void {
    const entry = p.queue[0];
    const generation = this.generation;
    p.state = 'delivering';
    this.inFlight++;
    this.busy++;
    let outcome: Promise<void>;
    try {
      outcome = Promise.resolve((this.deliverFn as DeliverFn)(entry));
    } catch (err) {
      outcome = Promise.reject(err);
    }
    outcome.then(
      () => this.onDelivered(p, entry, generation),
      (err: unknown) => this.onFailed(p, entry, err, generation),
    );
  }

  private onDelivered(p: Partition, entry: OutboxEntry, generation: number): void {
    this.delivered++;
    const current = generation === this.generation;
    if (current) {
      this.inFlight--;
      p.state = 'committing';
    }
    if (this.store.closed) return; // stop() gave up on this delivery; the entry is delivered again later
    this.store.markDelivered(entry).then(
      (advanced) => {
        if (advanced) this.options.changed();
        if (!current || generation !== this.generation) return;
        p.queue.shift();
        this.buffered--;
        p.state = 'idle';
        this.settled(p);
      },
      (err: unknown) => {
        // The delivery record did not commit: the entry is still due and is handed over again.
        if (current && generation === this.generation) this.pause(p, entry, err, false);
      },
    );
    if (current) this.pump(); // the delivery slot is free while the record commits
  }

  private onFailed(p: Partition, entry: OutboxEntry, err: unknown, generation: number): void {
    this.failed++;
    entry.attempts++;
    entry.lastError = errorText(err);
    this.store.recordFailure(entry);
    if (generation !== this.generation) return;
    this.inFlight--;
    this.pause(p, entry, err, true);
    this.pump();
  }

  /** Holds the partition for the retry delay, keeping only its head in memory. */
  private pause(p: Partition, entry: OutboxEntry, err: unknown, counted: boolean): void {
    this.busy--;
    p.state = 'paused';
    this.paused++;
    if (p.queue.length > 1) {
      this.buffered -= p.queue.length - 1;
      p.queue.length = 1;
    }
    p.lastId = p.queue[0].id;
    p.spilled = true; // later entries of a paused partition stay in the table
    this.options.changed();
    this.checkIdle();
    if (!this.running) return; // stopping: the head stays stored for the next run
    let delay: number;
    try {
      delay = this.options.retryDelay(counted ? entry.attempts : Math.max(1, entry.attempts), entry, err);
    } catch {
      delay = defaultRetryDelay(Math.max(1, entry.attempts), entry, err);
    }
    if (!(delay >= 0) || !Number.isFinite(delay)) delay = 1000;
    delay = Math.min(delay, 2_147_483_647); // setTimeout fires at once beyond this
    const generation = this.generation;
    p.timer = setTimeout(() => {
      p.timer = undefined;
      if (!this.running || generation !== this.generation || p.state !== 'paused') return;
      p.state = 'idle';
      this.paused--;
      this.pushReady(p);
      this.options.changed();
      this.pump();
    }, delay);
  }

  /** After a delivery record committed: continue with the partition, refill it, or forget it. */
  private settled(p: Partition): void {
    this.busy--;
    if (!this.running) {
      this.checkIdle();
      return;
    }
    if (p.queue.length === 0 && p.spilled) this.refill(p);
    if (p.queue.length > 0) this.pushReady(p);
    else this.partitions.delete(p.key);
    this.pump();
  }

  private checkIdle(): void {
    if (this.busy === 0 && this.idleWaiter) this.idleWaiter();
  }
}
