import * as assert from 'node:assert/strict';
import { collect, finished, helper, lastStatus, nextMessage } from '../helpers/node-helper';
import { waitFor } from '../helpers/wait';
import { loadEventFixture } from '../helpers/event-fixtures';
import plantsyncValidate from '../../nodes/plantsync-validate/plantsync-validate';
import { translating } from '../helpers/catalogue';

// Status counters are translated from the real catalogue, so the tests see the numbers.
const validateNode = translating([plantsyncValidate]).nodes;

const current = loadEventFixture('mfg.operation.completed.v3').valid[0];
const v1 = loadEventFixture('mfg.operation.completed.v1').valid[0];

function flow(config: Record<string, unknown> = {}) {
  const outputs = config.onInvalid === 'error' ? 1 : 2;
  return [
    { id: 'f1', type: 'tab' },
    { id: 'v', z: 'f1', x: 100, y: 100, type: 'plantsync-validate', property: 'payload', onInvalid: 'output', upcast: true, outputs, wires: outputs === 2 ? [['ok'], ['bad']] : [['ok']], ...config },
    { id: 'ok', z: 'f1', x: 100, y: 100, type: 'helper' },
    { id: 'bad', z: 'f1', x: 100, y: 100, type: 'helper' },
    { id: 'c', z: 'f1', x: 100, y: 100, type: 'catch', scope: ['v'], uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'f1', x: 100, y: 100, type: 'helper' },
  ];
}

describe('plantsync-validate node', () => {
  before(() => helper.startServer());
  after(() => helper.stopServer());
  afterEach(() => helper.unload());

  it('sends a valid event to the first output, marked with its type', async () => {
    await helper.load(validateNode, flow());
    const got = nextMessage(helper.getNode('ok'));
    helper.getNode('v').receive({ payload: current });
    const msg = await got;
    assert.deepEqual(msg.payload, current);
    assert.deepEqual(msg.plantsync, { validation: { type: 'mfg.operation.completed.v3' } });
  });

  it('upcasts an accepted v1 event and says so', async () => {
    await helper.load(validateNode, flow());
    const got = nextMessage(helper.getNode('ok'));
    helper.getNode('v').receive({ payload: v1 });
    const msg = await got;
    const event = msg.payload as Record<string, unknown>;
    assert.equal(event.type, 'mfg.operation.completed.v3');
    assert.equal((event.data as Record<string, unknown>).confirmationType, (v1.data as { final: boolean }).final ? 'Final' : 'Partial');
    assert.deepEqual(msg.plantsync, { validation: { type: 'mfg.operation.completed.v3', upcastFrom: 'mfg.operation.completed.v1' } });
  });

  it('parses a JSON string payload (as it comes off a broker)', async () => {
    await helper.load(validateNode, flow());
    const got = nextMessage(helper.getNode('ok'));
    helper.getNode('v').receive({ payload: JSON.stringify(current) });
    assert.deepEqual((await got).payload, current);
  });

  it('sends an invalid event to the second output with every problem and the original payload', async () => {
    await helper.load(validateNode, flow());
    const bad = structuredClone(current) as Record<string, unknown>;
    const data = bad.data as Record<string, unknown>;
    delete data.orderId;
    data.scrap = { value: -1, uom: 'EA' };
    const got = nextMessage(helper.getNode('bad'));
    helper.getNode('v').receive({ payload: bad });
    const msg = await got;
    assert.deepEqual(msg.payload, bad, 'payload untouched');
    const error = msg.error as { code: string; message: string; details: { pointer: string; keyword: string; message: string }[] };
    assert.equal(error.code, 'SCHEMA_INVALID');
    assert.deepEqual(error.details.map((d) => [d.pointer, d.keyword]).sort(), [['/data/orderId', 'required'], ['/data/scrap/value', 'minimum']]);
    assert.match(error.message, /2 problems/);
  });

  it('raises invalid events as node errors for Catch nodes when configured to', async () => {
    await helper.load(validateNode, flow({ onInvalid: 'error' }));
    const ok = collect(helper.getNode('ok'));
    const got = nextMessage(helper.getNode('caught'));
    const done = finished();
    helper.getNode('v').receive({ payload: '{"specversion":' });
    const msg = await got;
    const error = msg.error as { code: string; source: { id: string } };
    assert.equal(error.code, 'INVALID_JSON', 'Node-RED copies the code onto the Catch message');
    assert.equal(error.source.id, 'v');
    const detail = msg._error as { code: string; details: { pointer: string }[] };
    assert.equal(detail.code, 'INVALID_JSON');
    assert.equal(detail.details[0].pointer, '');
    assert.equal(msg.payload, '{"specversion":', 'the original input is kept for the dead letter');
    // The node finished its one message with the error; a send would have been delivered before
    // the Catch node's copy of that error (Node-RED delivers in order).
    assert.deepEqual(done('v'), { ok: 0, failed: 1 });
    assert.equal(ok.length, 0);
  });

  it('rejects superseded versions when told to, naming the current version', async () => {
    await helper.load(validateNode, flow({ rejectSuperseded: true }));
    const got = nextMessage(helper.getNode('bad'));
    helper.getNode('v').receive({ payload: v1 });
    const error = (await got).error as { code: string; details: { message: string }[] };
    assert.equal(error.code, 'RETIRED_EVENT_VERSION');
    assert.match(error.details[0].message, /current is mfg\.operation\.completed\.v3/);
  });

  it('refuses payloads above the configured byte limit', async () => {
    await helper.load(validateNode, flow({ maxBytes: 100 }));
    const got = nextMessage(helper.getNode('bad'));
    helper.getNode('v').receive({ payload: JSON.stringify(current) });
    assert.equal(((await got).error as { code: string }).code, 'PAYLOAD_TOO_LARGE');
  });

  it('validates another message property when configured', async () => {
    await helper.load(validateNode, flow({ property: 'event' }));
    const got = nextMessage(helper.getNode('ok'));
    helper.getNode('v').receive({ payload: 'untouched', event: v1 });
    const msg = await got;
    assert.equal(msg.payload, 'untouched');
    assert.equal((msg.event as { type: string }).type, 'mfg.operation.completed.v3');
  });

  it('counts valid and invalid events in its status', async () => {
    await helper.load(validateNode, flow());
    const status = lastStatus(helper.getNode('v'));
    const oks = collect(helper.getNode('ok'));
    const bads = collect(helper.getNode('bad'));
    const done = finished();
    const n = helper.getNode('v');
    n.receive({ payload: current });
    n.receive({ payload: v1 });
    n.receive({ payload: { nope: true } });
    await waitFor(() => done('v').ok === 3 && oks.length + bads.length >= 3, 5000, 'the three messages finished and sent on');
    // The counters are shown past the status throttle: wait for the status of all three.
    await waitFor(() => /valid 2 .*invalid 1$/.test(String(status()?.text)), 5000, `a status counting 2 valid and 1 invalid (last: ${JSON.stringify(status())})`);
    assert.equal(oks.length, 2);
    assert.equal(bads.length, 1);
    const s = status();
    assert.equal(s?.fill, 'red', 'the last event was invalid');
    assert.match(String(s?.text), /valid 2 .*invalid 1$/);
  });
});
