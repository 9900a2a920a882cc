import { PlantSyncError } from '../errors';
import { GroupCommitter } from '../storage/group-commit';
import { openDurableSqlite, type SqliteDatabase } from '../storage/sqlite';

/** One stored event waiting to be forwarded. */
export interface OutboxEntry {
  /** Monotonic (AUTOINCREMENT): enqueue order, also across restarts. */
  id: number;
  partitionKey: string;
  payload: unknown;
  headers: Record<string, string>;
  enqueuedAt: number;
  /** Failed delivery attempts so far (0 on the first delivery). */
  attempts: number;
  lastError: string | null;
}

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

export type DeliverFn = (entry: OutboxEntry) => Promise<void>;
/** Milliseconds a partition waits before retrying its head entry; `attempt` counts failures (1, 2, ...). */
export type RetryDelay = (attempt: number, entry: OutboxEntry, error: unknown) => number;

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

interface Row {
  id: number;
  partition_key: string;
  payload: string;
  headers: string | null;
  enqueued_at: number;
  attempts: number;
  last_error: string | null;
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  partition_key TEXT NOT NULL,
  payload TEXT NOT NULL,
  headers TEXT,
  enqueued_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_by_partition ON outbox (partition_key, id);
CREATE TABLE IF NOT EXISTS outbox_delivered (
  partition_key TEXT PRIMARY KEY,
  delivered_id INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** Delivered rows are deleted in bulk, at this many or after this delay, whichever comes first. */
const DELETE_BATCH = 2000;
const DELETE_DELAY_MS = 20;

const MAX_ERROR_CHARS = 2000;

/** Exponential backoff (250 ms doubling, capped at 30 s) with jitter in the upper half, so a failing target is not hammered in lock-step. */
export const defaultRetryDelay: RetryDelay = (attempt) => {
  const ceiling = Math.min(30000, 250 * 2 ** Math.min(attempt - 1, 16));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
};

/** Token bucket on an injectable clock: `take()` returns 0 when a token was taken, else the ms until one is available. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  take(): number {
    const t = this.now();
    if (t > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.ratePerSec) / 1000);
      this.last = t;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSec));
  }
}

/**
 * Coalesces the small writes of one event-loop turn into one GroupCommitter operation: one
 * savepoint for a thousand inserts instead of one each, which is most of the per-entry cost.
 * The batch shares one fate inside the commit (entries only fail together with the transaction).
 */
class Coalescer<I, R> {
  private batch: Array<{ item: I; resolve: (r: R) => void; reject: (err: unknown) => void }> | null = null;

  constructor(
    private readonly commits: GroupCommitter,
    private readonly apply: (items: I[]) => R[],
    private readonly max = 2000,
  ) {}

  add(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (!this.batch || this.batch.length >= this.max) {
        const batch: NonNullable<typeof this.batch> = [];
        this.batch = batch;
        const detach = () => {
          if (this.batch === batch) this.batch = null;
        };
        this.commits
          .run(() => {
            detach();
            return this.apply(batch.map((b) => b.item));
          })
          .then(
            (results) => {
              for (let i = 0; i < batch.length; i++) batch[i].resolve(results[i]);
            },
            (err: unknown) => {
              detach();
              for (const b of batch) b.reject(err);
            },
          );
      }
      this.batch.push({ item, resolve, reject });
    });
  }
}

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw new PlantSyncError('CONFIG_ERROR', `outbox option ${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}...` : text;
}

function toEntry(row: Row): OutboxEntry {
  return {
    id: Number(row.id),
    partitionKey: row.partition_key,
    payload: JSON.parse(row.payload),
    headers: row.headers === null ? {} : JSON.parse(row.headers),
    enqueuedAt: Number(row.enqueued_at),
    attempts: Number(row.attempts),
    lastError: row.last_error,
  };
}

/** Rows whose delivery is recorded but whose bulk deletion is still pending are not backlog. */
const UNDELIVERED =
  'NOT EXISTS (SELECT 1 FROM outbox_delivered d WHERE d.partition_key = outbox.partition_key AND d.delivered_id >= outbox.id)';

function prepareStatements(db: SqliteDatabase) {
  return {
    insert: db.prepare('INSERT INTO outbox (partition_key, payload, headers, enqueued_at) VALUES (?, ?, ?, ?)'),
    remove: db.prepare('DELETE FROM outbox WHERE id = ?'),
    exists: db.prepare<[number], { one: number }>('SELECT 1 AS one FROM outbox WHERE id = ?'),
    mark: db.prepare(
      `INSERT INTO outbox_delivered (partition_key, delivered_id) VALUES (?, ?)
       ON CONFLICT (partition_key) DO UPDATE SET delivered_id = excluded.delivered_id
       WHERE excluded.delivered_id > outbox_delivered.delivered_id`,
    ),
    unmark: db.prepare('DELETE FROM outbox_delivered WHERE partition_key = ? AND delivered_id <= ?'),
    marks: db.prepare<[], { partition_key: string; delivered_id: number }>('SELECT * FROM outbox_delivered'),
    purgeDelivered: db.prepare('DELETE FROM outbox WHERE partition_key = ? AND id <= ?'),
    failed: db.prepare('UPDATE outbox SET attempts = ?, last_error = ? WHERE id = ?'),
    fetch: db.prepare<[number, number], Row>('SELECT * FROM outbox WHERE id > ? ORDER BY id LIMIT ?'),
    refill: db.prepare<[string, number, number, number], Row>(
      'SELECT * FROM outbox WHERE partition_key = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?',
    ),
    peek: db.prepare<[number], Row>(`SELECT * FROM outbox WHERE ${UNDELIVERED} ORDER BY id LIMIT ?`),
    oldest: db.prepare<[], { enqueued_at: number }>(`SELECT enqueued_at FROM outbox WHERE ${UNDELIVERED} ORDER BY id LIMIT 1`),
    count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM outbox'),
    maxId: db.prepare<[], { m: number | null }>('SELECT max(id) AS m FROM outbox'),
  };
}

/**
 * Durable store-and-forward on SQLite (WAL, synchronous=FULL).
 *
 * - `enqueue` resolves only after the entry is committed and fsynced (group commit), so whatever
 *   was acknowledged survives a process kill; a full outbox rejects (back-pressure), never drops.
 * - Entries of one partition are delivered strictly in enqueue order, one at a time: the next is
 *   handed over only after the previous `deliver` resolved AND its delivery record is durable.
 *   Different partitions are delivered in parallel, up to `concurrency`, within the rate limit.
 * - At-least-once: a delivery is recorded only after `deliver` resolved. The record is the newest
 *   delivered id per partition (group-committed); rows are then deleted in bulk, and rows covered
 *   by a record are deleted at the next open if a kill came first. A kill between the handover and
 *   the record's commit delivers that entry again after restart (at most the one most recent entry
 *   per partition); downstream idempotency turns that into effectively-once.
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

  private readonly db: SqliteDatabase;
  private readonly commits: GroupCommitter;
  private readonly stmt: ReturnType<typeof prepareStatements>;
  private readonly inserts: Coalescer<Array<[string, string, string | null]>, number[]>;
  private readonly marks: Coalescer<OutboxEntry, number>;
  /** Delivered entries (partition, id) whose rows await the bulk delete, in delivery order. */
  private toDelete: Array<[string, number]> = [];
  private deleteTimer?: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly retryDelay: RetryDelay;
  private readonly bucket?: TokenBucket;
  private readonly stopTimeoutMs: number;
  private readonly statusIntervalMs: number;
  /** Per-partition in-memory cap; beyond it the partition is spilled and refilled from its index. */
  private readonly partitionBuffer: number;
  /** Memory bound for fetched entries of partitions that are not paused. */
  private readonly maxBuffered: number;

  /** Committed entries in the table; the capacity check never queries. */
  private stored = 0;
  /** Enqueues accepted but not yet committed (they count against capacity). */
  private pending = 0;
  private delivered = 0;
  private failed = 0;
  private closed = false;

  private deliverFn?: DeliverFn;
  private running = false;
  /** Bumped by stop(): callbacks of an earlier run must not touch the new run's state. */
  private generation = 0;
  private readonly partitions = new Map<string, Partition>();
  private ready: Partition[] = [];
  private readyHead = 0;
  /** Highest id read by a global fetch. */
  private cursor = 0;
  /** Highest id known to be committed (enqueued here or found at open). */
  private lastKnownId = 0;
  private buffered = 0;
  private paused = 0;
  private inFlight = 0;
  /** Partitions delivering or committing their delivery record; stop() waits for 0. */
  private busy = 0;
  private pumping = false;
  private fetchScheduled = false;
  private stopping?: Promise<void>;
  private closing?: Promise<void>;
  private rateTimer?: NodeJS.Timeout;
  private idleWaiter?: () => void;

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
    if (rate > 0) {
      const burst = options.rateBurst ?? Math.max(1, Math.ceil(rate / 20));
      if (!(burst >= 1)) throw new PlantSyncError('CONFIG_ERROR', `outbox option rateBurst must be >= 1, got ${burst}`);
      this.bucket = new TokenBucket(rate, burst, this.now);
    }
    const retry = options.retry ?? defaultRetryDelay;
    this.retryDelay = typeof retry === 'number' ? () => retry : retry;
    this.stopTimeoutMs = positiveInt('stopTimeoutMs', options.stopTimeoutMs, 10000, 0);
    this.statusIntervalMs = positiveInt('statusIntervalMs', options.statusIntervalMs, 250, 0);
    // A low-buffer fetch (fewer than batchSize buffered, adds at most batchSize) never fills a
    // partition past twice that; only the few-partitions fetch can, and then the partition spills.
    this.partitionBuffer = 2 * this.batchSize;
    this.maxBuffered = 4 * this.batchSize;

    this.db = openDurableSqlite(file);
    this.db.exec(SCHEMA);
    this.commits = new GroupCommitter(this.db);
    this.stmt = prepareStatements(this.db);
    this.inserts = new Coalescer(this.commits, (batches) => {
      const at = this.now();
      return batches.map((rows) => rows.map((r) => Number(this.stmt.insert.run(r[0], r[1], r[2], at).lastInsertRowid)));
    });
    // Recording a delivery is an upsert into a table of one row per partition: a few hot pages per
    // commit, where deleting one row per partition would rewrite one index page per partition.
    this.marks = new Coalescer(this.commits, (entries) =>
      entries.map((e) => (this.stmt.exists.get(e.id) ? this.stmt.mark.run(e.partitionKey, e.id).changes : 0)),
    );
    // Deliveries recorded by an earlier run whose rows were not deleted yet: delete them now.
    this.db
      .transaction(() => {
        for (const m of this.stmt.marks.all()) this.stmt.purgeDelivered.run(m.partition_key, m.delivered_id);
        this.db.exec('DELETE FROM outbox_delivered');
      })
      .immediate();
    this.stored = (this.stmt.count.get() as { n: number }).n;
    this.lastKnownId = Number((this.stmt.maxId.get() as { m: number | null }).m ?? 0);
    this.wasFull = this.stored >= this.capacity;
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
    if (this.closed) return Promise.reject(new PlantSyncError('STORE_CLOSED', 'the outbox is closed'));
    let rows: Array<[string, string, string | null]>;
    try {
      rows = items.map((item) => [item.partitionKey, ...this.serialise(item.partitionKey, item.payload, item.headers)] as [string, string, string | null]);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.stored + this.pending + rows.length > this.capacity) {
      this.noteFull();
      return Promise.reject(
        new PlantSyncError(
          'OUTBOX_FULL',
          `the outbox is full: ${this.stored + this.pending} of ${this.capacity} entries stored` +
            (rows.length > 1 ? `, ${rows.length} more do not fit` : '') +
            '; retry after it drains or raise its capacity',
        ),
      );
    }
    this.pending += rows.length;
    return this.inserts.add(rows).then(
      (ids) => {
        this.pending -= rows.length;
        this.stored += rows.length;
        if (ids.length > 0 && ids[ids.length - 1] > this.lastKnownId) this.lastKnownId = ids[ids.length - 1];
        this.noteFull();
        this.changed();
        this.pump();
        return { ids, backlog: this.stored };
      },
      (err) => {
        this.pending -= rows.length;
        throw this.closed ? new PlantSyncError('STORE_CLOSED', 'the outbox is closed') : err;
      },
    );
  }

  /** Starts draining: `deliver` is called per entry; resolve = delivered, reject = retry later. */
  start(deliver: DeliverFn): void {
    if (this.closed) throw new PlantSyncError('STORE_CLOSED', 'the outbox is closed');
    if (this.running) throw new PlantSyncError('CONFIG_ERROR', 'the outbox is already draining');
    if (this.stopping) throw new PlantSyncError('CONFIG_ERROR', 'the outbox is still stopping; await stop() first');
    this.deliverFn = deliver;
    this.running = true;
    this.changed();
    this.pump();
  }

  /**
   * Stops handing out entries and waits (at most stopTimeoutMs) for in-flight deliveries and their
   * delivery records. Undelivered entries stay stored; a later start() or a new Outbox resumes in
   * order. A delivery still hanging at the timeout is given up: its entry is delivered again later.
   */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    if (!this.running) return this.flushDeletes();
    this.stopping = this.halt().finally(() => (this.stopping = undefined));
    return this.stopping;
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
        new Promise<void>((resolve) => (timer = setTimeout(resolve, this.stopTimeoutMs))),
      ]);
      clearTimeout(timer);
      this.idleWaiter = undefined;
    }
    await this.flushDeletes();
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
    this.changed();
  }

  /** Stops draining, commits what is queued and closes the file. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await this.stop();
    await this.flushDeletes();
    this.closed = true;
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.listeners.clear();
    this.commits.close();
    this.db.close();
  }

  /** Stored entries (committed, not yet delivered). */
  backlog(): number {
    return this.stored;
  }

  stats(): OutboxStats {
    const oldest = this.closed ? undefined : this.stmt.oldest.get();
    return {
      backlog: this.stored,
      inFlight: this.inFlight,
      delivered: this.delivered,
      failed: this.failed,
      paused: this.paused,
      oldestAgeMs: oldest ? Math.max(0, this.now() - Number(oldest.enqueued_at)) : 0,
      full: this.stored + this.pending >= this.capacity,
      running: this.running,
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
    if (this.closed) throw new PlantSyncError('STORE_CLOSED', 'the outbox is closed');
    return this.stmt.peek.all(limit).map(toEntry);
  }

  private serialise(partitionKey: unknown, payload: unknown, headers: unknown): [string, string | null] {
    if (typeof partitionKey !== 'string' || partitionKey === '') throw new PlantSyncError('INVALID_INPUT', 'outbox partitionKey must be a non-empty string');
    let json: string | undefined;
    try {
      json = JSON.stringify(payload);
    } catch (err) {
      throw new PlantSyncError('INVALID_INPUT', `outbox payload is not serialisable to JSON: ${errorText(err)}`);
    }
    if (json === undefined) throw new PlantSyncError('INVALID_INPUT', 'outbox payload is not serialisable to JSON (undefined or a function)');
    if (headers === undefined || headers === null) return [json, null];
    if (typeof headers !== 'object' || Array.isArray(headers)) throw new PlantSyncError('INVALID_INPUT', 'outbox headers must be an object of strings');
    const entries = Object.entries(headers as Record<string, unknown>);
    for (const [k, v] of entries) if (typeof v !== 'string') throw new PlantSyncError('INVALID_INPUT', `outbox header ${k} must be a string`);
    return [json, entries.length === 0 ? null : JSON.stringify(headers)];
  }

  // ---- draining ----------------------------------------------------------------------------

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
    // A few rounds at most per call: rows of spilled partitions are skipped, and skipping a long
    // backlog in one go would block the event loop.
    for (let round = 0; this.cursor < this.lastKnownId; round++) {
      const active = this.buffered - this.paused;
      const lowBuffer = active < this.batchSize;
      const fewPartitions = this.partitions.size - this.paused < this.concurrency && active < this.maxBuffered;
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
      const rows = this.stmt.fetch.all(this.cursor, this.batchSize);
      if (rows.length === 0) {
        this.cursor = this.lastKnownId;
        return;
      }
      for (const row of rows) this.accept(row);
      this.cursor = Number(rows[rows.length - 1].id);
      if (this.cursor > this.lastKnownId) this.lastKnownId = this.cursor;
    }
  }

  private accept(row: Row): void {
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
    const rows = this.stmt.refill.all(p.key, p.lastId, this.cursor, this.partitionBuffer);
    for (const row of rows) {
      p.queue.push(toEntry(row));
      p.lastId = Number(row.id);
    }
    this.buffered += rows.length;
    if (rows.length < this.partitionBuffer) p.spilled = false;
  }

  private pump(): void {
    if (!this.running || this.pumping) return;
    this.pumping = true;
    try {
      this.maybeFetch();
      while (this.running && this.inFlight < this.concurrency) {
        if (this.readyHead >= this.ready.length) {
          this.maybeFetch();
          if (this.readyHead >= this.ready.length) break;
        }
        if (this.bucket) {
          const wait = this.bucket.take();
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
    if (this.closed) return; // stop() gave up on this delivery; the entry is delivered again later
    this.marks.add(entry).then(
      (advanced) => {
        if (advanced) {
          this.stored--;
          this.toDelete.push([entry.partitionKey, entry.id]);
          this.scheduleDeletes();
          if (this.wasFull) this.noteFull();
          this.changed();
        }
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
    if (!this.closed) {
      const attempts = entry.attempts;
      const lastError = entry.lastError;
      // Best effort: the record is diagnostic, the retry does not depend on it being durable.
      this.commits.run(() => this.stmt.failed.run(attempts, lastError, entry.id)).catch(() => undefined);
    }
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
    this.changed();
    this.checkIdle();
    if (!this.running) return; // stopping: the head stays stored for the next run
    let delay: number;
    try {
      delay = this.retryDelay(counted ? entry.attempts : Math.max(1, entry.attempts), entry, err);
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
      this.changed();
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

  private scheduleDeletes(): void {
    if (this.toDelete.length >= DELETE_BATCH) void this.flushDeletes();
    else if (!this.deleteTimer) {
      this.deleteTimer = setTimeout(() => void this.flushDeletes(), DELETE_DELAY_MS);
      // Not worth keeping a process alive for: the next open deletes what is recorded as delivered.
      this.deleteTimer.unref();
    }
  }

  /** Deletes the rows of recorded deliveries, and the records that no longer cover any row. */
  private flushDeletes(): Promise<void> {
    if (this.deleteTimer) clearTimeout(this.deleteTimer);
    this.deleteTimer = undefined;
    const batch = this.toDelete;
    if (batch.length === 0 || this.closed) return Promise.resolve();
    this.toDelete = [];
    const newest = new Map<string, number>();
    for (const [key, id] of batch) newest.set(key, id);
    return this.commits
      .run(() => {
        for (const [, id] of batch) this.stmt.remove.run(id);
        for (const [key, id] of newest) this.stmt.unmark.run(key, id);
      })
      .catch(() => undefined); // the records stay, so the rows are still not backlog and go at the next open
  }

  private checkIdle(): void {
    if (this.busy === 0 && this.idleWaiter) this.idleWaiter();
  }

  // ---- status ------------------------------------------------------------------------------

  private noteFull(): void {
    const full = this.stored + this.pending >= this.capacity;
    if (full !== this.wasFull) {
      this.wasFull = full;
      this.changed();
    }
  }

  private changed(): void {
    if (this.listeners.size === 0 || this.statusTimer || this.closed) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = undefined;
      if (this.closed) return;
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
