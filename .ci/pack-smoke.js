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

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-pack-'));
  let child;
  try {
    execFileSync('npm', ['pack', '--pack-destination', dir], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
    const tarball = fs.readdirSync(dir).find((f) => f.endsWith('.tgz'));
    const userDir = path.join(dir, 'user');
    fs.mkdirSync(userDir);
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true }));
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
    if (/\[error\]/.test(out)) throw new Error(`errors in the Node-RED log:\n${out}`);
    console.log(`pack smoke: ${tarball} on Node-RED ${version} (Node ${process.version}): ${types.join(', ')} loaded`);
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
