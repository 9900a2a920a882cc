import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, type RunningNodeRed } from '../helpers/node-red-process';
import { REPO_ROOT } from '../helpers/paths';

const STARTER = path.join(REPO_ROOT, 'flows', 'starter.json');
/** Node-RED modules among the devDependencies, which `npm start` must not load into its palette. */
const DEV_PALETTE_MODULES = ['node-red-contrib-opcua', 'node-red-dashboard'];

/**
 * Starts Node-RED exactly as `npm start` does after its build: settings.js with no flow file
 * named (PLANTSYNC_FLOW_FILE unset, unlike the shared helper), a fresh user directory, loopback.
 */
async function startAsNpmStart(timeoutMs = 30000): Promise<RunningNodeRed> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-npm-start-'));
  const port = await freePort();
  const password = `pw-${process.pid}-${Date.now()}`;
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), PLANTSYNC_HOST: '127.0.0.1', PLANTSYNC_USER_DIR: userDir, PLANTSYNC_ADMIN_PASSWORD: password };
  for (const name of ['PLANTSYNC_FLOW_FILE', 'PLANTSYNC_PALETTE_MODULES', 'PLANTSYNC_AMQP_URL']) delete env[name];
  const child = spawn(process.execPath, [require.resolve('node-red/red.js'), '--settings', path.join(REPO_ROOT, 'settings.js')], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(killer);
    }
    fs.rmSync(userDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  while (!/Started flows/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`Node-RED did not start (exit ${child.exitCode}):\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    userDir,
    password,
    pid: child.pid,
    output: () => out,
    token: async () => {
      const res = await fetch(`${url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password }),
      });
      if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
      return ((await res.json()) as { access_token: string }).access_token;
    },
    stop,
  };
}

interface NodeSet {
  id: string;
  module: string;
  types: string[];
  enabled: boolean;
  err?: string;
}

describe('npm start: the real Node-RED runtime with settings.js', function () {
  this.timeout(60000);
  let nr: RunningNodeRed;
  let auth: Record<string, string>;
  let starterBefore: Buffer;

  before(async () => {
    starterBefore = fs.readFileSync(STARTER);
    nr = await startAsNpmStart();
    auth = { authorization: `Bearer ${await nr.token()}` };
  });
  after(() => nr?.stop());

  async function deploy(flow: unknown[]): Promise<void> {
    const res = await fetch(`${nr.url}/flows`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify(flow),
    });
    assert.ok([200, 204].includes(res.status), `deploy answered ${res.status}`);
  }

  /** POSTs JSON until the answer is not `retryWhile` (the routes of a fresh deploy appear shortly after it). */
  async function postUntilReady(route: string, body: unknown, retryWhile: (status: number) => boolean): Promise<Response> {
    let res: Response | undefined;
    for (let i = 0; i < 50; i++) {
      res = await fetch(`${nr.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!retryWhile(res.status)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return res!;
  }

  it('works on <userDir>/flows.json, seeded from flows/starter.json on the first start', async () => {
    const working = path.join(nr.userDir, 'flows.json');
    assert.deepEqual(fs.readFileSync(working), starterBefore, 'the seed is a copy of the starter');
    const res = await fetch(`${nr.url}/flows`, { headers: auth });
    const running = (await res.json()) as Array<{ id: string }>;
    const starterIds = (JSON.parse(starterBefore.toString()) as Array<{ id: string }>).map((n) => n.id).sort();
    assert.deepEqual(running.map((n) => n.id).sort(), starterIds, 'the runtime runs the starter flow');
  });

  it('does not load the devDependency palette modules (OPC UA, dashboard) and logs nothing from them', async () => {
    const sets = (await (await fetch(`${nr.url}/nodes`, { headers: { ...auth, accept: 'application/json' } })).json()) as NodeSet[];
    const modules = new Set(sets.map((s) => s.module));
    assert.ok(modules.has('node-red') && modules.has('node-red-contrib-plantsync'), `modules listed: ${[...modules].join(', ')}`);
    for (const name of DEV_PALETTE_MODULES) {
      assert.ok(fs.existsSync(path.join(REPO_ROOT, 'node_modules', name, 'package.json')), `${name} is installed beside node-red, so the runtime would find it`);
      assert.ok(!modules.has(name), `${name} is not in the palette`);
    }
    // Loaded, they print a deprecation banner (node-opcua), NODE-OPCUA-W27 warnings and "Dashboard ... started".
    const fromThem = nr.output().split('\n').filter((line) => /opc-?ua|dashboard|crawler/i.test(line));
    assert.deepEqual(fromThem, [], 'no log line from them');
  });

  it('refuses the anonymous editor and Admin API', async () => {
    assert.equal((await fetch(`${nr.url}/nodes`, { headers: { accept: 'application/json' } })).status, 401);
    assert.equal((await fetch(`${nr.url}/flows`)).status, 401);
    assert.equal((await fetch(`${nr.url}/settings`)).status, 401);
    const login = (await (await fetch(`${nr.url}/auth/login`)).json()) as { type: string };
    assert.equal(login.type, 'credentials', 'the editor asks for a user name and password');
  });

  it('lists plantsync-event and plantsync-validate in GET /nodes, loaded without errors', async () => {
    const res = await fetch(`${nr.url}/nodes`, { headers: { ...auth, accept: 'application/json' } });
    assert.equal(res.status, 200);
    const sets = (await res.json()) as NodeSet[];
    const ours = sets.filter((s) => s.module === 'node-red-contrib-plantsync');
    const declared = Object.keys((JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { 'node-red': { nodes: object } })['node-red'].nodes).sort();
    assert.ok(declared.includes('plantsync-event') && declared.includes('plantsync-validate'));
    assert.deepEqual(ours.map((s) => s.types).flat().sort(), declared);
    for (const s of ours) {
      assert.equal(s.enabled, true, s.id);
      assert.equal(s.err, undefined, `${s.id}: ${s.err}`);
    }
  });

  it('serves the editor definitions, message catalogues and help for the palette', async () => {
    const html = await (await fetch(`${nr.url}/nodes`, { headers: { ...auth, accept: 'text/html' } })).text();
    assert.match(html, /RED\.nodes\.registerType\('plantsync-event'/);
    assert.match(html, /RED\.nodes\.registerType\('plantsync-validate'/);
    assert.match(html, /data-help-name="plantsync-validate"/);
    const labels = (await (await fetch(`${nr.url}/locales/node-red-contrib-plantsync/plantsync-event?lng=en-US`, { headers: auth })).json()) as Record<string, { label: Record<string, string> }>;
    assert.equal(labels['plantsync-event'].label.eventType, 'Event type');
    const icon = await fetch(`${nr.url}/icons/node-red-contrib-plantsync/plantsync-event.svg`, { headers: auth });
    assert.equal(icon.status, 200);
  });

  it('runs a deployed flow end to end: HTTP in -> event -> validate -> HTTP response', async () => {
    const flow = [
      { id: 't1', type: 'tab', label: 'e2e' },
      { id: 'in', z: 't1', type: 'http in', url: '/e2e/confirm', method: 'post', x: 100, y: 100, wires: [['ev']] },
      {
        id: 'ev', z: 't1', type: 'plantsync-event', eventType: 'mfg.operation.completed.v3', eventTypeType: 'catalogue', data: 'payload', dataType: 'msg',
        subjectType: 'auto', source: '/plants/${PLANT_ID}/mes', sourceType: 'env', siteid: 'PLANT_ID', siteidType: 'env', timeType: 'now',
        idempotencykeyType: 'auto', validate: true, x: 300, y: 100, wires: [['val']],
      },
      { id: 'val', z: 't1', type: 'plantsync-validate', property: 'payload', onInvalid: 'output', upcast: true, maxBytes: 262144, outputs: 2, x: 500, y: 100, wires: [['res'], ['res']] },
      { id: 'catch', z: 't1', type: 'catch', scope: null, uncaught: false, x: 300, y: 200, wires: [['err']] },
      { id: 'err', z: 't1', type: 'change', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: '_error', tot: 'msg' }, { t: 'set', p: 'statusCode', pt: 'msg', to: '422', tot: 'num' }], x: 500, y: 200, wires: [['res']] },
      { id: 'res', z: 't1', type: 'http response', x: 700, y: 100, wires: [] },
    ];
    await deploy(flow);

    const data = {
      confirmationId: 'CNF-1000123-0010', orderId: '1000123', operationId: '0010', workCenter: 'WC-ASSY1', site: 'P100', actualStart: '2026-11-26T06:00:00Z',
      actualEnd: '2026-11-26T07:30:00Z', yield: { value: 95, uom: 'EA' }, scrap: { value: 5, uom: 'EA' }, confirmationType: 'Final',
    };
    const res = await postUntilReady('/e2e/confirm', data, (status) => status === 404);
    assert.equal(res.status, 200);
    const event = (await res.json()) as Record<string, unknown>;
    assert.equal(event.type, 'mfg.operation.completed.v3');
    assert.equal(event.siteid, 'P100');
    assert.equal(event.source, '/plants/P100/mes');
    assert.deepEqual(event.data, data);

    const bad = await fetch(`${nr.url}/e2e/confirm`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...data, orderId: undefined }) });
    assert.equal(bad.status, 422);
    const detail = (await bad.json()) as { code: string; details: { pointer: string }[] };
    assert.equal(detail.code, 'SCHEMA_INVALID');
    assert.deepEqual(detail.details.map((d) => d.pointer).sort(), ['/data/orderId', '/subject'], 'the missing order number, and so no subject');
  });

  it('carries events from publish to consume on the embedded local bus with no broker configured', async () => {
    const flow = [
      { id: 't2', type: 'tab', label: 'bus' },
      { id: 'bin', z: 't2', type: 'http in', url: '/e2e/bus', method: 'post', x: 100, y: 100, wires: [['bev']] },
      {
        id: 'bev', z: 't2', type: 'plantsync-event', eventType: 'mfg.operation.completed.v3', eventTypeType: 'catalogue', data: 'payload', dataType: 'msg',
        subjectType: 'auto', source: '/plants/${PLANT_ID}/mes', sourceType: 'env', siteid: 'PLANT_ID', siteidType: 'env', timeType: 'now',
        idempotencykeyType: 'auto', validate: true, x: 300, y: 100, wires: [['bpub']],
      },
      { id: 'bpub', z: 't2', type: 'plantsync-publish', outbox: true, timeout: 10, x: 500, y: 100, wires: [['bres']] },
      { id: 'bcatch', z: 't2', type: 'catch', scope: ['bev', 'bpub'], uncaught: false, x: 300, y: 160, wires: [['berr']] },
      { id: 'berr', z: 't2', type: 'change', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'error', tot: 'msg' }, { t: 'set', p: 'statusCode', pt: 'msg', to: '500', tot: 'num' }], x: 500, y: 160, wires: [['bres']] },
      { id: 'bres', z: 't2', type: 'http response', x: 700, y: 100, wires: [] },
      { id: 'bcon', z: 't2', type: 'plantsync-consume', group: 'e2e', bindingKeys: 'mfg.operation.completed.*.P100', settleTimeout: 30, closeTimeout: 2, x: 100, y: 240, wires: [['brec'], []] },
      { id: 'brec', z: 't2', type: 'function', func: "const seen = global.get('seen') || [];\nseen.push({ key: msg.payload.idempotencykey, transport: msg.amqp.transport });\nglobal.set('seen', seen);\nreturn msg;", outputs: 1, x: 300, y: 240, wires: [['bok']] },
      { id: 'bok', z: 't2', type: 'plantsync-idempotency-complete', action: 'complete', x: 500, y: 240, wires: [[]] },
      { id: 'bseen', z: 't2', type: 'http in', url: '/e2e/seen', method: 'get', x: 100, y: 300, wires: [['bget']] },
      { id: 'bget', z: 't2', type: 'function', func: "msg.payload = global.get('seen') || [];\nreturn msg;", outputs: 1, x: 300, y: 300, wires: [['bres']] },
    ];
    await deploy(flow);

    const data = {
      confirmationId: 'CNF-1000124-0020', orderId: '1000124', operationId: '0020', workCenter: 'WC-ASSY1', site: 'P100', actualStart: '2026-11-26T06:00:00Z',
      actualEnd: '2026-11-26T07:30:00Z', yield: { value: 10, uom: 'EA' }, scrap: { value: 0, uom: 'EA' }, confirmationType: 'Final',
    };
    // 404 until the route exists; 500 (UNROUTABLE) until the consumer's group is bound.
    const res = await postUntilReady('/e2e/bus', data, (status) => status !== 200);
    const body = await res.text();
    assert.equal(res.status, 200, `publish answered ${res.status}: ${body}`);
    const published = JSON.parse(body) as { idempotencykey: string };
    assert.ok(fs.existsSync(path.join(nr.userDir, 'plantsync', 'bus.db')), 'the bus file lives in the user directory');

    let seen: Array<{ key: string; transport: string }> = [];
    for (let i = 0; i < 100 && seen.length === 0; i++) {
      seen = (await (await fetch(`${nr.url}/e2e/seen`)).json()) as typeof seen;
      if (seen.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(seen, [{ key: published.idempotencykey, transport: 'local' }]);
  });

  it('a deploy through the Admin API leaves flows/starter.json byte-identical and lands in <userDir>/flows.json', async () => {
    const working = path.join(nr.userDir, 'flows.json');
    await deploy([
      { id: 't3', type: 'tab', label: 'deployed' },
      { id: 'note', z: 't3', type: 'comment', name: 'changed in the editor', x: 200, y: 80, wires: [] },
    ]);
    let saved: Array<{ id: string }> = [];
    for (let i = 0; i < 100 && !saved.some((n) => n.id === 'note'); i++) {
      saved = JSON.parse(fs.readFileSync(working, 'utf8')) as Array<{ id: string }>;
      if (!saved.some((n) => n.id === 'note')) await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(saved.map((n) => n.id).sort(), ['note', 't3'], 'the working flow file holds the deployed flow');
    assert.deepEqual(fs.readFileSync(STARTER), starterBefore, 'the tracked starter flow is untouched');
  });

  it('started without errors in its log', () => {
    assert.doesNotMatch(nr.output(), /\[error\]/);
  });
});
