#!/usr/bin/env node
// Installs the packed tarball next to a fresh Node-RED of the given major, as a user would
// (`npm install` into the user directory), starts it on loopback, and checks through the Admin API
// that every node type package.json declares is loaded without errors.
//   node .ci/pack-smoke.js <node-red-major>
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const major = process.argv[2] || '4';
const repo = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
const expected = Object.keys(pkg['node-red'].nodes).sort();

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Deploys a small guarded flow (HTTP in -> idempotency -> settle -> HTTP response) and posts the
 * same event twice: "new" then "duplicate" proves the native SQLite store works in this install.
 */
async function guardWorks(port) {
  const base = `http://127.0.0.1:${port}`;
  const at = { z: 't', x: 100, y: 100 };
  const answer = (id, text) => ({ id, type: 'change', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: text, tot: 'str' }], wires: [['res']], ...at });
  const flow = [
    { id: 't', type: 'tab', label: 'smoke' },
    { id: 'st', type: 'plantsync-store', kind: 'sqlite', file: 'smoke.db', retentionDays: 7 },
    { id: 'in', type: 'http in', url: '/smoke', method: 'post', wires: [['guard']], ...at },
    { id: 'guard', type: 'plantsync-idempotency', store: 'st', keyType: 'auto', leaseSeconds: 60, wires: [['done'], ['dup'], ['dup']], ...at },
    { id: 'done', type: 'plantsync-idempotency-complete', action: 'complete', result: 'payload', resultType: 'msg', wires: [['new']], ...at },
    answer('new', 'new'),
    answer('dup', 'duplicate'),
    { id: 'res', type: 'http response', wires: [], ...at },
  ];
  const deploy = await fetch(`${base}/flows`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(flow) });
  if (deploy.status >= 300) throw new Error(`deploy answered ${deploy.status}: ${await deploy.text()}`);
  const event = { specversion: '1.0', id: 'smoke-1', source: '/plants/P100/smoke', type: 'mfg.operation.completed.v2', idempotencykey: 'smoke:1', data: { n: 1 } };
  const answers = [];
  for (let i = 0; i < 2; i++) {
    let res;
    for (let t = 0; t < 50; t++) {
      res = await fetch(`${base}/smoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...event, id: `smoke-${i}` }) });
      if (res.status !== 404) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    answers.push(await res.text());
  }
  if (answers.join(',') !== 'new,duplicate') throw new Error(`guard answered ${answers.join(', ')}, expected new, duplicate`);
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-pack-'));
  let child;
  try {
    execFileSync('npm', ['pack', '--pack-destination', dir], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
    const tarball = fs.readdirSync(dir).find((f) => f.endsWith('.tgz'));
    const userDir = path.join(dir, 'user');
    fs.mkdirSync(userDir);
    // npm 11 runs dependencies' install scripts only when approved: better-sqlite3 builds its
    // native binding in one (README: "Add PlantSync to an existing Node-RED").
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true, allowScripts: { 'better-sqlite3': true } }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', `node-red@${major}`, path.join(dir, tarball)], { cwd: userDir, stdio: ['ignore', 'ignore', 'inherit'] });
    const port = await freePort();
    const settings = path.join(dir, 'settings.js');
    fs.writeFileSync(settings, `module.exports = { uiHost: '127.0.0.1', uiPort: ${port}, userDir: ${JSON.stringify(userDir)}, flowFile: 'flows.json', logging: { console: { level: 'info' } } };\n`);
    const red = path.join(userDir, 'node_modules', 'node-red', 'red.js');
    let out = '';
    child = spawn(process.execPath, [red, '--settings', settings], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const deadline = Date.now() + 60000;
    while (!/Started flows/.test(out)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`Node-RED did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const sets = await (await fetch(`http://127.0.0.1:${port}/nodes`, { headers: { accept: 'application/json' } })).json();
    const ours = sets.filter((s) => s.module === pkg.name);
    const types = ours.flatMap((s) => s.types).sort();
    const broken = ours.filter((s) => s.err || !s.enabled).map((s) => `${s.id}: ${s.err}`);
    const version = JSON.parse(fs.readFileSync(path.join(userDir, 'node_modules', 'node-red', 'package.json'), 'utf8')).version;
    if (JSON.stringify(types) !== JSON.stringify(expected) || broken.length > 0) {
      throw new Error(`expected ${expected.join(', ')} loaded; got ${types.join(', ')}; errors: ${broken.join('; ')}\n${out}`);
    }
    await guardWorks(port);
    if (/\[error\]/.test(out)) throw new Error(`errors in the Node-RED log:\n${out}`);
    console.log(`pack smoke: ${tarball} on Node-RED ${version} (Node ${process.version}): ${types.join(', ')} loaded; guarded flow answered new, duplicate`);
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`pack smoke failed: ${err.message}`);
  process.exit(1);
});
