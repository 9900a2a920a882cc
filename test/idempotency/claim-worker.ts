/**
 * A separate process for the concurrency contract: opens the store described by argv[2] (JSON
 * StoreSpec), waits until the wall-clock start time argv[4] so that all workers race, claims key
 * argv[3] and prints the outcome as one JSON line.
 */
import { openIdempotencyStore, type StoreSpec } from '../../lib/idempotency/open-store';

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]) as StoreSpec;
  const key = process.argv[3];
  const startAt = Number(process.argv[4]);
  const store = await openIdempotencyStore(spec);
  const wait = startAt - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const outcome = await store.claim(key, 'hash-1', 60000);
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
  await store.close();
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
