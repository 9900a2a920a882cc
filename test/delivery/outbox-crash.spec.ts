import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { seededRandom, testSeed } from '../helpers/seeded-random';
import { Outbox } from '../../lib/delivery/outbox';
import { logDeliverer, PARTITIONS, readLog } from './outbox-crash-worker';

const WORKER = path.join(__dirname, 'outbox-crash-worker.js');
const ACK_LINE = /^ack (\d+) (p\d+) (\d+) ok$/;

interface RunResult {
  acks: Array<{ id: number; p: string; seq: number }>;
  /** Killed while it still had entries to enqueue or deliver. */
  killed: boolean;
  stderr: string;
}

/**
 * Starts the worker, SIGKILLs it once it has acknowledged `killAtAcks` enqueues in this run (0: as
 * soon as it reported ready), and collects its acknowledgements. Progress, not time, decides the
 * kill, so a busy machine changes only how long a run takes.
 */
function runWorker(db: string, log: string, count: number, killAtAcks: number, seed: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, db, log, String(count), String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: RunResult['acks'] = [];
    let buffer = '';
    let stderr = '';
    let ready = false;
    let killed = false;
    let drained = false;
    let sent = false;
    const kill = () => {
      if (sent) return;
      sent = true;
      killed = child.exitCode === null && child.signalCode === null && !drained;
      child.kill('SIGKILL');
    };
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('worker did not finish within 20 s'));
    }, 20000);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() as string;
      for (const line of lines) {
        const m = ACK_LINE.exec(line);
        if (m) acks.push({ id: Number(m[1]), p: m[2], seq: Number(m[3]) });
        else if (line === 'drained') drained = true;
        else if (line === 'ready') ready = true;
        if (ready && acks.length >= killAtAcks) kill();
      }
    });
    child.on('exit', () => {
      clearTimeout(guard);
      resolve({ acks, killed, stderr });
    });
  });
}

describe('delivery: Outbox survives SIGKILL at seeded points of progress', function () {
  this.timeout(60000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-outbox-crash-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('loses no acknowledged entry, keeps per-partition order, redelivers only the most recent entry, and ends empty', async () => {
    const db = path.join(dir, 'outbox.db');
    const log = path.join(dir, 'delivered.log');
    const started = Date.now();
    const runs: RunResult[] = [];
    const seed = testSeed(20261206);
    const random = seededRandom(seed);
    // The first kill hits startup (open, purge, first fetch); later ones hit enqueue and drain in
    // full swing, after a seeded number of acknowledgements of that run.
    const targets = [0, ...Array.from({ length: 6 }, () => 20 + Math.floor(random() * 300))];
    for (const [i, target] of targets.entries()) {
      const r = await runWorker(db, log, 3000, target, seed + i);
      assert.equal(r.stderr, '', 'worker wrote to stderr');
      runs.push(r);
    }
    const kills = runs.filter((r) => r.killed).length;
    assert.equal(kills, runs.length, `only ${kills} of ${runs.length} runs were killed while alive`);
    runs.forEach((r, i) => assert.ok(r.acks.length >= targets[i], `run ${i}: killed after ${r.acks.length} acknowledgements, before ${targets[i]}`));
    const acks = runs.flatMap((r) => r.acks);

    // Final drain in this process, through the same durable log.
    const outbox = new Outbox(db);
    const sink = logDeliverer(log);
    const leftover = outbox.backlog();
    outbox.start(sink.deliver);
    const deadline = Date.now() + 30000;
    while (outbox.backlog() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(outbox.backlog(), 0, 'the final drain did not finish');
    await outbox.close();
    sink.close();

    const raw = new Database(db, { readonly: true });
    try {
      assert.equal((raw.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n, 0, 'rows left after the final drain');
      assert.equal((raw.prepare('SELECT count(*) AS n FROM outbox_delivered').get() as { n: number }).n, 0, 'delivery records left');
    } finally {
      raw.close();
    }

    const deliveries = readLog(log);
    const delivered = new Set(deliveries.map(([p, seq]) => `${p}/${seq}`));
    const lost = acks.filter((a) => !delivered.has(`${a.p}/${a.seq}`));
    assert.deepEqual(lost, [], 'acknowledged entries were never delivered');

    // Per partition: first deliveries come as 1, 2, 3, ... (committed seqs are contiguous); a
    // repeat is only ever the partition's most recent delivery, handed over again after a kill.
    const highest = new Map<string, number>();
    const repeats = new Map<string, number>();
    for (const [p, seq] of deliveries) {
      const top = highest.get(p) ?? 0;
      if (seq > top) {
        assert.equal(seq, top + 1, `${p}: first delivery of ${seq} after ${top}`);
        highest.set(p, seq);
      } else {
        assert.equal(seq, top, `${p}: redelivered ${seq} after ${top} had been delivered`);
        repeats.set(p, (repeats.get(p) ?? 0) + 1);
      }
    }
    assert.equal(highest.size, PARTITIONS);
    for (const [p, count] of repeats) assert.ok(count <= runs.length, `${p} repeated ${count} times in ${runs.length} runs`);
    // Acknowledged ids grow with the sequence numbers of each partition.
    for (let i = 0; i < PARTITIONS; i++) {
      const mine = acks.filter((a) => a.p === `p${i}`);
      for (let j = 1; j < mine.length; j++) assert.ok(mine[j].seq > mine[j - 1].seq && mine[j].id > mine[j - 1].id, `p${i}: ack order`);
    }
    const totalRepeats = [...repeats.values()].reduce((a, b) => a + b, 0);
    console.log(
      `      seed ${seed}: ${runs.length} runs, ${kills} SIGKILLs (at ${targets.join('/')} acknowledgements), ${acks.length} acknowledged, ` +
        `${deliveries.length - totalRepeats} delivered, ${totalRepeats} redelivered, ${leftover} left for the final drain, ${Date.now() - started} ms`,
    );
  });
});
