#!/usr/bin/env node
// Run by `npm test` before the build: makes sure the Debian packages the tests use are installed.
// The tests start private RabbitMQ and PostgreSQL servers on free loopback ports
// (test/helpers/rabbitmq.ts, postgres.ts) and drive Debian's chromium; they never use the
// packages' system services. As root, missing packages are installed with apt-get and their
// services kept from starting; otherwise the run stops at once with the command to run.
// Plain JS: it runs before the TypeScript build.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');

/** Debian package -> what the tests use it for. */
const NEEDED = {
  'rabbitmq-server': 'private RabbitMQ brokers',
  postgresql: 'private PostgreSQL clusters',
  chromium: 'the editor test in a headless browser',
};

/** Packages whose install enables a system service the tests do not want running. */
const SERVICES = {
  'rabbitmq-server': ['rabbitmq-server.service'],
  'erlang-base': ['epmd.socket', 'epmd.service'],
  'postgresql-common': ['postgresql.service'],
};

const POLICY = '/usr/sbin/policy-rc.d';
const POLICY_MARK = '# written by plantsync provision-test-services.js';

/** package -> installed version, for the given packages that dpkg reports installed. */
function installed(packages) {
  // Exits 1 when some package is unknown, still listing the others on stdout.
  const res = spawnSync('dpkg-query', ['-W', '-f=${Package}\\t${db:Status-Status}\\t${Version}\\n', ...packages], { encoding: 'utf8' });
  if (res.error) throw res.error;
  const found = new Map();
  for (const line of res.stdout.split('\n')) {
    const [name, status, version] = line.split('\t');
    if (status === 'installed') found.set(name, version);
  }
  return found;
}

/** Runs apt-get quietly: its output is shown only when it fails. */
function aptGet(args, env) {
  try {
    execFileSync('apt-get', args, { env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  } catch (err) {
    process.stderr.write(`${err.stdout ?? ''}${err.stderr ?? ''}`);
    throw new Error(`apt-get ${args[0]} exited with ${err.status ?? err.code}`, { cause: err });
  }
}

/** Installs `missing`, with a policy-rc.d denying every service start while apt runs. */
function install(missing) {
  const before = installed(Object.keys(SERVICES));
  // A policy left by an interrupted run of ours is removed; an administrator's is kept.
  if (fs.existsSync(POLICY) && fs.readFileSync(POLICY, 'utf8').includes(POLICY_MARK)) fs.rmSync(POLICY);
  const ownPolicy = !fs.existsSync(POLICY);
  if (ownPolicy) fs.writeFileSync(POLICY, `#!/bin/sh\n${POLICY_MARK}: no service starts while the test packages install\nexit 101\n`, { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    aptGet(['update', '-q'], env);
    aptGet(['install', '-y', '-q', '--no-install-recommends', ...missing], env);
  } finally {
    if (ownPolicy) fs.rmSync(POLICY, { force: true });
  }
  // Under systemd the packages also enabled their units for the next boot: disable what we installed.
  if (fs.existsSync('/run/systemd/system')) {
    const units = Object.keys(SERVICES).filter((p) => !before.has(p)).flatMap((p) => SERVICES[p]);
    // One call per unit: systemctl refuses the whole list when one unit file is absent.
    for (const unit of units) spawnSync('systemctl', ['disable', '--now', '--quiet', unit], { stdio: 'ignore' });
  }
}

function main() {
  const packages = Object.keys(NEEDED);
  let found;
  try {
    found = installed(packages);
  } catch {
    console.log(`provision: no dpkg-query (not Debian); the tests need ${packages.join(', ')} installed`);
    return 0;
  }
  const missing = packages.filter((p) => !found.has(p));
  if (missing.length === 0) {
    console.log(`provision: ${packages.map((p) => `${p} ${found.get(p)}`).join(', ')}`);
    return 0;
  }
  const why = missing.map((p) => `${p} (${NEEDED[p]})`).join(', ');
  if (process.getuid() !== 0) {
    console.error(`provision: the tests need ${why}; install with \`sudo apt-get install -y ${missing.join(' ')}\` or run npm test as root`);
    return 1;
  }
  console.log(`provision: installing ${why} with apt-get; their system services stay stopped`);
  try {
    install(missing);
  } catch (err) {
    console.error(`provision: installing ${missing.join(' ')} failed: ${err.message}`);
    return 1;
  }
  const now = installed(missing);
  const still = missing.filter((p) => !now.has(p));
  if (still.length > 0) {
    console.error(`provision: apt-get did not install ${still.join(' ')}`);
    return 1;
  }
  return 0;
}

process.exitCode = main();
