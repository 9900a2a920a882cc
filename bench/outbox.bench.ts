/**
 * Outbox throughput: entries enqueued (durable, group-committed) and drained (delivered, deletion
 * durable) per second, against plain better-sqlite3 on the same kind of file (WAL,
 * synchronous=FULL) in the same run: inserts in transactions of 100 rows, and insert+delete pairs
 * in transactions of 100 pairs.
 *
 *   node dist/bench/outbox.bench.js [--entries N] [--partitions P] [--concurrency C] [--rounds R] [--goal 20000]
 *
 * Contenders alternate over R rounds (fresh files each), so machine noise hits all alike; medians
 * are reported. Prints one JSON line and exits 1 when the outbox median is below the goal
 * (entries enqueued and drained per second).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Outbox } from '../lib/delivery/outbox';
import { openDurableSqlite } from '../lib/storage/sqlite';
import { benchArg } from './bench-args';

const arg = benchArg;
const ENTRIES = arg('entries', 100000);
const PARTITIONS = arg('partitions', 64);
const CONCURRENCY = arg('concurrency', 8);
const ROUNDS = arg('rounds', 3);
const GOAL = arg('goal', 20000);
/** Enqueues in flight at once: a producer that waits for its acknowledgements. */
const WINDOW = 1000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-outbox-bench-'));
const payload = (i: number) => ({ type: 'mfg.operation.completed.v2', seq: i, order: `WO-${i % 977}`, qty: i % 50 });

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

let fileNo = 0;
const freshFile = (name: string) => path.join(dir, `${name}-${++fileNo}.db`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function outboxRun(): Promise<{ perSec: number; delivered: number }> {
  const outbox = new Outbox(freshFile('outbox'), { capacity: ENTRIES + WINDOW, concurrency: CONCURRENCY });
  let delivered = 0;
  const start = process.hrtime.bigint();
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  outbox.start(async () => {
    if (++delivered === ENTRIES) finish();
  });
  for (let i = 0; i < ENTRIES; i += WINDOW) {
    const acks: Array<Promise<unknown>> = [];
    for (let j = i; j < Math.min(ENTRIES, i + WINDOW); j++) acks.push(outbox.enqueue(`p${j % PARTITIONS}`, payload(j)));
    await Promise.all(acks);
  }
  await done;
  // The last deletions are durable once backlog reaches 0.
  const deadline = Date.now() + 30000;
  while (outbox.backlog() > 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  const s = seconds(start);
  if (outbox.backlog() !== 0) throw new Error(`backlog ${outbox.backlog()} after the drain`);
  await outbox.close();
  if (delivered !== ENTRIES) throw new Error(`delivered ${delivered} of ${ENTRIES}`);
  return { perSec: ENTRIES / s, delivered };
}

function baselineInserts(): number {
  const db = openDurableSqlite(freshFile('plain'));
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT NOT NULL, p TEXT NOT NULL, at INTEGER NOT NULL)');
  const insert = db.prepare('INSERT INTO t (k, p, at) VALUES (?, ?, ?)');
  const start = process.hrtime.bigint();
  for (let i = 0; i < ENTRIES; i += 100) {
    db.transaction(() => {
      for (let j = i; j < Math.min(ENTRIES, i + 100); j++) insert.run(`p${j % PARTITIONS}`, JSON.stringify(payload(j)), Date.now());
    }).immediate();
  }
  const s = seconds(start);
  db.close();
  return ENTRIES / s;
}

function baselinePairs(): number {
  const db = openDurableSqlite(freshFile('pairs'));
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT NOT NULL, p TEXT NOT NULL, at INTEGER NOT NULL)');
  const insert = db.prepare('INSERT INTO t (k, p, at) VALUES (?, ?, ?)');
  const remove = db.prepare('DELETE FROM t WHERE id = ?');
  const start = process.hrtime.bigint();
  for (let i = 0; i < ENTRIES; i += 100) {
    const ids: number[] = [];
    db.transaction(() => {
      for (let j = i; j < Math.min(ENTRIES, i + 100); j++) ids.push(Number(insert.run(`p${j % PARTITIONS}`, JSON.stringify(payload(j)), Date.now()).lastInsertRowid));
    }).immediate();
    db.transaction(() => {
      for (const id of ids) remove.run(id);
    }).immediate();
  }
  const s = seconds(start);
  db.close();
  return ENTRIES / s;
}

async function main(): Promise<void> {
  try {
    const outboxRates: number[] = [];
    const insertRates: number[] = [];
    const pairRates: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      insertRates.push(baselineInserts());
      pairRates.push(baselinePairs());
      outboxRates.push((await outboxRun()).perSec);
    }
    const perSec = median(outboxRates);
    const baselinePerSec = median(insertRates);
    const pairsPerSec = median(pairRates);
    const result = {
      bench: 'outbox',
      entries: ENTRIES,
      partitions: PARTITIONS,
      concurrency: CONCURRENCY,
      rounds: ROUNDS,
      perSec: Math.round(perSec),
      baselinePerSec: Math.round(baselinePerSec),
      baselinePairsPerSec: Math.round(pairsPerSec),
      ratio: Number((perSec / baselinePerSec).toFixed(3)),
      ratioToPairs: Number((perSec / pairsPerSec).toFixed(3)),
      outboxRounds: outboxRates.map(Math.round),
      goal: GOAL,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exitCode = perSec < GOAL ? 1 : 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
