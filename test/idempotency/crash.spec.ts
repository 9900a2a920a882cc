import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { seededRandom, testSeed } from '../helpers/seeded-random';

const KEYS = 40000;
const worker = path.join(__dirname, 'crash-worker.js');

/**
 * Runs the worker; kills it with SIGKILL `killDelayMs` (a few ms, to land between a claim and its
 * completion) after it acknowledged `killAfterAcks` new completions (progress-based, so every run
 * dies mid-way whatever the speed).
 */
function runWorker(file: string, killAfterAcks: number | null, killDelayMs = 0): Promise<{ acked: string[]; done: boolean; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, file, String(KEYS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    let acks = 0;
    child.stdout.on('data', (d: Buffer) => {
      const text = d.toString();
      out += text;
      acks += text.split('C ').length - 1;
      if (killAfterAcks !== null && !timer && acks >= killAfterAcks) {
        timer = setTimeout(() => child.kill('SIGKILL'), killDelayMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0 && signal !== 'SIGKILL') return reject(new Error(`worker exited ${code}: ${err}`));
      // A line cut by the kill is not an acknowledgement.
      const lines = out.split('\n').slice(0, -1);
      resolve({ acked: lines.filter((l) => l.startsWith('C ')).map((l) => l.slice(2)), done: lines.includes('DONE'), killed: signal === 'SIGKILL' });
    });
  });
}

function readStore(file: string): Map<string, { state: string; completions: number }> {
  const db = new Database(file, { readonly: true });
  const rows = db.prepare('SELECT key, state, completions FROM idempotency').all() as { key: string; state: string; completions: number }[];
  db.close();
  return new Map(rows.map((r) => [r.key, r]));
}

describe('crash test: SIGKILL between claims and completions', function () {
  this.timeout(120000);

  it('loses no completed key and completes no key twice across repeated kills', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-crash-'));
    const file = path.join(dir, 'idem.db');
    const acked = new Set<string>();
    let kills = 0;
    const seed = testSeed(20261207);
    const random = seededRandom(seed);
    const points: string[] = [];
    try {
      for (let run = 0; run < 6; run++) {
        const killAfter = 1 + Math.floor(random() * 5000);
        const killDelay = Math.floor(random() * 20);
        points.push(`${killAfter}+${killDelay}ms`);
        const r = await runWorker(file, killAfter, killDelay);
        r.acked.forEach((k) => acked.add(k));
        if (r.killed) kills++;
        const stored = readStore(file);
        for (const key of acked) {
          assert.equal(stored.get(key)?.state, 'completed', `acknowledged ${key} lost after run ${run}`);
        }
        for (const [key, rec] of stored) assert.ok(rec.completions <= 1, `${key} completed ${rec.completions} times`);
      }
      const final = await runWorker(file, null);
      assert.ok(final.done, 'the last run finishes');
      final.acked.forEach((k) => acked.add(k));
      const stored = readStore(file);
      assert.equal(stored.size, KEYS);
      for (const [key, rec] of stored) {
        assert.equal(rec.state, 'completed', key);
        assert.equal(rec.completions, 1, `${key} completed ${rec.completions} times`);
      }
      assert.ok(kills >= 4, `only ${kills} runs were killed mid-way`);
      // A completion can be durable while its acknowledgement died with the process: acked is a subset.
      assert.ok(acked.size <= KEYS && acked.size > KEYS / 2, `${acked.size} acknowledgements`);
      console.log(`      (seed ${seed}: kills after ${points.join(', ')}; ${acked.size} acknowledgements)`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
