/**
 * Child process of the crash test: claims and completes keys 0..N-1 of a SQLite store in windows,
 * from the start every time it runs, and prints "C <key>" only after a completion is durable.
 * Keys it finds completed (a previous run) are duplicates and are not completed again.
 */
import { SqliteIdempotencyStore } from '../../lib/idempotency/sqlite-store';

async function main(): Promise<void> {
  const [file, countArg] = process.argv.slice(2);
  const count = Number(countArg);
  const store = new SqliteIdempotencyStore(file);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  for (let base = 0; base < count; base += 50) {
    const keys = Array.from({ length: Math.min(50, count - base) }, (_, i) => `key-${base + i}`);
    await Promise.all(keys.map(async (key) => {
      for (let tries = 0; tries < 100; tries++) {
        const c = await store.claim(key, `hash-${key}`, 300);
        if (c.status === 'duplicate') return;
        if (c.status === 'claimed') {
          await store.complete(key, { doc: key }, c.token);
          out(`C ${key}`);
          return;
        }
        if (c.status !== 'in-flight') throw new Error(`${key}: ${c.status}`);
        // A previous run died holding this key: wait for its lease to expire, then take over.
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${key}: lease never expired`);
    }));
  }
  out('DONE');
  await store.close();
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
