/**
 * SQLite idempotency store: durable claim+complete pairs per second (WAL, synchronous=FULL, group
 * commits), against plain better-sqlite3 inserting the same number of rows into the same file
 * kind, one transaction per batch of 100, in the same run.
 *
 *   node dist/bench/idempotency-sqlite.bench.js [--keys N] [--window W] [--goal 20000]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SqliteIdempotencyStore } from '../lib/idempotency/sqlite-store';
import { openDurableSqlite } from '../lib/storage/sqlite';
import { benchArg } from './bench-args';

const arg = benchArg;
const KEYS = arg('keys', 100000);
const WINDOW = arg('window', 1000);
const GOAL = arg('goal', 20000);

function baseline(file: string): number {
  const db = openDurableSqlite(file);
  db.exec('CREATE TABLE t (key TEXT PRIMARY KEY, payload_hash TEXT NOT NULL, state TEXT NOT NULL, token TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID');
  const insert = db.prepare('INSERT INTO t VALUES (?, ?, ?, ?, ?)');
  const batch = db.transaction((from: number) => {
    for (let i = from; i < from + 100; i++) insert.run(`base-${i}`, 'h', 'completed', 'tok', i);
  });
  const start = process.hrtime.bigint();
  for (let i = 0; i < KEYS; i += 100) batch(i);
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  db.close();
  return KEYS / secs;
}

async function plantsync(file: string): Promise<number> {
  const store = new SqliteIdempotencyStore(file);
  const start = process.hrtime.bigint();
  for (let base = 0; base < KEYS; base += WINDOW) {
    const keys = Array.from({ length: Math.min(WINDOW, KEYS - base) }, (_, i) => `key-${base + i}`);
    const claims = await Promise.all(keys.map((k) => store.claim(k, 'hash', 60000)));
    await Promise.all(claims.map((c, i) => {
      if (c.status !== 'claimed') throw new Error(`unexpected ${c.status}`);
      return store.complete(keys[i], { doc: base + i }, c.token);
    }));
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const check = await store.lookup(`key-${KEYS - 1}`);
  if (check?.state !== 'completed') throw new Error('last key not completed');
  await store.close();
  return KEYS / secs;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-bench-idem-'));
  try {
    const base = baseline(path.join(dir, 'baseline.db'));
    const pairs = await plantsync(path.join(dir, 'plantsync.db'));
    const result = {
      bench: 'idempotency-sqlite',
      keys: KEYS,
      window: WINDOW,
      claimCompletePairsPerSec: Math.round(pairs),
      baselineInsertsPerSec: Math.round(base),
      ratio: Number((pairs / base).toFixed(3)),
      goal: GOAL,
      node: process.version,
    };
    console.log(JSON.stringify(result));
    if (pairs < GOAL) {
      console.error(`idempotency-sqlite bench: ${Math.round(pairs)} pairs/s is below the goal ${GOAL}`);
      process.exitCode = 1;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
