import { randomUUID } from 'node:crypto';
import { PlantSyncError } from '../errors';
import { GroupCommitter } from '../storage/group-commit';
import { openDurableSqlite, type SqliteDatabase } from '../storage/sqlite';
import type { ClaimOptions, ClaimOutcome, IdempotencyRecord, IdempotencyStore, RecordState, StoreEnvironment } from './idempotency-store';

/** A stored idempotency record as both SQL backends return it (epoch ms as numbers). */
export interface StoredRow {
  key: string;
  payload_hash: string;
  state: RecordState;
  token: string;
  lease_expires_at: number;
  attempts: number;
  result: string | null;
  reason: string | null;
  created_at: number;
  updated_at: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS idempotency (
  key TEXT PRIMARY KEY,
  payload_hash TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('in-flight', 'completed', 'failed', 'released')),
  token TEXT NOT NULL,
  lease_expires_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  completions INTEGER NOT NULL DEFAULT 0,
  result TEXT,
  reason TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_by_age ON idempotency (updated_at);
`;

export function leaseLost(key: string): PlantSyncError {
  return new PlantSyncError('LEASE_LOST', `the claim on ${key} is no longer held (lease taken over, or the key was settled)`);
}

export function toRecord(row: StoredRow): IdempotencyRecord {
  const record: IdempotencyRecord = {
    key: row.key,
    payloadHash: row.payload_hash,
    state: row.state,
    token: row.token,
    leaseExpiresAt: Number(row.lease_expires_at),
    attempts: Number(row.attempts),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
  if (row.result !== null) record.result = JSON.parse(row.result);
  if (row.reason !== null) record.reason = JSON.parse(row.reason);
  return record;
}

/** Decides a claim against the stored record (shared with the PostgreSQL backend's fallback path). */
export function decideClaim(row: StoredRow | undefined, payloadHash: string, now: number, options: ClaimOptions): 'insert' | 'take' | 'takeover' | ClaimOutcome {
  if (!row) return 'insert';
  if (row.payload_hash !== payloadHash) return { status: 'conflict', storedHash: row.payload_hash, state: row.state };
  switch (row.state) {
    case 'completed':
      return { status: 'duplicate', result: row.result === null ? null : JSON.parse(row.result), completedAt: Number(row.updated_at) };
    case 'failed':
      return options.reclaimFailed ? 'take' : { status: 'failed', reason: row.reason === null ? null : JSON.parse(row.reason) };
    case 'released':
      return 'take';
    default:
      return Number(row.lease_expires_at) <= now ? 'takeover' : { status: 'in-flight', leaseExpiresAt: Number(row.lease_expires_at) };
  }
}

function prepareStatements(db: SqliteDatabase) {
  return {
    get: db.prepare<[string], StoredRow>('SELECT * FROM idempotency WHERE key = ?'),
    insert: db.prepare(
      `INSERT INTO idempotency (key, payload_hash, state, token, lease_expires_at, attempts, created_at, updated_at)
       VALUES (?, ?, 'in-flight', ?, ?, 1, ?, ?)`,
    ),
    take: db.prepare(
      `UPDATE idempotency SET state = 'in-flight', token = ?, lease_expires_at = ?, attempts = attempts + 1, updated_at = ?
       WHERE key = ?`,
    ),
    complete: db.prepare(
      `UPDATE idempotency SET state = 'completed', result = ?, completions = completions + 1, updated_at = ?
       WHERE key = ? AND token = ? AND state = 'in-flight'`,
    ),
    release: db.prepare(
      `UPDATE idempotency SET state = 'released', lease_expires_at = 0, updated_at = ?
       WHERE key = ? AND token = ? AND state = 'in-flight'`,
    ),
    fail: db.prepare(
      `UPDATE idempotency SET state = 'failed', reason = ?, lease_expires_at = 0, updated_at = ?
       WHERE key = ? AND token = ? AND state = 'in-flight'`,
    ),
    purge: db.prepare(
      `DELETE FROM idempotency WHERE key IN (
         SELECT key FROM idempotency WHERE updated_at < ? AND (state <> 'in-flight' OR lease_expires_at < ?) LIMIT 5000)`,
    ),
  };
}

/**
 * The embedded idempotency store: one SQLite file (WAL, synchronous=FULL) under the Node-RED
 * user directory. State changes are group-committed; several processes may share the file (each
 * batch is an IMMEDIATE transaction, so claims are serialised by SQLite's write lock).
 */
export class SqliteIdempotencyStore implements IdempotencyStore {
  private readonly db: SqliteDatabase;
  private readonly commits: GroupCommitter;
  private readonly now: () => number;
  private readonly newToken: () => string;
  private readonly stmt: ReturnType<typeof prepareStatements>;

  constructor(file: string, env: StoreEnvironment = {}) {
    this.db = openDurableSqlite(file);
    this.db.exec(SCHEMA);
    this.commits = new GroupCommitter(this.db);
    this.now = env.now ?? Date.now;
    this.newToken = env.newToken ?? randomUUID;
    this.stmt = prepareStatements(this.db);
  }

  claim(key: string, payloadHash: string, leaseMs: number, options: ClaimOptions = {}): Promise<ClaimOutcome> {
    return this.commits.run((): ClaimOutcome => {
      const now = this.now();
      const decision = decideClaim(this.stmt.get.get(key), payloadHash, now, options);
      if (typeof decision === 'object') return decision;
      const token = this.newToken();
      if (decision === 'insert') {
        this.stmt.insert.run(key, payloadHash, token, now + leaseMs, now, now);
        return { status: 'claimed', token, attempt: 1, takeover: false, firstAttemptAt: now };
      }
      this.stmt.take.run(token, now + leaseMs, now, key);
      const row = this.stmt.get.get(key) as StoredRow;
      // created_at is the first claim's time and is never rewritten: the first attempt of every later one.
      return { status: 'claimed', token, attempt: Number(row.attempts), takeover: decision === 'takeover', firstAttemptAt: Number(row.created_at) };
    });
  }

  complete(key: string, result: unknown, token: string): Promise<void> {
    const json = JSON.stringify(result ?? null);
    return this.commits.run(() => {
      if (this.stmt.complete.run(json, this.now(), key, token).changes !== 1) throw leaseLost(key);
    });
  }

  release(key: string, token: string): Promise<void> {
    return this.commits.run(() => {
      if (this.stmt.release.run(this.now(), key, token).changes !== 1) throw leaseLost(key);
    });
  }

  fail(key: string, reason: unknown, token: string): Promise<void> {
    const json = JSON.stringify(reason ?? null);
    return this.commits.run(() => {
      if (this.stmt.fail.run(json, this.now(), key, token).changes !== 1) throw leaseLost(key);
    });
  }

  async lookup(key: string): Promise<IdempotencyRecord | undefined> {
    const row = this.stmt.get.get(key);
    return row ? toRecord(row) : undefined;
  }

  /** Deletes in chunks, each its own transaction, so a large purge never blocks claims for long. */
  async purge(retentionMs: number): Promise<number> {
    const cutoff = this.now() - retentionMs;
    let total = 0;
    for (;;) {
      const n = await this.commits.run(() => this.stmt.purge.run(cutoff, cutoff).changes);
      total += n;
      if (n < 5000) return total;
    }
  }

  /** How many keys are stored (for status and tests). */
  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM idempotency').get() as { n: number }).n;
  }

  async close(): Promise<void> {
    this.commits.close();
    this.db.close();
  }
}
