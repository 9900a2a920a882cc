import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../helpers/paths';

const SCRIPT = path.join(REPO_ROOT, 'bin', 'provision-test-services.js');
const POLICY = '/usr/sbin/policy-rc.d';
const isRoot = process.getuid?.() === 0;
const onPath = (name: string) => (process.env.PATH ?? '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, name)));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Lines the fake apt-get and systemctl wrote: one per call. */
  calls: string[];
}

/**
 * A folder of fakes that go first on the PATH: apt-get and systemctl record their calls (and, for
 * apt-get, DEBIAN_FRONTEND and what policy-rc.d answers to a service start) instead of acting;
 * with `hide`, dpkg-query is the real one minus those packages until the fake apt-get "installs" them.
 */
function makeFakes(hide: { removed?: string[]; notInstalled?: string[]; installWorks?: boolean; aptFails?: boolean } | undefined): string {
  // The non-root run must be able to enter it: a private TMPDIR will not do.
  const base = fs.statSync(os.tmpdir()).mode & 0o001 ? os.tmpdir() : '/tmp';
  const dir = fs.mkdtempSync(path.join(base, 'plantsync-provision-'));
  fs.chmodSync(dir, 0o777); // the non-root run writes its call log here too
  const log = path.join(dir, 'calls.log');
  const write = (name: string, body: string) => fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  write('systemctl', `echo "systemctl $*" >> '${log}'`);
  write(
    'apt-get',
    `p=none; [ -x ${POLICY} ] && { ${POLICY} rabbitmq-server start; p=$?; }\n` +
      `echo "apt-get $* DEBIAN_FRONTEND=$DEBIAN_FRONTEND policy=$p" >> '${log}'\n` +
      'echo "Reading package lists..."\n' +
      (hide?.aptFails ? 'echo "E: Unable to locate package" >&2; exit 100\n' : '') +
      (hide?.installWorks ? `[ "$1" = install ] && touch '${dir}/installed'\n` : '') +
      'exit 0',
  );
  if (hide) {
    const filters = [
      ...(hide.removed ?? []).map((p) => `| grep -v '^${p}\t'`),
      ...(hide.notInstalled ?? []).map((p) => `| sed 's/^${p}\tinstalled/${p}\tnot-installed/'`),
    ].join(' ');
    const real = spawnSync('sh', ['-c', 'command -v dpkg-query'], { encoding: 'utf8' }).stdout.trim();
    write('dpkg-query', `if [ -e '${dir}/installed' ]; then exec ${real} "$@"; fi\n${real} "$@" ${filters}\nexit 1`);
  }
  return dir;
}

/** Runs the script with the fakes first on the PATH, as `user` (via runuser) or as ourselves. */
function provision(fakes: string, user?: string): Run {
  let script = SCRIPT;
  if (user) {
    // The checkout or Node may sit in a folder only root can enter (the CI's temp copy, ~/.cache).
    script = path.join(fakes, 'provision-test-services.js');
    fs.copyFileSync(SCRIPT, script);
  }
  const node = user ? [process.execPath, '/usr/bin/node'].find((n) => spawnSync('runuser', ['-u', user, '--', n, '-e', '0']).status === 0) : process.execPath;
  if (!node) throw new Error(`no node that ${user} can run`);
  const argv = ['env', `PATH=${fakes}${path.delimiter}${process.env.PATH}`, node, script];
  const began = Date.now();
  const res = user ? spawnSync('runuser', ['-u', user, '--', ...argv], { encoding: 'utf8' }) : spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  const ms = Date.now() - began;
  const log = path.join(fakes, 'calls.log');
  const calls = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  return { status: res.status, stdout: res.stdout, stderr: res.stderr, ms, calls };
}

/**
 * Runs the script as root in a private mount namespace whose /usr/sbin is an empty folder, holding
 * `policy` as policy-rc.d if given: the machine's own policy-rc.d is neither seen nor touched.
 * Logs `left: <policy-rc.d>` (or `left: none`) after the script ends; undefined without `unshare -m`.
 */
function provisionInNamespace(fakes: string, policy?: string): Run | undefined {
  if (spawnSync('unshare', ['-m', 'true']).status !== 0) return undefined;
  const sbin = path.join(fakes, 'sbin');
  fs.mkdirSync(sbin);
  if (policy !== undefined) fs.writeFileSync(path.join(sbin, 'policy-rc.d'), policy, { mode: 0o755 });
  const log = path.join(fakes, 'calls.log');
  const script =
    `mount --bind '${sbin}' /usr/sbin || exit 99
` +
    `env PATH='${fakes}${path.delimiter}${process.env.PATH}' '${process.execPath}' '${SCRIPT}'; rc=$?
` +
    `if [ -e ${POLICY} ]; then echo "left: $(cat ${POLICY} | tr '\n' ' ')" >> '${log}'; else echo 'left: none' >> '${log}'; fi
` +
    'exit $rc';
  const res = spawnSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8' });
  const calls = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  return { status: res.status, stdout: res.stdout, stderr: res.stderr, ms: 0, calls };
}

const lines = (text: string) => text.split('\n').filter(Boolean);

describe('npm test provisions its Debian packages (bin/provision-test-services.js)', function () {
  this.timeout(30000);
  const made: string[] = [];
  const fakes = (hide?: Parameters<typeof makeFakes>[0]) => {
    const dir = makeFakes(hide);
    made.push(dir);
    return dir;
  };

  before(function () {
    if (!onPath('dpkg-query')) this.skip(); // not Debian: the script only says so
  });
  after(() => {
    for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('with everything installed (this machine) does nothing: no apt-get, no systemctl, one short line, well under a second', () => {
    const run = provision(fakes());
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.calls, []);
    assert.equal(run.stderr, '');
    assert.equal(lines(run.stdout).length, 1);
    assert.match(run.stdout, /^provision: rabbitmq-server \S+, postgresql \S+, chromium \S+\n$/);
    assert.ok(run.ms < 1000, `took ${run.ms} ms`);
  });

  it('not root with packages missing: stops at once with one line naming the exact apt-get command, exit 1', () => {
    const dir = fakes({ removed: ['chromium'], notInstalled: ['rabbitmq-server'] });
    const run = provision(dir, isRoot ? 'nobody' : undefined);
    assert.equal(run.status, 1);
    assert.equal(run.stdout, '');
    assert.equal(lines(run.stderr).length, 1, run.stderr);
    assert.match(run.stderr, /^provision: the tests need rabbitmq-server \(.+\), chromium \(.+\); install with `sudo apt-get install -y rabbitmq-server chromium` or run npm test as root\n$/);
    assert.deepEqual(run.calls, []);
    assert.ok(run.ms < 2000, `took ${run.ms} ms`);
  });

  describe('as root with a package missing', function () {
    let policyBefore: string | undefined;
    before(function () {
      if (!isRoot) this.skip();
      policyBefore = fs.existsSync(POLICY) ? fs.readFileSync(POLICY, 'utf8') : undefined;
    });
    afterEach(() => {
      // As found: the script must leave an administrator's policy alone and remove its own.
      assert.equal(fs.existsSync(POLICY) ? fs.readFileSync(POLICY, 'utf8') : undefined, policyBefore);
    });

    it('installs it: one line saying what and why, apt-get update then install --no-install-recommends, noninteractive, service starts denied meanwhile', () => {
      const run = provision(fakes({ removed: ['chromium'], installWorks: true }));
      assert.equal(run.status, 0, run.stderr);
      assert.equal(lines(run.stdout).length, 1, run.stdout);
      assert.match(run.stdout, /^provision: installing chromium \(the editor test in a headless browser\) with apt-get; their system services stay stopped\n$/);
      assert.deepEqual(run.calls, [
        'apt-get update -q DEBIAN_FRONTEND=noninteractive policy=101',
        'apt-get install -y -q --no-install-recommends chromium DEBIAN_FRONTEND=noninteractive policy=101',
      ]);
    });

    it('with no policy-rc.d on the machine: writes one denying every service start while apt-get runs, then removes it', function () {
      const run = provisionInNamespace(fakes({ removed: ['chromium'], installWorks: true }));
      if (!run) this.skip(); // no private mount namespace here: the machine's policy-rc.d stays as found (afterEach)
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(run.calls, [
        'apt-get update -q DEBIAN_FRONTEND=noninteractive policy=101',
        'apt-get install -y -q --no-install-recommends chromium DEBIAN_FRONTEND=noninteractive policy=101',
        'left: none',
      ]);
    });

    it('replaces a policy-rc.d left by an interrupted run of its own, and keeps an administrator\'s', function () {
      const leftover = '#!/bin/sh\n# written by plantsync provision-test-services.js: interrupted\nexit 0\n';
      const run = provisionInNamespace(fakes({ removed: ['chromium'], installWorks: true }), leftover);
      if (!run) this.skip();
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(run.calls.map((c) => c.replace(/^apt-get (\w+).* policy=/, '$1 policy=')), ['update policy=101', 'install policy=101', 'left: none']);

      const admin = '#!/bin/sh\nexit 0\n';
      const kept = provisionInNamespace(fakes({ removed: ['chromium'], installWorks: true }), admin);
      assert.ok(kept);
      assert.equal(kept.status, 0, kept.stderr);
      assert.deepEqual(kept.calls.map((c) => c.replace(/^apt-get (\w+).* policy=/, '$1 policy=')), ['update policy=0', 'install policy=0', 'left: #!/bin/sh exit 0 ']);
    });

    it('fails when apt-get fails, showing apt-get\'s output and then one line', () => {
      const run = provision(fakes({ removed: ['chromium'], aptFails: true }));
      assert.equal(run.status, 1);
      assert.deepEqual(lines(run.stderr), ['Reading package lists...', 'E: Unable to locate package', 'provision: installing chromium failed: apt-get update exited with 100']);
      assert.equal(run.calls.length, 1);
    });

    it('fails with one line when apt-get did not install it', () => {
      const run = provision(fakes({ notInstalled: ['postgresql'], installWorks: false }));
      assert.equal(run.status, 1);
      assert.equal(lines(run.stderr).length, 1, run.stderr);
      assert.match(run.stderr, /^provision: apt-get did not install postgresql\n$/);
      assert.equal(run.calls.length, 2);
    });
  });
});
