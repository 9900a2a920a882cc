/**
 * The outbox's SQLite file: the entries table, the per-partition delivery records, and the
 * durable writes on them (group-committed inserts, delivery records, bulk deletes). It keeps the
 * count of stored entries; what to deliver when is the drain's business (outbox-drain.ts).
 */
import { PlantSyncError } from '../errors';
import { allOrNothing, Batcher } from '../storage/batcher';
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

/** An entry serialised for the table: partition key, payload JSON, headers JSON or null. */
export type OutboxRow = [string, string, string | null];

/** A table row as read; toEntry parses it (only for rows the drain keeps in memory). */
export interface StoredRow {
  id: number;
  partition_key: string;
  payload: string;
  headers: string | null;
  enqueued_at: number;
  attempts: number;
  last_error: string | null;
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

/** An error as stored in last_error: name and message, bounded. */
export function errorText(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}...` : text;
}

/** Checks and serialises one entry for the table; throws INVALID_INPUT. */
export function serialiseEntry(partitionKey: unknown, payload: unknown, headers: unknown): OutboxRow {
  if (typeof partitionKey !== 'string' || partitionKey === '') throw new PlantSyncError('INVALID_INPUT', 'outbox partitionKey must be a non-empty string');
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch (err) {
    throw new PlantSyncError('INVALID_INPUT', `outbox payload is not serialisable to JSON: ${errorText(err)}`);
  }
  if (json === undefined) throw new PlantSyncError('INVALID_INPUT', 'outbox payload is not serialisable to JSON (undefined or a function)');
  if (headers === undefined || headers === null) return [partitionKey, json, null];
  if (typeof headers !== 'object' || Array.isArray(headers)) throw new PlantSyncError('INVALID_INPUT', 'outbox headers must be an object of strings');
  const entries = Object.entries(headers as Record<string, unknown>);
  for (const [k, v] of entries) if (typeof v !== 'string') throw new PlantSyncError('INVALID_INPUT', `outbox header ${k} must be a string`);
  return [partitionKey, json, entries.length === 0 ? null : JSON.stringify(headers)];
}

export function toEntry(row: StoredRow): OutboxEntry {
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
    fetch: db.prepare<[number, number], StoredRow>('SELECT * FROM outbox WHERE id > ? ORDER BY id LIMIT ?'),
    refill: db.prepare<[string, number, number, number], StoredRow>(
      'SELECT * FROM outbox WHERE partition_key = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?',
    ),
    peek: db.prepare<[number], StoredRow>(`SELECT * FROM outbox WHERE ${UNDELIVERED} ORDER BY id LIMIT ?`),
    oldest: db.prepare<[], { enqueued_at: number }>(`SELECT enqueued_at FROM outbox WHERE ${UNDELIVERED} ORDER BY id LIMIT 1`),
    count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM outbox'),
    maxId: db.prepare<[], { m: number | null }>('SELECT max(id) AS m FROM outbox'),
  };
}

/**
 * SQLite (WAL, synchronous=FULL) storage of the outbox. A delivery is recorded as the newest
 * delivered id per partition (group-committed); rows are then deleted in bulk, and rows covered by
 * a record are deleted at the next open if a kill came first.
 */
export class OutboxStore {
  /** Committed entries not yet recorded as delivered. */
  stored = 0;
  /** Highest id known to be committed (inserted here or found at open). */
  lastId = 0;
  closed = false;

  private readonly db: SqliteDatabase;
  private readonly commits: GroupCommitter;
  private readonly stmt: ReturnType<typeof prepareStatements>;
  // Inserts and delivery records of one turn share one savepoint of the group commit instead of
  // one each, which is most of the per-entry cost; a batch shares one fate inside the commit.
  private readonly inserts: Batcher<OutboxRow[], number[]>;
  private readonly marks: Batcher<OutboxEntry, number>;
  /** Delivered entries (partition, id) whose rows await the bulk delete, in delivery order. */
  private toDelete: Array<[string, number]> = [];
  private deleteTimer?: NodeJS.Timeout;

  constructor(
    file: string,
    private readonly now: () => number,
  ) {
    this.db = openDurableSqlite(file);
    this.db.exec(SCHEMA);
    this.commits = new GroupCommitter(this.db);
    this.stmt = prepareStatements(this.db);
    this.inserts = new Batcher({
      dispatch: allOrNothing((batches: OutboxRow[][]) =>
        this.commits.run(() => {
          const at = this.now();
          return batches.map((rows) => rows.map((r) => Number(this.stmt.insert.run(r[0], r[1], r[2], at).lastInsertRowid)));
        }),
      ),
    });
    // Recording a delivery is an upsert into a table of one row per partition: a few hot pages per
    // commit, where deleting one row per partition would rewrite one index page per partition.
    this.marks = new Batcher({
      dispatch: allOrNothing((entries: OutboxEntry[]) =>
        this.commits.run(() => entries.map((e) => (this.stmt.exists.get(e.id) ? this.stmt.mark.run(e.partitionKey, e.id).changes : 0))),
      ),
    });
    // Deliveries recorded by an earlier run whose rows were not deleted yet: delete them now.
    this.db
      .transaction(() => {
        for (const m of this.stmt.marks.all()) this.stmt.purgeDelivered.run(m.partition_key, m.delivered_id);
        this.db.exec('DELETE FROM outbox_delivered');
      })
      .immediate();
    this.stored = (this.stmt.count.get() as { n: number }).n;
    this.lastId = Number((this.stmt.maxId.get() as { m: number | null }).m ?? 0);
  }

  /** Inserts the rows atomically, in order; resolves with their ids after the commit. */
  insert(rows: OutboxRow[]): Promise<number[]> {
    return this.inserts.run(rows).then((ids) => {
      this.stored += ids.length;
      if (ids.length > 0 && ids[ids.length - 1] > this.lastId) this.lastId = ids[ids.length - 1];
      return ids;
    });
  }

  /**
   * Records `entry` as its partition's newest delivery. Resolves true when that advanced the
   * record (the entry was stored and is now gone from the backlog; its row is deleted soon).
   */
  markDelivered(entry: OutboxEntry): Promise<boolean> {
    return this.marks.run(entry).then((changes) => {
      if (!changes) return false;
      this.stored--;
      this.toDelete.push([entry.partitionKey, entry.id]);
      this.scheduleDeletes();
      return true;
    });
  }

  /** Best effort: the attempt count and error are diagnostic, a retry does not depend on them. */
  recordFailure(entry: OutboxEntry): void {
    if (this.closed) return;
    const { attempts, lastError, id } = entry;
    this.commits.run(() => this.stmt.failed.run(attempts, lastError, id)).catch(() => undefined);
  }

  /** The next `limit` rows after id `afterId`, in id order, unparsed. */
  fetch(afterId: number, limit: number): StoredRow[] {
    return this.stmt.fetch.all(afterId, limit);
  }

  /** Entries of one partition with ids in (afterId, upTo], in id order. */
  fetchPartition(key: string, afterId: number, upTo: number, limit: number): OutboxEntry[] {
    return this.stmt.refill.all(key, afterId, upTo, limit).map(toEntry);
  }

  /** The oldest undelivered entries, for diagnostics. */
  peek(limit: number): OutboxEntry[] {
    if (this.closed) throw new PlantSyncError('STORE_CLOSED', 'the outbox is closed');
    return this.stmt.peek.all(limit).map(toEntry);
  }

  /** Enqueue time of the oldest undelivered entry, if any. */
  oldestEnqueuedAt(): number | undefined {
    if (this.closed) return undefined;
    const oldest = this.stmt.oldest.get();
    return oldest ? Number(oldest.enqueued_at) : undefined;
  }

  /** Deletes the rows of recorded deliveries, and the records that no longer cover any row. */
  flushDeletes(): Promise<void> {
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

  /** Commits what is queued and closes the file. */
  async close(): Promise<void> {
    await this.flushDeletes();
    this.closed = true;
    // Hand the batched writes of this turn to the group commit, which commits them as it closes.
    this.inserts.flush();
    this.marks.flush();
    this.commits.close();
    this.db.close();
  }

  private scheduleDeletes(): void {
    if (this.toDelete.length >= DELETE_BATCH) void this.flushDeletes();
    else if (!this.deleteTimer) {
      this.deleteTimer = setTimeout(() => void this.flushDeletes(), DELETE_DELAY_MS);
      // Not worth keeping a process alive for: the next open deletes what is recorded as delivered.
      this.deleteTimer.unref();
    }
  }
}
