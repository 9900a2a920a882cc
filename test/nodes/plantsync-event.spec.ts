import * as assert from 'node:assert/strict';
import { defaultRegistry, type CanonicalEvent } from '../../lib';
import { collect, finished, helper, lastStatus, nextMessage, withPlantServer } from '../helpers/node-helper';
import { waitFor } from '../helpers/wait';
import plantsyncEvent from '../../nodes/plantsync-event/plantsync-event';
import { translating } from '../helpers/catalogue';

// Status counters are translated from the real catalogue, so the tests see the numbers.
const eventNode = translating([plantsyncEvent]).nodes;

const data = {
  confirmationId: 'CNF-0004711',
  orderId: '1000123',
  operationId: '0010',
  workCenter: 'WC-ASSY1',
  site: 'P100',
  actualStart: '2026-11-26T06:00:00Z',
  actualEnd: '2026-11-26T07:30:00Z',
  yield: { value: 95, uom: 'EA' },
  scrap: { value: 5, uom: 'EA' },
  confirmationType: 'Partial',
};

function flow(config: Record<string, unknown> = {}) {
  return [
    { id: 'f1', type: 'tab' },
    {
      id: 'e', z: 'f1', x: 100, y: 100, type: 'plantsync-event', eventType: 'mfg.operation.completed.v3', eventTypeType: 'catalogue',
      data: 'payload', dataType: 'msg', subjectType: 'auto', source: '/plants/${PLANT_ID}/mes', sourceType: 'env',
      siteid: 'PLANT_ID', siteidType: 'env', timeType: 'now', idempotencykeyType: 'auto', validate: true,
      wires: [['out']], ...config,
    },
    { id: 'out', z: 'f1', x: 100, y: 100, type: 'helper' },
    { id: 'c', z: 'f1', x: 100, y: 100, type: 'catch', scope: ['e'], uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'f1', x: 100, y: 100, type: 'helper' },
  ];
}

describe('plantsync-event node', () => {
  withPlantServer();

  it('wraps msg.payload into a valid canonical event with source and site from the environment', async () => {
    await helper.load(eventNode, flow());
    const got = nextMessage(helper.getNode('out'));
    helper.getNode('e').receive({ payload: data });
    const msg = await got;
    const event = msg.payload as CanonicalEvent;
    assert.equal(event.type, 'mfg.operation.completed.v3');
    assert.equal(event.source, '/plants/P100/mes');
    assert.equal(event.siteid, 'P100');
    assert.equal(event.subject, '1000123');
    assert.deepEqual(event.data, data);
    assert.equal(event.idempotencykey, 'mfg.operation.completed:P100:CNF-0004711', 'keyed by the site and the MES confirmation id');
    assert.equal(msg.correlationid, event.correlationid);
    assert.ok(defaultRegistry().validate(event).valid);
  });

  it('gives a resent confirmation the same key although its id and time are new', async () => {
    await helper.load(eventNode, flow());
    const out = collect(helper.getNode('out'));
    helper.getNode('e').receive({ payload: data });
    helper.getNode('e').receive({ payload: data, at: 'later' });
    helper.getNode('e').receive({ payload: { ...data, yield: { value: 94, uom: 'EA' } } });
    await waitFor(() => out.length === 3, 5000, 'three events out');
    const events = out.map((m) => m.payload as CanonicalEvent);
    assert.notEqual(events[0].id, events[1].id);
    assert.deepEqual(new Set(events.map((e) => e.idempotencykey)), new Set(['mfg.operation.completed:P100:CNF-0004711']), 'a correction keeps the key: the guard sees a conflict');
  });

  it('refuses a confirmation without its source identity, naming the field', async () => {
    await helper.load(eventNode, flow());
    const got = nextMessage(helper.getNode('caught'));
    const { confirmationId: _, ...anonymous } = data;
    helper.getNode('e').receive({ payload: anonymous });
    const msg = await got;
    assert.equal((msg.error as { code: string }).code, 'SCHEMA_INVALID');
    const pointers = (msg._error as { details: { pointer: string; keyword: string }[] }).details.map((d) => `${d.pointer} ${d.keyword}`);
    assert.deepEqual(pointers, ['/data/confirmationId required']);
  });

  it('takes correlation from the causing event in msg.event and sets causation', async () => {
    await helper.load(eventNode, flow());
    const cause = { specversion: '1.0', id: 'evt-released-1', type: 'mfg.productionorder.released.v1', correlationid: 'order-1000123', data: {} };
    const got = nextMessage(helper.getNode('out'));
    helper.getNode('e').receive({ payload: data, event: cause, correlationid: 'not-this-one' });
    const event = (await got).payload as CanonicalEvent;
    assert.equal(event.correlationid, 'order-1000123');
    assert.equal(event.causationid, 'evt-released-1');
  });

  it('takes correlation from the message when there is no causing event', async () => {
    await helper.load(eventNode, flow());
    const got = nextMessage(helper.getNode('out'));
    helper.getNode('e').receive({ payload: data, correlationid: 'lot-L7' });
    const event = (await got).payload as CanonicalEvent;
    assert.equal(event.correlationid, 'lot-L7');
    assert.equal(event.causationid, undefined);
  });

  it('builds data with JSONata from an incoming canonical event, which becomes the cause', async () => {
    const expr = '{"orderId": payload.data.orderId, "site": payload.siteid, "material": "FG-4711", "yield": payload.data.yield, "scrap": payload.data.scrap, "erpConfirmation": "00004711", "final": false}';
    await helper.load(eventNode, flow({ eventType: 'mfg.production.confirmed.v1', data: expr, dataType: 'jsonata', source: '/plants/P100/erp', sourceType: 'str' }));
    const incoming = { specversion: '1.0', id: 'evt-op-1', type: 'mfg.operation.completed.v3', siteid: 'P100', correlationid: 'corr-9', data };
    const got = nextMessage(helper.getNode('out'));
    helper.getNode('e').receive({ payload: incoming });
    const event = (await got).payload as CanonicalEvent<Record<string, unknown>>;
    assert.equal(event.type, 'mfg.production.confirmed.v1');
    assert.equal(event.data.erpConfirmation, '00004711');
    assert.equal(event.causationid, 'evt-op-1');
    assert.equal(event.correlationid, 'corr-9');
    assert.equal(event.idempotencykey, 'mfg.production.confirmed:1000123:00004711');
  });

  it('takes type, subject, time and key from message properties', async () => {
    await helper.load(eventNode, flow({
      eventType: 'eventType', eventTypeType: 'msg', subject: 'subj', subjectType: 'msg', time: 'at', timeType: 'msg', idempotencykey: 'key', idempotencykeyType: 'msg',
    }));
    const got = nextMessage(helper.getNode('out'));
    helper.getNode('e').receive({ payload: data, eventType: 'mfg.operation.completed.v3', subj: 'OP-1000123-0010', at: '2026-11-26T07:30:00+01:00', key: 'conf-77' });
    const event = (await got).payload as CanonicalEvent;
    assert.equal(event.subject, 'OP-1000123-0010');
    assert.equal(event.time, '2026-11-26T07:30:00+01:00');
    assert.equal(event.idempotencykey, 'conf-77');
  });

  it('sends nothing for invalid data and raises the problems with pointers for a Catch node', async () => {
    await helper.load(eventNode, flow());
    const out = collect(helper.getNode('out'));
    const got = nextMessage(helper.getNode('caught'));
    const done = finished();
    const bad = { ...data, orderId: 'has spaces', yield: { value: 'ninety', uom: 'EA' } };
    helper.getNode('e').receive({ payload: bad });
    const msg = await got;
    assert.equal((msg.error as { code: string }).code, 'SCHEMA_INVALID');
    const detail = msg._error as { details: { pointer: string; keyword: string }[] };
    const pointers = detail.details.map((d) => `${d.pointer} ${d.keyword}`);
    assert.ok(pointers.includes('/data/orderId pattern'), pointers.join());
    assert.ok(pointers.includes('/data/yield/value type'), pointers.join());
    assert.deepEqual(msg.payload, bad, 'the original payload is kept');
    // The node finished its one message with the error; a send would have been delivered before
    // the Catch node's copy of that error (Node-RED delivers in order).
    assert.deepEqual(done('e'), { ok: 0, failed: 1 });
    assert.equal(out.length, 0);
  });

  it('refuses to produce a superseded version', async () => {
    await helper.load(eventNode, flow({ eventType: 'mfg.operation.completed.v1' }));
    const got = nextMessage(helper.getNode('caught'));
    helper.getNode('e').receive({ payload: { ...data, confirmationId: undefined, confirmationType: undefined, final: true } });
    assert.equal(((await got).error as { code: string }).code, 'RETIRED_EVENT_VERSION');
  });

  it('reports a non-object payload and an empty site clearly', async () => {
    await helper.load(eventNode, flow({ siteid: 'NO_SUCH_PLANT_VAR' }));
    const caught = collect(helper.getNode('caught'));
    const done = finished();
    helper.getNode('e').receive({ payload: 'text' });
    helper.getNode('e').receive({ payload: data });
    await waitFor(() => done('e').ok + done('e').failed === 2 && caught.length >= done('e').failed, 5000, 'both messages finished and their errors caught');
    assert.deepEqual(done('e'), { ok: 0, failed: 2 });
    assert.equal(caught.length, 2);
    assert.deepEqual((caught[0]._error as { details: unknown[] }).details, [{ pointer: '/data', message: 'must be an object', keyword: 'type' }]);
    assert.equal((caught[1].error as { code: string }).code, 'SCHEMA_INVALID');
  });

  it('can skip validation when told to', async () => {
    await helper.load(eventNode, flow({ validate: false }));
    const got = nextMessage(helper.getNode('out'));
    helper.getNode('e').receive({ payload: { anything: 1 } });
    assert.deepEqual(((await got).payload as CanonicalEvent).data, { anything: 1 });
  });

  it('serves the current catalogue types to the editor', async () => {
    await helper.load(eventNode, flow());
    const res = await helper.request().get('/plantsync/event-types');
    assert.equal(res.status, 200);
    const types = (res.body as { type: string }[]).map((t) => t.type);
    assert.equal(types.length, 17);
    assert.ok(!types.includes('mfg.operation.completed.v2'));
    assert.ok(types.includes('mfg.operation.completed.v3'));
    assert.ok(!types.includes('mfg.operation.completed.v1'));
  });

  it('counts created and failed events in its status', async () => {
    await helper.load(eventNode, flow());
    const status = lastStatus(helper.getNode('e'));
    const out = collect(helper.getNode('out'));
    const caught = collect(helper.getNode('caught'));
    const done = finished();
    const n = helper.getNode('e');
    n.receive({ payload: data });
    n.receive({ payload: data });
    n.receive({ payload: 'x' });
    await waitFor(() => done('e').ok + done('e').failed === 3 && out.length >= done('e').ok && caught.length >= done('e').failed, 5000, 'the three messages finished');
    // The counters are shown past the status throttle: wait for the status of all three.
    await waitFor(() => /2 · ✗ 1$/.test(String(status()?.text)), 5000, `a status counting 2 created and 1 failed (last: ${JSON.stringify(status())})`);
    assert.deepEqual(done('e'), { ok: 2, failed: 1 });
    assert.equal(out.length, 2);
    assert.equal(caught.length, 1);
    assert.equal(status()?.fill, 'red');
    assert.match(String(status()?.text), /2 · ✗ 1$/);
  });
});
