#!/usr/bin/env node
// Runs every benchmark in dist/bench (or the ones named), one process each, and reports which
// fell below its goal. Exits 1 if any did, unless --report-only (CI records figures; machine
// noise on a shared runner must not decide whether a change lands).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const args = process.argv.slice(2);
const reportOnly = args.includes('--report-only');
const names = args.filter((a) => !a.startsWith('--'));
const all = ['validation', 'idempotency-sqlite', 'outbox', 'idempotency-postgres', 'idempotency-memory', 'request', 'amqp-publish', 'amqp-consume', 'node-publish', 'node-consume'];
const below = [];
for (const name of names.length ? names : all) {
  const file = path.join(__dirname, '..', 'dist', 'bench', `${name}.bench.js`);
  const run = spawnSync(process.execPath, ['--expose-gc', file], { stdio: 'inherit' });
  if (run.status !== 0) below.push(name);
}
if (below.length) {
  console.log(`== benchmarks below their goal (or failed): ${below.join(', ')}`);
  if (!reportOnly) process.exit(1);
} else {
  console.log('== every benchmark reached its goal');
}
