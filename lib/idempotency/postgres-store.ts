import { createHash, randomUUID } from 'node:crypto';
import { Pool, type PoolClient } from 'pg';
import { MicroBatcher } from '../storage/micro-batch';
import { PlantSyncError } from '../errors';
import type { ClaimOptions, ClaimOutcome, IdempotencyRecord, IdempotencyStore, StoreEnvironment } from './idempotency-store';
import { decideClaim, leaseLost, toRecord, type StoredRow } from './sqlite-store';

export interface PostgresStoreOptions {
  connectionString: string;
  /** Table name (lower-case SQL identifier); default `plantsync_idempotency`. */
  table?: string;
  /** Pool connections per store (per Node-RED instance); default 10. */
  poolSize?: number;
  /** Share one statement among the claims (and completions) of one event-loop turn; default true. */
  microBatch?: boolean;
}

export interface ClaimItem {
  key: string;
  payloadHash: string;
  leaseMs: number;
}

export interface CompleteItem {
  key: string;
  result: unknown;
  token: string;
}

/** BIGINT columns are read as float8 (exact for epoch ms), the shape `decideClaim`/`toRecord` expect. */
type PgRow = StoredRow;

const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const DEFAULT_TABLE = 'plantsync_idempotency';
/** Rows removed per purge statement, so that a large purge never holds many locks for long. */
const PURGE_CHUNK = 5000;
/**
 * How often a claim re-runs its upsert after the classifying SELECT found the row claimable
 * (it changed between the two statements). Each retry needs another writer to win a race on the
 * same key in that short window, so running out means something is badly wrong.
 */
const MAX_CLAIM_RACES = 10;

const COLUMNS = `key, payload_hash, state, token, lease_expires_at::float8 AS lease_expires_at, attempts,
  result, reason, created_at::float8 AS created_at, updated_at::float8 AS updated_at`;

/** A 63-byte-safe index name: PostgreSQL truncates longer identifiers, which could collide with the table itself. */
function indexName(table: string): string {
  const plain = `${table}_by_age`;
  if (plain.length <= 63) return plain;
  return `${table.slice(0, 46)}_${createHash('sha256').update(table).digest('hex').slice(0, 8)}_by_age`;
}

/**
 * The SQL for one table. Times are parameters (the injected clock), never the server's now(),
 * so that every instance and every test decides leases with the same clock it reports.
 */
function statements(table: string) {
  const t = `"${table}"`;
  // The claimable condition, shared by the single and the batched claim ($6 = reclaimFailed in
  // both): a released key, an expired lease (takeover), or a failed key on replay; and always the
  // same payload hash. EXCLUDED.updated_at is the caller's now.
  const claimable = `r.payload_hash = EXCLUDED.payload_hash
      AND (r.state = 'released' OR (r.state = 'in-flight' AND r.lease_expires_at <= EXCLUDED.updated_at)
           OR (r.state = 'failed' AND $6::boolean))`;
  // created_at is left alone: it is the first claim's time, reported to every later claim as firstAttemptAt.
  const onConflict = `ON CONFLICT (key) DO UPDATE SET state = 'in-flight', token = EXCLUDED.token,
      lease_expires_at = EXCLUDED.lease_expires_at, attempts = r.attempts + 1,
      takeover = (r.state = 'in-flight'), updated_at = EXCLUDED.updated_at`;
  return {
    // result/reason are TEXT holding JSON, kept byte for byte as the SQLite store keeps them and
    // parsed by the shared toRecord/decideClaim; `takeover` and `completions` are bookkeeping.
    schema: `
      CREATE TABLE IF NOT EXISTS ${t} (
        key TEXT PRIMARY KEY,
        payload_hash TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('in-flight', 'completed', 'failed', 'released')),
        token TEXT NOT NULL,
        lease_expires_at BIGINT NOT NULL,
        attempts INTEGER NOT NULL,
        takeover BOOLEAN NOT NULL DEFAULT false,
        completions INTEGER NOT NULL DEFAULT 0,
        result TEXT,
        reason TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS "${indexName(table)}" ON ${t} (updated_at)`,
    // $1 key, $2 hash, $3 token, $4 now, $5 leaseMs, $6 reclaimFailed. A new key inserts; an
    // existing one is taken only when the WHERE holds, evaluated on the latest committed row
    // version (ON CONFLICT waits for a concurrent writer), so exactly one claimer wins.
    // `takeover` records whether the taken row was an expired in-flight claim, because
    // RETURNING only sees the new row.
    claim: `INSERT INTO ${t} AS r (key, payload_hash, state, token, lease_expires_at, attempts, created_at, updated_at)
      VALUES ($1, $2, 'in-flight', $3, $4::bigint + $5::bigint, 1, $4, $4)
      ${onConflict}
      WHERE ${claimable}
      RETURNING attempts, takeover, created_at::float8 AS created_at`,
    // The same for many keys: $1 keys, $2 hashes, $3 tokens, $4 leases, $5 now, $6 reclaim.
    // ORDER BY makes every batch lock its rows in the same order, so that concurrent batches
    // with overlapping keys wait for each other instead of deadlocking.
    claimMany: `INSERT INTO ${t} AS r (key, payload_hash, state, token, lease_expires_at, attempts, created_at, updated_at)
      SELECT i.k, i.h, 'in-flight', i.tok, $5::bigint + i.l, 1, $5, $5
      FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS i(k, h, tok, l)
      ORDER BY i.k COLLATE "C"
      ${onConflict}
      WHERE ${claimable}
      RETURNING key, attempts, takeover, created_at::float8 AS created_at`,
    get: `SELECT ${COLUMNS} FROM ${t} WHERE key = $1`,
    getMany: `SELECT ${COLUMNS} FROM ${t} WHERE key = ANY($1::text[])`,
    complete: `UPDATE ${t} SET state = 'completed', result = $2, completions = completions + 1, updated_at = $3
      WHERE key = $1 AND token = $4 AND state = 'in-flight'`,
    // The CTE locks the batch's rows in key order first (LockRows sits above the Sort); the
    // UPDATE then only touches rows this statement already holds, so its own join order cannot
    // introduce a lock-order cycle with another batch.
    completeMany: `WITH locked AS MATERIALIZED (
        SELECT c.key, i.tok, i.res FROM unnest($1::text[], $2::text[], $3::text[]) AS i(k, tok, res)
        JOIN ${t} AS c ON c.key = i.k ORDER BY c.key COLLATE "C" FOR UPDATE OF c)
      UPDATE ${t} AS r SET state = 'completed', result = l.res, completions = r.completions + 1, updated_at = $4
      FROM locked AS l
      WHERE r.key = l.key AND r.token = l.tok AND r.state = 'in-flight'
      RETURNING r.key`,
    release: `UPDATE ${t} SET state = 'released', lease_expires_at = 0, updated_at = $2
      WHERE key = $1 AND token = $3 AND state = 'in-flight'`,
    fail: `UPDATE ${t} SET state = 'failed', reason = $2, lease_expires_at = 0, updated_at = $3
      WHERE key = $1 AND token = $4 AND state = 'in-flight'`,
    // SKIP LOCKED leaves rows a claimer is working on for the next purge; the outer WHERE is
    // re-checked on the latest row version, so a key re-claimed meanwhile is never deleted.
    purge: `DELETE FROM ${t} WHERE key IN (
        SELECT key FROM ${t} WHERE updated_at < $1 AND (state <> 'in-flight' OR lease_expires_at < $1)
        LIMIT ${PURGE_CHUNK} FOR UPDATE SKIP LOCKED)
      AND updated_at < $1 AND (state <> 'in-flight' OR lease_expires_at < $1)`,
    count: `SELECT count(*)::int AS n FROM ${t}`,
  };
}

/** Groups items by key, keeping input order: round r holds each key's r-th occurrence. */
function occurrenceQueues<T extends { key: string }>(items: readonly T[]): Map<string, number[]> {
  const queues = new Map<string, number[]>();
  items.forEach((item, i) => {
    const q = queues.get(item.key);
    if (q) q.push(i);
    else queues.set(item.key, [i]);
  });
  return queues;
}

/**
 * The shared idempotency store: one PostgreSQL table used by several Node-RED instances.
 * Concurrency is the database's job (primary key, `INSERT ... ON CONFLICT`, conditional
 * `UPDATE ... WHERE token/state`), never an in-process lock, so any number of processes may
 * claim the same keys. Semantics are exactly those of the SQLite store.
 *
 * Leases are decided with each instance's own clock (epoch ms sent as parameters): instances
 * sharing a table must keep their clocks synchronised (NTP), and leases must be much longer
 * than the worst clock skew, or an instance running ahead could take over a live claim.
 *
 * Durability: a state change resolves after its commit, which is flushed to disk (and to
 * synchronous standbys) unless the server runs with `synchronous_commit = off`, which
 * {@link PostgresIdempotencyStore.open} refuses.
 */
export class PostgresIdempotencyStore implements IdempotencyStore {
  private readonly now: () => number;
  private readonly newToken: () => string;
  private readonly sql: ReturnType<typeof statements>;
  private closed = false;
  microBatch = true;
  // Concurrent claims and completions of one turn share a statement (see MicroBatcher).
  private claims!: MicroBatcher<ClaimItem, ClaimOutcome>;
  private completions!: MicroBatcher<CompleteItem, boolean>;

  private constructor(
    private readonly pool: Pool,
    readonly table: string,
    env: StoreEnvironment,
  ) {
    this.now = env.now ?? Date.now;
    this.newToken = env.newToken ?? randomUUID;
    this.sql = statements(table);
  }

  /** Connects, checks durability and creates the table and its index if missing. */
  static async open(options: PostgresStoreOptions, env: StoreEnvironment = {}): Promise<PostgresIdempotencyStore> {
    const table = options.table ?? DEFAULT_TABLE;
    if (!TABLE_NAME.test(table)) {
      throw new PlantSyncError('CONFIG_ERROR', `idempotency table name "${table}" must match ${TABLE_NAME} (a lower-case SQL identifier)`);
    }
    const poolSize = options.poolSize ?? 10;
    if (!Number.isInteger(poolSize) || poolSize < 1) throw new PlantSyncError('CONFIG_ERROR', `poolSize must be a positive integer, not ${poolSize}`);
    const pool = new Pool({ connectionString: options.connectionString, max: poolSize });
    // An idle connection dropped by the server emits 'error' on the pool; unhandled it would
    // crash Node-RED. The next query opens a new connection and reports a real failure itself.
    pool.on('error', () => undefined);
    const store = new PostgresIdempotencyStore(pool, table, env);
    store.microBatch = options.microBatch !== false;
    store.claims = new MicroBatcher((items) => store.claimMany(items), (i) => store.claimOne(i.key, i.payloadHash, i.leaseMs, {}), 100, poolSize);
    store.completions = new MicroBatcher((items) => store.completeMany(items), (i) => store.completeOne(i), 100, poolSize);
    try {
      const client = await pool.connect();
      try {
        await store.createSchema(client);
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end();
      throw err;
    }
    return store;
  }

  private async createSchema(client: PoolClient): Promise<void> {
    const sync = (await client.query<{ s: string }>(`SELECT current_setting('synchronous_commit') AS s`)).rows[0].s;
    if (sync === 'off') {
      throw new PlantSyncError(
        'CONFIG_ERROR',
        'synchronous_commit is off for this connection, so a completed claim could be lost in a crash; ' +
          'set it to on for the database or role (ALTER ROLE ... SET synchronous_commit = on)',
      );
    }
    // Concurrent CREATE TABLE IF NOT EXISTS can still fail on the catalog's unique index, so
    // instances starting together serialise on an advisory lock held by this transaction.
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`plantsync:${this.table}`]);
      await client.query(this.sql.schema);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  private async query<R extends object>(name: string, text: string, values: unknown[]): Promise<{ rows: R[]; rowCount: number }> {
    if (this.closed) throw new PlantSyncError('STORE_CLOSED', 'the idempotency store is closed');
    // Named statements are prepared once per connection; the table is part of the name because
    // the text depends on it.
    const res = await this.pool.query<R>({ name: `plantsync_${name}_${this.table}`, text, values });
    return { rows: res.rows, rowCount: res.rowCount ?? 0 };
  }

  claim(key: string, payloadHash: string, leaseMs: number, options: ClaimOptions = {}): Promise<ClaimOutcome> {
    // Replays are rare and carry their own option: they take the single path.
    if (options.reclaimFailed || !this.microBatch) return this.claimOne(key, payloadHash, leaseMs, options);
    return this.claims.run({ key, payloadHash, leaseMs });
  }

  private async claimOne(key: string, payloadHash: string, leaseMs: number, options: ClaimOptions): Promise<ClaimOutcome> {
    for (let race = 0; race <= MAX_CLAIM_RACES; race++) {
      const now = this.now();
      const token = this.newToken();
      const won = await this.query<{ attempts: number; takeover: boolean; created_at: number }>('claim', this.sql.claim, [
        key, payloadHash, token, now, leaseMs, options.reclaimFailed === true,
      ]);
      if (won.rows.length === 1) {
        const r = won.rows[0];
        return { status: 'claimed', token, attempt: r.attempts, takeover: r.takeover, firstAttemptAt: Number(r.created_at) };
      }
      // Not claimable when the upsert ran: classify. The row may have changed since; a
      // duplicate/in-flight/conflict/failed answer is still one the store really was in, and a
      // claimable one means it changed under us, so take it again.
      const row = (await this.query<PgRow>('get', this.sql.get, [key])).rows[0];
      const decision = decideClaim(row, payloadHash, now, options);
      if (typeof decision === 'object') return decision;
    }
    throw new Error(`claim of ${key} lost ${MAX_CLAIM_RACES} races in a row`);
  }

  /**
   * Claims many keys in one statement per round; the outcomes are exactly what `claim` would
   * answer for the items one after another in input order (a repeated key sees its earlier
   * occurrence: in-flight, or a conflict). Rows are locked in key order whatever the input order.
   * Each statement is atomic; only a batch that needs several (repeated keys, lost races) can
   * reject after an earlier one claimed keys, which are then retaken when their lease expires.
   */
  async claimMany(items: readonly ClaimItem[], options: ClaimOptions = {}): Promise<ClaimOutcome[]> {
    const out = new Array<ClaimOutcome>(items.length);
    const queues = occurrenceQueues(items);
    let races = 0;
    while (queues.size > 0) {
      // One occurrence per key per statement: ON CONFLICT cannot touch a row twice in one command.
      const round = [...queues.values()].map((q) => q[0]);
      const now = this.now();
      const tokens = round.map(() => this.newToken());
      const won = await this.query<{ key: string; attempts: number; takeover: boolean; created_at: number }>('claimMany', this.sql.claimMany, [
        round.map((i) => items[i].key),
        round.map((i) => items[i].payloadHash),
        tokens,
        round.map((i) => items[i].leaseMs),
        now,
        options.reclaimFailed === true,
      ]);
      const byKey = new Map(won.rows.map((r) => [r.key, r]));
      const lost = round.filter((i) => !byKey.has(items[i].key));
      const rows = lost.length === 0 ? new Map<string, PgRow>() : new Map(
        (await this.query<PgRow>('getMany', this.sql.getMany, [lost.map((i) => items[i].key)])).rows.map((r) => [r.key, r]),
      );
      let raced = false;
      round.forEach((i, n) => {
        const { key } = items[i];
        const q = queues.get(key) as number[];
        const mine = byKey.get(key);
        if (mine) {
          out[i] = { status: 'claimed', token: tokens[n], attempt: mine.attempts, takeover: mine.takeover, firstAttemptAt: Number(mine.created_at) };
        } else {
          const decision = decideClaim(rows.get(key), items[i].payloadHash, now, options);
          if (typeof decision !== 'object') {
            raced = true; // claimable now: retry this occurrence in the next round
            return;
          }
          out[i] = decision;
        }
        q.shift();
        if (q.length === 0) queues.delete(key);
      });
      if (raced && ++races > MAX_CLAIM_RACES) throw new Error(`claimMany lost ${MAX_CLAIM_RACES} races in a row`);
    }
    return out;
  }

  async complete(key: string, result: unknown, token: string): Promise<void> {
    const item = { key, result, token };
    if (!(await (this.microBatch ? this.completions.run(item) : this.completeOne(item)))) throw leaseLost(key);
  }

  private async completeOne(item: CompleteItem): Promise<boolean> {
    const res = await this.query('complete', this.sql.complete, [item.key, JSON.stringify(item.result ?? null), this.now(), item.token]);
    return res.rowCount === 1;
  }

  /**
   * Completes many claims in one statement per round; `true` where the claim was completed,
   * `false` where `complete` would have rejected with LEASE_LOST. A repeated key behaves as if
   * completed twice in input order.
   */
  async completeMany(items: readonly CompleteItem[]): Promise<boolean[]> {
    const out = new Array<boolean>(items.length).fill(false);
    const queues = occurrenceQueues(items);
    while (queues.size > 0) {
      const round = [...queues.values()].map((q) => q.shift() as number);
      for (const [key, q] of queues) if (q.length === 0) queues.delete(key);
      const done = await this.query<{ key: string }>('completeMany', this.sql.completeMany, [
        round.map((i) => items[i].key),
        round.map((i) => items[i].token),
        round.map((i) => JSON.stringify(items[i].result ?? null)),
        this.now(),
      ]);
      const ok = new Set(done.rows.map((r) => r.key));
      for (const i of round) out[i] = ok.has(items[i].key);
    }
    return out;
  }

  async release(key: string, token: string): Promise<void> {
    const res = await this.query('release', this.sql.release, [key, this.now(), token]);
    if (res.rowCount !== 1) throw leaseLost(key);
  }

  async fail(key: string, reason: unknown, token: string): Promise<void> {
    const res = await this.query('fail', this.sql.fail, [key, JSON.stringify(reason ?? null), this.now(), token]);
    if (res.rowCount !== 1) throw leaseLost(key);
  }

  async lookup(key: string): Promise<IdempotencyRecord | undefined> {
    const row = (await this.query<PgRow>('get', this.sql.get, [key])).rows[0];
    return row ? toRecord(row) : undefined;
  }

  /** Deletes in chunks, each its own statement, so a large purge never blocks claims for long. */
  async purge(retentionMs: number): Promise<number> {
    const cutoff = this.now() - retentionMs;
    let total = 0;
    for (;;) {
      const n = (await this.query('purge', this.sql.purge, [cutoff])).rowCount;
      total += n;
      if (n < PURGE_CHUNK) return total;
    }
  }

  /** How many keys are stored (for status and tests). */
  async count(): Promise<number> {
    return (await this.query<{ n: number }>('count', this.sql.count, [])).rows[0].n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // A completion queued just before a redeploy must still land, or the posting would be repeated after the lease.
    await this.claims?.drain();
    await this.completions?.drain();
    this.closed = true;
    await this.pool.end();
  }
}
