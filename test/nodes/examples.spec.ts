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

const debugNamed = (flow: FlowNode[], name: string) => helper.getNode(flow.find((n) => n.type === 'debug' && n.name === name)!.id);

describe('example flows behave as their descriptions say', () => {
  withPlantServer();

  it('wrap-and-validate: wraps, upcasts a v1 event, and lists the problems of a broken one', async () => {
    const { inject, flow } = await loadExample('wrap-and-validate.json');
    const ok = debugNamed(flow, 'valid (upcast) event');
    const bad = debugNamed(flow, 'problems with pointers');

    let got = nextMessage(ok);
    inject('operation 0010 confirmed');
    assert.equal(((await got).payload as { type: string }).type, 'mfg.operation.completed.v2');

    got = nextMessage(ok);
    inject('v1 event from an old MES');
    const upcast = await got;
    assert.deepEqual((upcast.plantsync as { validation: unknown }).validation, { type: 'mfg.operation.completed.v2', upcastFrom: 'mfg.operation.completed.v1' });

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
    assert.equal(((await got).payload as { type: string }).type, 'mfg.operation.completed.v2');

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
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('dead-letters the failed first posting, replays it once, and answers the redelivery as a duplicate', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-example-'));
    const file = 'guard-and-dead-letter.json';
    const flow = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'examples', file), 'utf8')) as FlowNode[]).map((n) =>
      n.type === 'plantsync-store' ? { ...n, file: path.join(dir, 'plantsync.db') } : n,
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
  let sim: Awaited<ReturnType<typeof startSapSimulator>>;
  const saved = process.env.ERP_URL;
  before(async () => {
    sim = await startSapSimulator();
    process.env.ERP_URL = sim.url;
    await helper.startServer();
  });
  after(async () => {
    await helper.stopServer();
    await sim.close();
    if (saved === undefined) delete process.env.ERP_URL;
    else process.env.ERP_URL = saved;
  });
  afterEach(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('posts the confirmation once: the second press is a duplicate with the first document', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-example-'));
    const flow = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'examples', 'confirm-operation-in-sap.json'), 'utf8')) as FlowNode[]).map((n) =>
      n.type === 'plantsync-store' ? { ...n, file: path.join(dir, 'plantsync.db') } : n,
    );
    const runnable = flow.filter((n) => n.type !== 'inject').map((n) => (n.type === 'debug' ? { id: n.id, z: n.z, x: n.x, y: n.y, type: 'helper' } : n));
    await helper.load([storeNode, idempotencyNode, completeNode, deadLetterNode, endpointNode, requestNode], runnable);
    const inject = flow.find((n) => n.type === 'inject' && n.name === 'confirmation')!;
    const press = () => helper.getNode(inject.wires![0][0]).receive({ payload: JSON.parse(inject.payload as string) });
    const debug = (name: string) => helper.getNode(flow.find((n) => n.type === 'debug' && n.name === name)!.id);

    const posted = nextMessage(debug('posted'));
    press();
    const doc = (await posted).payload as { documentNumber: string };
    assert.match(doc.documentNumber, /\d+/);

    const dup = nextMessage(debug('duplicate: first document'));
    press();
    const again = (await dup).plantsync as { idempotency: { result: { documentNumber: string } } };
    assert.equal(again.idempotency.result.documentNumber, doc.documentNumber);
    const postings = (await (await fetch(`${sim.url}/__sim/postings`)).json()) as unknown[];
    assert.equal(postings.length, 1);
  });
});
