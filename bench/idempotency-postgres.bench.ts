/**
 * Shared idempotency store throughput: claim+complete pairs per second with concurrent clients
 * (each its own pool connection, looping over its own keys) against a private PostgreSQL
 * (fsync on), for (a) single-item calls and (b) sorted batches, with a baseline in the same run:
 * plain `pg` inserting the same number of rows into a table of the same schema, one
 * INSERT ... SELECT unnest transaction per batch.
 *
 *   node dist/bench/idempotency-postgres.bench.js [--ms 5000] [--clients 8] [--batch 100] [--goal 5000]
 *
 * Prints one JSON line; exits 1 when the batched figure (what the guard node uses) is below the goal.
 */
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { PostgresIdempotencyStore } from '../lib/idempotency/postgres-store';
import { startPostgres } from '../test/helpers/postgres';
import { benchArg } from './bench-args';

const arg = benchArg;
const RUN_MS = arg('ms', 5000);
const CLIENTS = arg('clients', 8);
const BATCH = arg('batch', 100);
const GOAL = arg('goal', 5000);
const WARMUP_MS = 500;

/** Runs `clients` loops until the deadline; each iteration returns how many pairs it did. */
async function rate(ms: number, step: (client: number, i: number) => Promise<number>, clients = CLIENTS): Promise<{ perSec: number; total: number }> {
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  const counts = await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      let n = 0;
      for (let i = 0; process.hrtime.bigint() < deadline; i++) n += await step(client, i);
      return n;
    }),
  );
  const total = counts.reduce((a, b) => a + b, 0);
  return { perSec: total / (Number(process.hrtime.bigint() - start) / 1e9), total };
}

/** Keys of one batch, already in order (zero-padded), as the node will send them. */
const batchKeys = (prefix: string, client: number, i: number) =>
  Array.from({ length: BATCH }, (_, j) => `${prefix}-${client}-${String(i).padStart(8, '0')}-${String(j).padStart(4, '0')}`);

async function single(store: PostgresIdempotencyStore, prefix: string, ms: number) {
  return rate(ms, async (client, i) => {
    const key = `${prefix}-${client}-${i}`;
    const c = await store.claim(key, 'hash', 60000);
    if (c.status !== 'claimed') throw new Error(`${key}: ${c.status}`);
    await store.complete(key, { documentNumber: i }, c.token);
    return 1;
  });
}

/**
 * The node's path in one Node-RED instance with many messages in flight (a consumer prefetch of
 * `inFlight`): single calls from one process, micro-batched by the store over its connections.
 */
async function concurrent(store: PostgresIdempotencyStore, prefix: string, ms: number, inFlight: number) {
  return rate(ms, async (_client, i) => {
    await Promise.all(Array.from({ length: inFlight }, async () => {
      // Keys shaped like events' idempotency keys: family, order number, content hash.
      const key = `${prefix}:mfg.operation.completed:${1000000 + Math.floor(Math.random() * 9000000)}:${randomUUID()}`;
      const c = await store.claim(key, 'hash', 60000);
      if (c.status !== 'claimed') throw new Error(`${key}: ${c.status}`);
      await store.complete(key, { documentNumber: i }, c.token);
    }));
    return inFlight;
  }, 1);
}

async function batched(store: PostgresIdempotencyStore, prefix: string, ms: number) {
  return rate(ms, async (client, i) => {
    const keys = batchKeys(prefix, client, i);
    const claims = await store.claimMany(keys.map((key) => ({ key, payloadHash: 'hash', leaseMs: 60000 })));
    const done = await store.completeMany(
      claims.map((c, j) => {
        if (c.status !== 'claimed') throw new Error(`${keys[j]}: ${c.status}`);
        return { key: keys[j], result: { documentNumber: j }, token: c.token };
      }),
    );
    if (!done.every(Boolean)) throw new Error('a batch complete lost its lease');
    return keys.length;
  });
}

/** Plain pg: `rows` rows, in transactions of BATCH rows, by CLIENTS connections. */
async function plain(pool: Pool, table: string, prefix: string, rows: number): Promise<number> {
  const sql = `INSERT INTO "${table}" (key, payload_hash, state, token, lease_expires_at, attempts, result, created_at, updated_at)
    SELECT k, 'hash', 'completed', 't', 0, 1, r, $2, $2 FROM unnest($1::text[], $3::text[]) AS i(k, r)`;
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      while (next < rows) {
        const i = next;
        next += BATCH;
        const keys = batchKeys(prefix, client, i);
        await pool.query(sql, [keys, Date.now(), keys.map((_k, j) => JSON.stringify({ documentNumber: j }))]);
      }
    }),
  );
  return Math.ceil(rows / BATCH) * BATCH / (Number(process.hrtime.bigint() - start) / 1e9);
}

async function main(): Promise<void> {
  const server = await startPostgres();
  const { connectionString } = server;
  const stores: PostgresIdempotencyStore[] = [];
  const pool = new Pool({ connectionString, max: CLIENTS });
  // Sockets still closing when the server stops report 'error' on the pool; that is the end of the run.
  pool.on('error', () => undefined);
  try {
    const open = async (table: string, microBatch = true) => {
      const s = await PostgresIdempotencyStore.open({ connectionString, table, poolSize: CLIENTS, microBatch });
      stores.push(s);
      return s;
    };
    const direct = await open('bench_direct', false);
    const one = await open('bench_single');
    const many = await open('bench_batch');
    await open('bench_plain'); // only for its schema: the baseline writes the same table shape

    const wide = await open('bench_concurrent');
    await concurrent(wide, 'warm', WARMUP_MS, 256);
    const w = await concurrent(wide, 'run', RUN_MS, 256);
    await single(direct, 'warm', WARMUP_MS);
    const d = await single(direct, 'run', RUN_MS);
    await single(one, 'warm', WARMUP_MS);
    const a = await single(one, 'run', RUN_MS);
    await batched(many, 'warm', WARMUP_MS);
    const b = await batched(many, 'run', RUN_MS);
    await plain(pool, 'bench_plain', 'warm', CLIENTS * BATCH * 10);
    const plainPerSec = await plain(pool, 'bench_plain', 'run', b.total);

    // Every pair must really be settled: completions counted once per key.
    const check = await pool.query<{ n: string; c: string }>(
      `SELECT count(*) AS n, sum(completions) AS c FROM bench_batch WHERE key LIKE 'run-%' AND state = 'completed'`,
    );
    if (Number(check.rows[0].n) !== b.total || Number(check.rows[0].c) !== b.total) {
      throw new Error(`batch table holds ${check.rows[0].n} completed keys, expected ${b.total}`);
    }
    const version = (await pool.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0].v;

    const result = {
      bench: 'idempotency-postgres',
      clients: CLIENTS,
      batchSize: BATCH,
      seconds: RUN_MS / 1000,
      singleDirectPairsPerSec: Math.round(d.perSec),
      singlePairsPerSec: Math.round(a.perSec),
      oneInstance256InFlightPairsPerSec: Math.round(w.perSec),
      batchPairsPerSec: Math.round(b.perSec),
      plainRowsPerSec: Math.round(plainPerSec),
      singleOfPlain: Number((a.perSec / plainPerSec).toFixed(3)),
      batchOfPlain: Number((b.perSec / plainPerSec).toFixed(3)),
      goal: GOAL,
      gatedOn: 'batchPairsPerSec',
      postgres: version,
      node: process.version,
    };
    console.log(JSON.stringify(result));
    if (result.batchPairsPerSec < GOAL) {
      console.error(`idempotency-postgres bench: ${result.batchPairsPerSec} batched pairs/s is below the goal ${GOAL}`);
      process.exitCode = 1;
    }
  } finally {
    await Promise.all(stores.map((s) => s.close()));
    await pool.end();
    await server.stop();
  }
}

main().catch((err: Error) => {
  console.error(err.stack);
  process.exitCode = 1;
});
