/**
 * Child process for the local bus crash test: argv = [db file, handled log, run tag, events, seed].
 *
 * Publishes events in windows of 20, printing `ack <id>` after each publish resolved, and consumes
 * them at the same time with a handler that appends `handled <id> <redelivered>` to the log and
 * fsyncs it before resolving (the log is the downstream system). The parent SIGKILLs it.
 */
import * as fs from 'node:fs';
import { seededRandom } from '../helpers/seeded-random';
import { LocalBus } from '../../lib/transport/local-bus';

export const HANDLED_LINE = /^handled (\S+) (true|false)$/;

export function readHandled(file: string): Array<{ id: string; redelivered: boolean }> {
  if (!fs.existsSync(file)) return [];
  const out: Array<{ id: string; redelivered: boolean }> = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = HANDLED_LINE.exec(line);
    if (m) out.push({ id: m[1], redelivered: m[2] === 'true' });
  }
  return out;
}

/** A handler logging durably before it resolves; starts on a fresh line after a torn one. */
export function logHandler(file: string, random: () => number = Math.random): { handle: (id: string, redelivered: boolean) => Promise<void>; close: () => void } {
  const fd = fs.openSync(file, 'a+');
  const size = fs.fstatSync(fd).size;
  if (size > 0) {
    const last = Buffer.alloc(1);
    fs.readSync(fd, last, 0, 1, size - 1);
    if (last.toString() !== '\n') fs.writeSync(fd, '\n');
  }
  return {
    handle: async (id, redelivered) => {
      // Some handlers span event-loop turns, so kills also hit deliveries in flight.
      if (random() < 0.2) await new Promise((r) => setTimeout(r, 2));
      fs.writeSync(fd, `handled ${id} ${redelivered}\n`);
      fs.fsyncSync(fd);
    },
    close: () => fs.closeSync(fd),
  };
}

async function main(): Promise<void> {
  const [dbFile, logFile, tag, countArg, seedArg] = process.argv.slice(2);
  const count = Number(countArg);
  const bus = new LocalBus(dbFile, { retryTiersMs: [20], pollMs: 10 });
  await bus.bind('g', ['#']);
  const log = logHandler(logFile, seededRandom(Number(seedArg ?? 1)));
  bus.consume('g', (d) => log.handle((d.event as { id: string }).id, d.redelivered), { prefetch: 20 });
  process.stdout.write('ready\n');
  for (let i = 0; i < count; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, count - i) }, (_, k) => {
      const id = `${tag}-${i + k}`;
      return bus.publish({ id, type: 'mfg.operation.completed.v2', siteid: 'P100', subject: `WO-${k}` }).then(() => void process.stdout.write(`ack ${id}\n`));
    }));
  }
  process.stdout.write('published\n');
  // Stay up until the parent kills us (bounded, in case it never does).
  setTimeout(() => void bus.close().then(() => log.close()), 20000);
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
}
