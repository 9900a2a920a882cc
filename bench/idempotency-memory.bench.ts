/**
 * Memory of a long-running guard: 1,000,000 keys claimed and completed through the SQLite store
 * while a retention purge runs, sampling the process RSS. Goal: flat, under 200 MB.
 *
 *   node dist/bench/idempotency-memory.bench.js [--keys N] [--limit-mb 200]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SqliteIdempotencyStore } from '../lib/idempotency/sqlite-store';
import { benchArg } from './bench-args';

const arg = benchArg;
const KEYS = arg('keys', 1_000_000);
const LIMIT_MB = arg('limit-mb', 200);
const WINDOW = 2000;
/** Each window advances the clock one minute; records older than an hour are purged. */
const RETENTION_MS = 60 * 60000;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-bench-mem-'));
  let t = Date.UTC(2026, 10, 26);
  const store = new SqliteIdempotencyStore(path.join(dir, 'idem.db'), { now: () => t });
  const samples: { keys: number; rssMb: number; stored: number }[] = [];
  let purged = 0;
  const start = Date.now();
  try {
    for (let base = 0; base < KEYS; base += WINDOW) {
      const keys = Array.from({ length: Math.min(WINDOW, KEYS - base) }, (_, i) => `mfg.operation.completed:${base + i}:0123456789abcdef0123456789abcdef`);
      const claims = await Promise.all(keys.map((k) => store.claim(k, 'a3f1c9e2b7d4', 60000)));
      await Promise.all(claims.map((c, i) => store.complete(keys[i], { documentNumber: `49${String(base + i).padStart(8, '0')}` }, (c as { token: string }).token)));
      t += 60000;
      if ((base / WINDOW) % 10 === 0) purged += await store.purge(RETENTION_MS);
      if ((base + WINDOW) % 100000 === 0) {
        if (global.gc) global.gc();
        samples.push({ keys: base + WINDOW, rssMb: Math.round(process.memoryUsage().rss / 1048576), stored: store.count() });
      }
    }
    const maxRss = Math.max(...samples.map((s) => s.rssMb));
    const early = samples[Math.min(2, samples.length - 1)].rssMb;
    const last = samples[samples.length - 1].rssMb;
    const result = {
      bench: 'idempotency-memory',
      keys: KEYS,
      purged,
      storedAtEnd: store.count(),
      maxRssMb: maxRss,
      rssAt300kMb: early,
      rssAtEndMb: last,
      growthAfter300kMb: last - early,
      seconds: Math.round((Date.now() - start) / 1000),
      samples,
      limitMb: LIMIT_MB,
    };
    console.log(JSON.stringify(result));
    // Flat: no more than 20% growth once the purge has reached its steady state.
    if (maxRss > LIMIT_MB || last - early > early * 0.2) {
      console.error(`idempotency-memory bench: max ${maxRss} MB, growth ${last - early} MB — goal is flat and under ${LIMIT_MB} MB`);
      process.exitCode = 1;
    }
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
