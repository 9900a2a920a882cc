/**
 * Child process for the outbox crash test: argv = [db file, delivery log, entries to enqueue, seed].
 *
 * Enqueues entries for 20 partitions with per-partition sequence numbers, printing
 * `ack <id> <partition> <seq> ok` after each enqueue resolved, and drains at the same time with a
 * deliver that appends `delivered <partition> <seq> ok` to the log and fsyncs it before resolving
 * (the log is the downstream system). The parent SIGKILLs it after a seeded number of acknowledgements.
 *
 * Sequence numbers continue across restarts: every committed entry is either still stored or
 * delivered (logged before its delivery was recorded), so the next seq of a partition is one more
 * than the highest seq found in the table or the log.
 */
import * as fs from 'node:fs';
import { seededRandom } from '../helpers/seeded-random';
import { Outbox, type OutboxEntry } from '../../lib/delivery/outbox';

export const PARTITIONS = 20;
export const DELIVERED_LINE = /^delivered (p\d+) (\d+) ok$/;

/** Highest delivered seq per partition in the log (torn last lines do not match and are ignored). */
export function readLog(file: string): Array<[string, number]> {
  if (!fs.existsSync(file)) return [];
  const out: Array<[string, number]> = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = DELIVERED_LINE.exec(line);
    if (m) out.push([m[1], Number(m[2])]);
  }
  return out;
}

/** A deliver function that hands the entry to the log durably before resolving. */
export function logDeliverer(file: string, random: () => number = Math.random): { deliver: (e: OutboxEntry) => Promise<void>; close: () => void } {
  const fd = fs.openSync(file, 'a+');
  // A kill may have left a torn last line: start on a fresh one.
  const size = fs.fstatSync(fd).size;
  if (size > 0) {
    const last = Buffer.alloc(1);
    fs.readSync(fd, last, 0, 1, size - 1);
    if (last.toString() !== '\n') fs.writeSync(fd, '\n');
  }
  return {
    deliver: async (e) => {
      // Now and then a delivery spans event-loop turns, so kills also hit deliveries in flight.
      if (random() < 0.1) await new Promise((r) => setTimeout(r, 1));
      const p = e.payload as { p: string; seq: number };
      fs.writeSync(fd, `delivered ${p.p} ${p.seq} ok\n`);
      fs.fsyncSync(fd);
    },
    close: () => fs.closeSync(fd),
  };
}

async function main(): Promise<void> {
  const [dbFile, logFile, countArg, seedArg] = process.argv.slice(2);
  const count = Number(countArg);
  const outbox = new Outbox(dbFile, { concurrency: 4, batchSize: 50, retry: 10 });
  const next = new Map<string, number>();
  for (let i = 0; i < PARTITIONS; i++) next.set(`p${i}`, 1);
  const bump = (p: string, seq: number) => next.set(p, Math.max(next.get(p) ?? 1, seq + 1));
  for (const [p, seq] of readLog(logFile)) bump(p, seq);
  for (const e of outbox.peek(Number.MAX_SAFE_INTEGER)) bump(e.partitionKey, (e.payload as { seq: number }).seq);
  process.stdout.write('ready\n');

  const log = logDeliverer(logFile, seededRandom(Number(seedArg ?? 1)));
  outbox.start(log.deliver);
  let enqueued = 0;
  while (enqueued < count) {
    const round: Array<Promise<void>> = [];
    for (let i = 0; i < PARTITIONS && enqueued < count; i++, enqueued++) {
      const p = `p${i}`;
      const seq = next.get(p) as number;
      next.set(p, seq + 1);
      // Written after the promise resolved: the parent counts only acknowledged entries.
      round.push(outbox.enqueue(p, { p, seq }).then((ack) => void process.stdout.write(`ack ${ack.id} ${p} ${seq} ok\n`)));
    }
    await Promise.all(round);
  }
  process.stdout.write('enqueued\n');
  const deadline = Date.now() + 30000;
  while (outbox.backlog() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  process.stdout.write('drained\n');
  // Stay up until the parent kills us (bounded, in case it never does).
  setTimeout(() => {
    void outbox.close().then(() => log.close());
  }, 20000);
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
}
