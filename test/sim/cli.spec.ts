import * as assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { call } from './helpers';

/** dist/test/sim/cli.spec.js -> dist/sim/cli.js */
const CLI = path.resolve(__dirname, '..', '..', 'sim', 'cli.js');

function firstLine(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no output within ${timeoutMs} ms; stderr: ${err}`)), timeoutMs);
    child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const i = out.indexOf('\n');
      if (i >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, i));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}: ${err}`));
    });
  });
}

function exitCode(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => reject(new Error(`did not exit within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('sim: command line', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  it('starts a simulator on loopback, prints its URL as JSON and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI, 'wms', '--port', '0', '--ignore-repeatability'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const line = JSON.parse(await firstLine(child, 10_000)) as { system: string; url: string };
    assert.equal(line.system, 'wms');
    assert.match(line.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const stock = await call(`${line.url}/api/v1/stock?material=RM-100-STEEL`);
    assert.equal(stock.status, 200);
    assert.equal(stock.body[0].quantity.amount, 500);
    assert.equal((await call(`${line.url}/__sim/config`)).body.ignoreRepeatability, true);
    child.kill('SIGTERM');
    assert.equal(await exitCode(child, 5_000), 0);
  });

  it('rejects an unknown system with usage on stderr', async () => {
    const child = spawn(process.execPath, [CLI, 'plc'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    assert.equal(await exitCode(child, 5_000), 2);
    assert.match(err, /usage: node dist\/sim\/cli\.js <erp\|mes\|wms\|qms>/);
  });
});
