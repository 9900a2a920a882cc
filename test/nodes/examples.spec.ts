import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { helper, nextMessage, withPlantServer } from '../helpers/node-helper';
import { REPO_ROOT } from '../helpers/paths';
import eventNode from '../../nodes/plantsync-event/plantsync-event';
import validateNode from '../../nodes/plantsync-validate/plantsync-validate';
import storeNode from '../../nodes/plantsync-store/plantsync-store';
import idempotencyNode from '../../nodes/plantsync-idempotency/plantsync-idempotency';
import completeNode from '../../nodes/plantsync-idempotency-complete/plantsync-idempotency-complete';
import deadLetterNode from '../../nodes/plantsync-dead-letter/plantsync-dead-letter';
import endpointNode from '../../nodes/plantsync-endpoint/plantsync-endpoint';
import requestNode from '../../nodes/plantsync-request/plantsync-request';
import { startSapSimulator } from '../../sim/sap-erp';
import { startNodeRed } from '../helpers/node-red-process';
import WebSocket from 'ws';

interface FlowNode {
  id: string;
  type: string;
  payload?: string;
  wires?: string[][];
  [k: string]: unknown;
}

/**
 * Loads an example flow as shipped, with its debug nodes swapped for helper nodes so the test can
 * read what they would show; an inject is simulated by sending its payload to what it is wired to.
 */
async function loadExample(file: string): Promise<{ inject: (name: string) => void; flow: FlowNode[] }> {
  const flow = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'examples', file), 'utf8')) as FlowNode[];
  const runnable = flow.filter((n) => n.type !== 'inject').map((n) => (n.type === 'debug' ? { id: n.id, z: n.z, x: n.x, y: n.y, type: 'helper' } : n));
  await helper.load([eventNode, validateNode], runnable);
  return {
    flow,
    inject: (name: string) => {
      const node = flow.find((n) => n.type === 'inject' && n.name === name);
      if (!node) throw new Error(`no inject named ${name}`);
      for (const target of node.wires![0]) helper.getNode(target).receive({ payload: JSON.parse(node.payload as string) });
    },
  };
}


const EXAMPLES_DIR = path.join(REPO_ROOT, 'examples');
/** Every example file, whoever wrote it: the checks below hold for any file in the folder. */
const exampleFiles = () => fs.readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.json')).sort();
const readExample = (file: string) => JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')) as FlowNode[];

/** From each PlantSync node's editor file: its category and which properties name a config node. */
function paletteDefinitions(): Map<string, { config: boolean; refs: Array<[string, string]> }> {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
  const out = new Map<string, { config: boolean; refs: Array<[string, string]> }>();
  for (const type of Object.keys(pkg['node-red'].nodes)) {
    const html = fs.readFileSync(path.join(REPO_ROOT, 'nodes', type, `${type}.html`), 'utf8');
    const refs = [...html.matchAll(/(\w+):\s*\{\s*value:[^}]*\btype:\s*'([\w-]+)'/g)].map((m): [string, string] => [m[1], m[2]]);
    out.set(type, { config: /category:\s*'config'/.test(html), refs });
  }
  return out;
}

/** Config nodes carry no wires and no x/y; everything else sits on a tab. */
const isConfig = (n: FlowNode) => n.type !== 'tab' && n.x === undefined && n.wires === undefined;

/** A generous estimate of a node's width on the canvas: Node-RED sizes it to its label (min 100). */
function labelOf(n: FlowNode): string {
  if (typeof n.name === 'string' && n.name) return n.name;
  if (n.type === 'debug') return n.complete === 'true' ? 'msg' : `msg.${String(n.complete ?? 'payload')}`;
  return n.type;
}
const widthOf = (n: FlowNode) => Math.max(100, labelOf(n).length * 8 + 50);

describe('example files: structure (every file in examples/)', () => {
  const defs = paletteDefinitions();

  it('has example files, each a flow array with at least one tab', () => {
    assert.ok(exampleFiles().length >= 6, `found ${exampleFiles().join(', ')}`);
    for (const file of exampleFiles()) {
      const flow = readExample(file);
      assert.ok(Array.isArray(flow), file);
      assert.ok(flow.some((n) => n.type === 'tab'), `${file} has a tab`);
    }
  });

  for (const file of exampleFiles()) {
    describe(file, () => {
      const flow = readExample(file);
      const tabs = new Set(flow.filter((n) => n.type === 'tab').map((n) => n.id));
      const byId = new Map(flow.map((n) => [n.id, n]));

      it('every node of the flow carries the id of a tab of this file; config nodes are global or on one of its tabs', () => {
        for (const n of flow) {
          if (n.type === 'tab') continue;
          if (isConfig(n)) assert.ok(n.z === undefined || tabs.has(n.z as string), `config ${n.id} on an unknown tab ${String(n.z)}`);
          else assert.ok(tabs.has(n.z as string), `${n.id} (${n.type}) has z ${String(n.z)}, not a tab of ${file}`);
        }
        assert.equal(byId.size, flow.length, 'node ids are unique');
      });

      it('every wire and every Catch / Status / Complete scope names a node of the same tab', () => {
        for (const n of flow) {
          for (const target of (n.wires ?? []).flat()) {
            const t = byId.get(target);
            assert.ok(t, `${n.id} is wired to missing ${target}`);
            assert.equal(t.z, n.z, `${n.id} -> ${target} crosses tabs`);
          }
          if (Array.isArray(n.scope)) {
            for (const target of n.scope as string[]) assert.equal(byId.get(target)?.z, n.z, `${n.id} scope names ${target}, not on its tab`);
          }
        }
      });

      it('every config-node reference resolves to a config node of the right type in this file', () => {
        for (const n of flow) {
          for (const [prop, type] of defs.get(n.type)?.refs ?? []) {
            const ref = n[prop];
            if (ref === '' || ref === undefined) continue;
            const target = byId.get(ref as string);
            assert.ok(target && isConfig(target) && target.type === type, `${n.id}.${prop} = ${String(ref)} does not resolve to a ${type}`);
          }
        }
      });

      it('nodes do not overlap on the canvas (labels sized generously)', () => {
        const placed = flow.filter((n) => !isConfig(n) && n.type !== 'tab');
        for (const a of placed) {
          for (const b of placed) {
            if (a.id >= b.id || a.z !== b.z) continue;
            const dy = Math.abs((a.y as number) - (b.y as number));
            const gap = Math.abs((a.x as number) - (b.x as number)) - (widthOf(a) + widthOf(b)) / 2;
            assert.ok(dy >= 40 || gap >= 20, `${a.id} and ${b.id} overlap (gap ${gap} px at dy ${dy})`);
          }
        }
      });

      it("its tab info renders: names every inject, every environment variable the flow reads, and no raw angle brackets", () => {
        const info = flow.filter((n) => n.type === 'tab').map((n) => String(n.info ?? '')).join('\n');
        assert.ok(info.length > 0, 'the tab has an info text');
        // Markdown drops <userDir> as an HTML tag: angle brackets belong in code spans.
        const outsideCode = info.replace(/`[^`]*`/g, '');
        assert.doesNotMatch(outsideCode, /<[A-Za-z/]/, 'an angle bracket outside a code span is eaten by the renderer');
        for (const n of flow.filter((x) => x.type === 'inject')) assert.ok(info.includes(`'${String(n.name)}'`), `the info explains inject '${String(n.name)}'`);
        const envs = new Set<string>();
        for (const n of flow) {
          for (const [k, v] of Object.entries(n)) {
            if (typeof v !== 'string') continue;
            for (const m of v.matchAll(/\$\{(\w+)\}/g)) envs.add(m[1]);
            if (n[`${k}Type`] === 'env' && /^\w+$/.test(v)) envs.add(v);
          }
        }
        envs.delete('PLANT_ID'); // set by npm start (P100); the examples that say more about it still may
        for (const name of envs) assert.ok(info.includes(name), `the info says to set ${name}`);
      });
    });
  }

  it('no two examples share a node id, a config node, a store file or store name', () => {
    const seen = new Map<string, string>();
    const stores = new Map<string, string>();
    const names = new Map<string, string>();
    for (const file of exampleFiles()) {
      for (const n of readExample(file)) {
        assert.ok(!seen.has(n.id), `${n.id} is in ${seen.get(n.id)} and ${file}`);
        seen.set(n.id, file);
        if (n.type !== 'plantsync-store') continue;
        const where = n.kind === 'postgres' ? `postgres:${String(n.database)}` : path.resolve('/userDir/plantsync', String(n.file || 'plantsync.db'));
        assert.ok(!stores.has(where), `${file} and ${stores.get(where)} share the store ${where}`);
        stores.set(where, file);
        assert.ok(n.name && !names.has(n.name as string), `${file}: store name '${String(n.name)}' is missing or also in ${names.get(n.name as string)}`);
        names.set(n.name as string, file);
      }
    }
  });

  it("no inject of one example repeats another example's business keys (idempotency key, event id, order)", () => {
    const owner = new Map<string, string>();
    for (const file of exampleFiles()) {
      const keys = new Set<string>();
      for (const n of readExample(file).filter((x) => x.type === 'inject' && x.payloadType === 'json')) {
        const p = JSON.parse(String(n.payload)) as Record<string, unknown> & { data?: Record<string, unknown> };
        for (const k of [p.idempotencykey, p.id, p.orderId, p.data?.orderId]) if (typeof k === 'string') keys.add(k);
      }
      for (const k of keys) {
        assert.ok(!owner.has(k), `${file} repeats ${k} of ${owner.get(k)}`);
        owner.set(k, file);
      }
    }
  });

  it('every PlantSync node type that is not a config node appears in some example', () => {
    const used = new Set(exampleFiles().flatMap((f) => readExample(f).map((n) => n.type)));
    const missing = [...defs].filter(([type, d]) => !d.config && !used.has(type)).map(([type]) => type);
    assert.deepEqual(missing, []);
  });

  it('every example file is exercised by a behaviour test that names it', () => {
    const specs: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(dir, e.name));
        else if (e.name.endsWith('.spec.ts')) specs.push(fs.readFileSync(path.join(dir, e.name), 'utf8'));
      }
    };
    walk(path.join(REPO_ROOT, 'test'));
    for (const file of exampleFiles()) assert.ok(specs.some((s) => s.includes(`'${file}'`)), `no spec loads ${file}`);
  });
});

describe('example files: all of them deploy together into a fresh Node-RED (settings.js, real runtime)', function () {
  this.timeout(60000);

  /** What the editor's debug sidebar would show: the runtime's debug messages over its comms socket. */
  async function debugSidebar(url: string, token: string) {
    const seen: Array<{ id: string; msg: string }> = [];
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/comms`);
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('open', () => ws.send(JSON.stringify({ auth: token })));
      ws.on('message', (data: Buffer) => {
        const parsed = JSON.parse(data.toString()) as { auth?: string } | Array<{ topic: string; data: { id: string; msg: string } }>;
        if (!Array.isArray(parsed)) {
          if (parsed.auth !== 'ok') return reject(new Error(`comms auth: ${String(parsed.auth)}`));
          ws.send(JSON.stringify({ subscribe: 'debug' }));
          return resolve();
        }
        for (const m of parsed) if (m.topic === 'debug') seen.push({ id: m.data.id, msg: String(m.data.msg) });
      });
    });
    /** Resolves with the next message of debug node `id` after `from` messages, or fails after `ms`. */
    const next = async (id: string, from: number, ms = 10000): Promise<string> => {
      const deadline = Date.now() + ms;
      for (;;) {
        const hit = seen.slice(from).find((m) => m.id === id);
        if (hit) return hit.msg;
        if (Date.now() > deadline) throw new Error(`debug ${id} showed nothing within ${ms} ms; saw ${JSON.stringify(seen.slice(from))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    return { next, mark: () => seen.length, close: () => ws.close() };
  }

  it('starts every node of every example with no missing type and no error, and the injects show what the infos say, side by side', async () => {
    const sim = await startSapSimulator();
    const saved = process.env.ERP_URL;
    process.env.ERP_URL = sim.url;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-examples-'));
    const all = exampleFiles().flatMap(readExample);
    fs.writeFileSync(path.join(dir, 'flows.json'), JSON.stringify(all));
    let nr: Awaited<ReturnType<typeof startNodeRed>> | undefined;
    let sidebar: Awaited<ReturnType<typeof debugSidebar>> | undefined;
    try {
      nr = await startNodeRed(path.join(dir, 'flows.json'));
      const token = await nr.token();
      const auth = { authorization: `Bearer ${token}` };
      const running = (await (await fetch(`${nr.url}/flows`, { headers: auth })).json()) as FlowNode[];
      assert.deepEqual(running.map((n) => n.id).sort(), all.map((n) => n.id).sort());
      assert.doesNotMatch(nr.output(), /Waiting for missing types|\[error\]/);

      sidebar = await debugSidebar(nr.url, token);
      const { next, mark } = sidebar;
      const press = async (id: string) => assert.equal((await fetch(`${nr!.url}/inject/${id}`, { method: 'POST', headers: auth })).status, 200, `inject ${id}`);

      let at = mark();
      await press('ex1-in1');
      assert.match(await next('ex1-ok', at), /mfg\.operation\.completed\.v3/);

      // The guard example, then the local bus and SAP examples: none of them sees another's keys as duplicates.
      at = mark();
      await press('ex3-in');
      assert.match(await next('ex3-events', at), /mfg\.integration\.deadlettered\.v1/);
      at = mark();
      await press('ex3-replay');
      assert.match(await next('ex3-posted', at), /documentNumber/);
      at = mark();
      await press('ex3-in');
      assert.match(await next('ex3-dup', at), /"status":"duplicate"/);

      at = mark();
      await press('exl-in');
      assert.match(await next('exl-published', at), /5b0c6f2e/);
      assert.match(await next('exl-failed', at), /"settled":"failed"/);
      assert.match(await next('exl-posted', at), /documentNumber/);
      at = mark();
      await press('exl-in');
      assert.match(await next('exl-dupout', at), /"status":"duplicate"/);

      at = mark();
      await press('ex4-in');
      const posted = await next('ex4-posted', at);
      at = mark();
      await press('ex4-in');
      const dup = await next('ex4-dup', at);
      const doc = /"documentNumber":"(\w+)"/.exec(posted)?.[1];
      assert.ok(doc && dup.includes(doc), `the duplicate shows the first document (${posted} / ${dup})`);
      assert.doesNotMatch(nr.output(), /\[error\]/);
    } finally {
      sidebar?.close();
      if (saved === undefined) delete process.env.ERP_URL;
      else process.env.ERP_URL = saved;
      await nr?.stop();
      await sim.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

const debugNamed = (flow: FlowNode[], name: string) => helper.getNode(flow.find((n) => n.type === 'debug' && n.name === name)!.id);

describe('example flows behave as their descriptions say', () => {
  withPlantServer();

  it('wrap-and-validate: wraps, upcasts a v1 event, and lists the problems of a broken one', async () => {
    const { inject, flow } = await loadExample('wrap-and-validate.json');
    const ok = debugNamed(flow, 'valid (upcast) event');
    const bad = debugNamed(flow, 'problems with pointers');

    let got = nextMessage(ok);
    inject('operation 0010 confirmed');
    const wrapped = (await got).payload as { type: string; idempotencykey: string };
    assert.equal(wrapped.type, 'mfg.operation.completed.v3');
    assert.equal(wrapped.idempotencykey, 'mfg.operation.completed:P100:MES-CNF-4707', 'keyed by the MES confirmation id, not by the time');

    got = nextMessage(ok);
    inject('v1 event from an old MES');
    const upcast = await got;
    assert.deepEqual((upcast.plantsync as { validation: unknown }).validation, { type: 'mfg.operation.completed.v3', upcastFrom: 'mfg.operation.completed.v1' });

    const gotBad = nextMessage(bad);
    inject('broken v1 event');
    const error = (await gotBad).error as { details: { pointer: string }[] };
    const pointers = error.details.map((d) => d.pointer).sort();
    assert.deepEqual(pointers, ['/data/orderId', '/data/yield/uom', '/data/yield/value']);
  });

  it('invalid-events-to-catch: valid events pass; invalid and superseded ones reach the Catch node intact', async () => {
    const { inject, flow } = await loadExample('invalid-events-to-catch.json');
    const ok = debugNamed(flow, 'valid event');
    const dead = debugNamed(flow, 'dead letter: code, detail, original');

    const got = nextMessage(ok);
    inject('good confirmation');
    assert.equal(((await got).payload as { type: string }).type, 'mfg.operation.completed.v3');

    let caught = nextMessage(dead);
    inject('confirmation without order');
    let msg = await caught;
    assert.equal((msg.error as { code: string }).code, 'SCHEMA_INVALID');
    assert.ok(!('orderId' in (msg.payload as object)), 'the original payload is kept');

    caught = nextMessage(dead);
    inject('superseded v1 event');
    msg = await caught;
    assert.equal((msg.error as { code: string }).code, 'RETIRED_EVENT_VERSION');
    assert.equal((msg.payload as { type: string }).type, 'mfg.operation.completed.v1');
  });
});

describe('example flow: idempotency guard and dead letters', () => {
  let dir: string;
  before(() => helper.startServer());
  after(() => helper.stopServer());
  afterEach(async () => {
    await helper.unload();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('dead-letters the failed first posting, replays it once, and answers the redelivery as a duplicate', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-example-'));
    const file = 'guard-and-dead-letter.json';
    const flow = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'examples', file), 'utf8')) as FlowNode[]).map((n) =>
      n.type === 'plantsync-store' ? { ...n, file: path.join(dir, String(n.file)) } : n,
    );
    const runnable = flow.filter((n) => n.type !== 'inject').map((n) => (n.type === 'debug' ? { id: n.id, z: n.z, x: n.x, y: n.y, type: 'helper' } : n));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const functionNode = require('@node-red/nodes/core/function/10-function.js');
    await helper.load([storeNode, idempotencyNode, completeNode, deadLetterNode, functionNode], runnable);
    const inject = (name: string) => {
      const n = flow.find((x) => x.type === 'inject' && x.name === name)!;
      const msg: Record<string, unknown> = { payload: JSON.parse(n.payload as string) };
      if (n.topic) msg.topic = n.topic;
      helper.getNode(n.wires![0][0]).receive(msg);
    };
    const debug = (name: string) => helper.getNode(flow.find((n) => n.type === 'debug' && n.name === name)!.id);

    let event = nextMessage(debug('integration events'));
    inject('confirmation');
    assert.equal(((await event).payload as { type: string }).type, 'mfg.integration.deadlettered.v1');

    const posted = nextMessage(debug('posted'));
    event = nextMessage(debug('integration events'));
    inject('replay parked');
    assert.equal(((await event).payload as { type: string }).type, 'mfg.integration.replayed.v1');
    // The function node builds objects in its own VM context: compare as JSON.
    assert.equal(JSON.stringify((await posted).payload), '{"documentNumber":"4900000002"}');

    const dup = nextMessage(debug('duplicate: first result'));
    inject('confirmation');
    const info = (await dup).plantsync as { idempotency: { status: string; result: unknown } };
    assert.equal(info.idempotency.status, 'duplicate');
    assert.equal(JSON.stringify(info.idempotency.result), '{"documentNumber":"4900000002"}');
  });
});

describe('example flow: confirm an operation in SAP (against the SAP simulator)', function () {
  this.timeout(30000);
  let dir: string;
  let sim: Awaited<ReturnType<typeof startSapSimulator>> | undefined;
  const saved = process.env.ERP_URL;
  before(async () => {
    sim = await startSapSimulator();
    process.env.ERP_URL = sim.url;
    await helper.startServer();
  });
  // Each step runs even when the before hook failed half-way, so nothing cascades or hangs.
  after(async () => {
    await helper.stopServer().catch(() => undefined);
    await sim?.close();
    if (saved === undefined) delete process.env.ERP_URL;
    else process.env.ERP_URL = saved;
  });
  afterEach(async () => {
    await helper.unload();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function load() {
    // Each test starts from the simulator's seed data: no postings, no repeat caches, no faults.
    assert.equal((await fetch(`${sim!.url}/__sim/reset`, { method: 'POST' })).status, 200);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-example-'));
    const flow = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'examples', 'confirm-operation-in-sap.json'), 'utf8')) as FlowNode[]).map((n) =>
      n.type === 'plantsync-store' ? { ...n, file: path.join(dir, String(n.file)) } : n,
    );
    const runnable = flow.filter((n) => n.type !== 'inject').map((n) => (n.type === 'debug' ? { id: n.id, z: n.z, x: n.x, y: n.y, type: 'helper' } : n));
    await helper.load([storeNode, idempotencyNode, completeNode, deadLetterNode, endpointNode, requestNode], runnable);
    const press = (name = 'confirmation') => {
      const inject = flow.find((n) => n.type === 'inject' && n.name === name)!;
      const msg: Record<string, unknown> = { payload: JSON.parse(inject.payload as string) };
      if (inject.topic) msg.topic = inject.topic;
      helper.getNode(inject.wires![0][0]).receive(msg);
    };
    const debug = (name: string) => helper.getNode(flow.find((n) => n.type === 'debug' && n.name === name)!.id);
    return { press, debug };
  }

  it('posts the confirmation once: the second press is a duplicate with the first document', async () => {
    const { press, debug } = await load();
    const posted = nextMessage(debug('posted'));
    press();
    const doc = (await posted).payload as { documentNumber: string };
    assert.match(doc.documentNumber, /\d+/);

    const dup = nextMessage(debug('duplicate: first document'));
    press();
    const again = (await dup).plantsync as { idempotency: { result: { documentNumber: string } } };
    assert.equal(again.idempotency.result.documentNumber, doc.documentNumber);
    const postings = (await (await fetch(`${sim!.url}/__sim/postings`)).json()) as unknown[];
    assert.equal(postings.length, 1);
  });

  it("parks a confirmation SAP refuses, and 'replay parked' posts it once after the cause is fixed", async () => {
    const { press, debug } = await load();
    // One refusal of the confirmation POST (a 400 is permanent), as a misconfiguration would give.
    const plan = await fetch(`${sim!.url}/__sim/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ queue: [{ match: 'ProdnOrdConf2', status: 400 }] }) });
    assert.equal(plan.status, 200);
    let event = nextMessage(debug('integration events'), 10000);
    press();
    assert.equal(((await event).payload as { type: string }).type, 'mfg.integration.deadlettered.v1');

    const posted = nextMessage(debug('posted'), 10000);
    event = nextMessage(debug('integration events'), 10000);
    press('replay parked');
    assert.equal(((await event).payload as { type: string }).type, 'mfg.integration.replayed.v1');
    assert.match(((await posted).payload as { documentNumber: string }).documentNumber, /\d+/);
    const postings = (await (await fetch(`${sim!.url}/__sim/postings`)).json()) as unknown[];
    assert.equal(postings.length, 1);
  });
});
