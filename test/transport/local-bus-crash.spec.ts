import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { seededRandom, testSeed } from '../helpers/seeded-random';
import { LocalBus } from '../../lib/transport/local-bus';
import { logHandler, readHandled } from './local-bus-crash-worker';

const WORKER = path.join(__dirname, 'local-bus-crash-worker.js');
const ACK_LINE = /^ack (\S+)$/;

/**
 * Runs the worker, SIGKILLs it once it has acknowledged `killAtAcks` publishes (0: as soon as it is
 * ready), and collects its acknowledged publishes. Progress, not time, decides the kill, so a busy
 * machine changes only how long a run takes.
 */
function runWorker(db: string, log: string, tag: string, count: number, killAtAcks: number, seed: number): Promise<{ acks: string[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, db, log, tag, String(count), String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: string[] = [];
    let buffer = '';
    let stderr = '';
    let ready = false;
    let killed = false;
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
        if (m) acks.push(m[1]);
        else if (line === 'ready') ready = true;
        if (ready && !killed && acks.length >= killAtAcks) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    });
    child.on('exit', () => {
      clearTimeout(guard);
      resolve({ acks, stderr });
    });
  });
}

describe('transport: local bus survives SIGKILL', function () {
  this.timeout(60000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-local-bus-crash-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('loses no acknowledged publish, and hands a message over twice only as a redelivery', async () => {
    const db = path.join(dir, 'bus.db');
    const log = path.join(dir, 'handled.log');
    const acks: string[] = [];
    const seed = testSeed(20261206);
    const random = seededRandom(seed);
    // The first kill hits startup; the others come after a seeded number of acknowledged publishes.
    const targets = [0, ...Array.from({ length: 5 }, () => 40 + Math.floor(random() * 300))];
    for (let run = 0; run < targets.length; run++) {
      const r = await runWorker(db, log, `r${run}`, 20000, targets[run], seed + run);
      assert.equal(r.stderr, '', 'worker wrote to stderr');
      assert.ok(r.acks.length >= targets[run], `run ${run}: ended after ${r.acks.length} acknowledgements, before ${targets[run]}`);
      acks.push(...r.acks);
    }

    // Drain what is left in this process: the dead workers' taken rows come back at open.
    const bus = new LocalBus(db, { retryTiersMs: [20], pollMs: 10 });
    const handler = logHandler(log);
    const c = bus.consume('g', (d) => handler.handle((d.event as { id: string }).id, d.redelivered), { prefetch: 50 });
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline) {
      const s = bus.stats('g');
      if (s.ready + s.inFlight + s.delayed === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await c.close();
    assert.deepEqual(bus.stats('g'), { ready: 0, inFlight: 0, delayed: 0, parked: 0 });
    await bus.close();
    handler.close();

    const handled = readHandled(log);
    const seen = new Set<string>();
    let redeliveries = 0;
    for (const h of handled) {
      if (seen.has(h.id)) assert.ok(h.redelivered, `${h.id} handled again without redelivered = true`);
      if (h.redelivered) redeliveries++;
      seen.add(h.id);
    }
    const lost = acks.filter((id) => !seen.has(id));
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} acknowledged publishes never handled`);
    console.log(`      (seed ${seed}: ${acks.length} acknowledged publishes over ${targets.length} kills at ${targets.join('/')} acknowledgements, ${handled.length} handlings, ${redeliveries} redelivered)`);
  });
});
