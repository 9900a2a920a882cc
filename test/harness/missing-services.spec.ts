import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findPostgresBin, startPostgres } from '../helpers/postgres';
import { findRabbitBinaries, startRabbit } from '../helpers/rabbitmq';

/** Awaits `start()`, which must reject within `ms`; returns the error. */
async function rejectsWithin(start: () => Promise<unknown>, ms: number): Promise<Error> {
  const began = Date.now();
  const outcome = await Promise.race([
    start().then(
      () => 'resolved',
      (err: Error) => err,
    ),
    new Promise<string>((resolve) => setTimeout(() => resolve('still pending'), ms).unref()),
  ]);
  assert.ok(outcome instanceof Error, `expected a rejection within ${ms} ms, got: ${String(outcome)}`);
  assert.ok(Date.now() - began < ms);
  return outcome;
}

function assertOneLine(err: Error, pattern: RegExp): void {
  assert.ok(!err.message.includes('\n'), `more than one line: ${err.message}`);
  assert.match(err.message, pattern);
}

describe('test harness: a missing RabbitMQ or PostgreSQL fails at once with the command to install it', function () {
  this.timeout(10000);
  let empty: string;
  const touched = ['PATH', 'PLANTSYNC_RABBITMQ_BIN', 'PLANTSYNC_POSTGRES_BIN'];
  const saved = Object.fromEntries(touched.map((k) => [k, process.env[k]]));

  beforeEach(() => {
    empty = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-nobin-'));
  });
  afterEach(() => {
    for (const k of touched) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    fs.rmSync(empty, { recursive: true, force: true });
  });

  it('finds the real binaries on this machine (the checks below reject only what is missing)', () => {
    assert.ok(fs.existsSync(path.join(findRabbitBinaries().bin, 'rabbitmq-server')));
    assert.ok(fs.existsSync(findRabbitBinaries().epmd));
    assert.ok(fs.existsSync(path.join(findPostgresBin(), 'initdb')));
  });

  it('startRabbit with no rabbitmq-server in its folder rejects within a second, naming apt-get install rabbitmq-server', async () => {
    const err = await rejectsWithin(() => startRabbit({ binDir: empty }), 1000);
    assertOneLine(err, new RegExp(`^RabbitMQ is not installed \\(no rabbitmq-server, rabbitmqctl in ${empty}\\): run \`(sudo )?apt-get install -y rabbitmq-server\``));
  });

  it('startRabbit honours PLANTSYNC_RABBITMQ_BIN', async () => {
    process.env.PLANTSYNC_RABBITMQ_BIN = empty;
    const err = await rejectsWithin(() => startRabbit(), 1000);
    assertOneLine(err, new RegExp(`in ${empty}\\): run \`(sudo )?apt-get install -y rabbitmq-server\``));
  });

  it('startRabbit with no epmd on the PATH rejects within a second instead of `spawn epmd ENOENT`', async () => {
    for (const name of ['rabbitmq-server', 'rabbitmqctl']) fs.writeFileSync(path.join(empty, name), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    process.env.PATH = empty;
    const err = await rejectsWithin(() => startRabbit({ binDir: empty }), 1000);
    assertOneLine(err, /^RabbitMQ is not installed \(no epmd on the PATH\): run `(sudo )?apt-get install -y rabbitmq-server`/);
  });

  it('startPostgres with no initdb in its folder rejects within a second, naming apt-get install postgresql', async () => {
    const err = await rejectsWithin(() => startPostgres({ binDir: empty }), 1000);
    assertOneLine(err, new RegExp(`^PostgreSQL is not installed \\(no initdb, pg_ctl in ${empty}\\): run \`(sudo )?apt-get install -y postgresql\``));
  });

  it('startPostgres honours PLANTSYNC_POSTGRES_BIN', async () => {
    process.env.PLANTSYNC_POSTGRES_BIN = empty;
    const err = await rejectsWithin(() => startPostgres(), 1000);
    assertOneLine(err, new RegExp(`in ${empty}\\): run \`(sudo )?apt-get install -y postgresql\``));
  });
});
