import * as assert from 'node:assert/strict';
import { createEvent, type CanonicalEvent } from '../../lib';
import { startSapSimulator } from '../../sim/sap-erp';
import { helper, nextFrom, type TestNode } from '../helpers/node-helper';
import endpointNode from '../../nodes/plantsync-endpoint/plantsync-endpoint';
import requestNode from '../../nodes/plantsync-request/plantsync-request';

type Sim = Awaited<ReturnType<typeof startSapSimulator>>;

const consumed = (overrides: Record<string, unknown> = {}): CanonicalEvent =>
  createEvent({
    type: 'mfg.material.consumed.v2',
    source: '/plants/P100/mes',
    siteid: 'P100',
    data: { movementId: 'MV-0000881', orderId: '1000124', operationId: '0010', material: 'RM-100-STEEL', quantity: { value: 12.5, uom: 'KG' }, site: 'P100', storageLocation: '0001', ...overrides },
  });

describe('plantsync-request node against the SAP simulator', function () {
  this.timeout(30000);
  let sim: Sim;
  const node = (id: string) => helper.getNode(id) as TestNode;

  async function load(config: Record<string, unknown> = {}, password = 'secret', endpoint: Record<string, unknown> = {}) {
    const at = { z: 'f1', x: 100, y: 100 };
    await helper.load([endpointNode, requestNode], [
      { id: 'f1', type: 'tab' },
      {
        id: 'ep', type: 'plantsync-endpoint', role: 'ERP', profile: 'sap-s4hana', baseUrl: sim.url, authType: 'basic', user: 'RFC_PLANTSYNC',
        timeoutMs: 5000, maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50, failureThreshold: 5, openSeconds: 30, ...endpoint,
      },
      { id: 'rq', type: 'plantsync-request', endpoint: 'ep', operation: 'auto', wires: [['out']], ...at, ...config },
      { id: 'c', type: 'catch', scope: ['rq'], uncaught: false, wires: [['caught']], ...at },
      { id: 'out', type: 'helper', ...at },
      { id: 'caught', type: 'helper', ...at },
    ], { ep: { password } });
  }

  async function call(payload: unknown, plantsync?: Record<string, unknown>) {
    const got = nextFrom([node('out'), node('caught')]);
    node('rq').receive(plantsync ? { payload, plantsync } : { payload });
    return got;
  }

  const postings = async () => ((await (await fetch(`${sim.url}/__sim/postings`)).json()) as unknown[]).length;

  before(async () => {
    sim = await startSapSimulator({ auth: { basic: { user: 'RFC_PLANTSYNC', password: 'secret' } } });
    await helper.startServer();
  });
  after(async () => {
    await helper.stopServer();
    await sim.close();
  });
  beforeEach(() => fetch(`${sim.url}/__sim/reset`, { method: 'POST' }));
  afterEach(() => helper.unload());

  it('posts a consumption as goods movement 261 and returns the material document, once for a repeat', async () => {
    await load();
    const event = consumed();
    const first = await call(event);
    assert.equal(first.node.id, 'out', JSON.stringify(first.msg.error));
    const doc = first.msg.payload as { documentNumber: string };
    assert.match(doc.documentNumber, /^49\d{8}$/);
    assert.deepEqual((first.msg.plantsync as { request: unknown }).request, { target: 'ERP', operation: 'goodsMovement', status: 201, attempts: 1, repeatability: 'accepted' });
    const again = await call({ ...event, id: 'redelivered' });
    assert.equal((again.msg.payload as { documentNumber: string }).documentNumber, doc.documentNumber, 'the repeatability key returns the first document');
    assert.equal(await postings(), 1);
  });

  it('a re-claimed key (outcome unknown) is looked up before posting: the released order 1000124 is a repeat, nothing posts', async () => {
    await load();
    const release = createEvent({
      type: 'mfg.productionorder.released.v1', source: '/plants/P100/aps', siteid: 'P100',
      data: {
        orderId: '1000124', revision: 0, material: 'FG-4712', quantity: { value: 50, uom: 'EA' }, plannedStart: '2026-11-26T14:00:00Z',
        plannedEnd: '2026-11-26T18:00:00Z', site: 'P100', state: 'Released', operations: [{ operationId: '0010', workCenter: 'WC-PACK1' }],
      },
    });
    const claim = { store: 'st', key: 'k', status: 'claimed', token: 't', attempt: 2, takeover: false };
    const res = await call(release, { idempotency: claim });
    assert.equal(res.node.id, 'out', JSON.stringify(res.msg.error));
    assert.deepEqual((res.msg.plantsync as { request: unknown }).request, { target: 'ERP', operation: 'releaseProductionOrder', status: 200, attempts: 0, repeated: true, resolvedBy: 'lookup' });
    assert.equal(await postings(), 0, 'found by the lookup, no POST');
  });

  it('applies the plant overrides of the endpoint: a reason code mapped without code', async () => {
    await load({}, 'secret', { overrides: JSON.stringify({ valueMaps: { varianceReason: { toVendor: { BURR: 'SCR2' } } } }) });
    const event = createEvent({
      type: 'mfg.operation.completed.v3', source: '/plants/P100/mes', siteid: 'P100',
      data: { confirmationId: 'CNF-0004711', orderId: '1000124', operationId: '0010', workCenter: 'WC-PACK1', site: 'P100', actualStart: '2026-11-26T14:00:00Z', actualEnd: '2026-11-26T14:05:00Z', yield: { value: 48, uom: 'EA' }, scrap: { value: 2, uom: 'EA' }, varianceReason: { code: 'BURR' }, confirmationType: 'Partial' },
    });
    const got = await call(event);
    assert.equal(got.node.id, 'out', JSON.stringify(got.msg.error));
    const [posting] = (await (await fetch(`${sim.url}/__sim/postings`)).json()) as { body: { VarianceReasonCode: string; ConfirmationYieldQuantity: string } }[];
    assert.equal(posting.body.VarianceReasonCode, 'SCR2');
    assert.equal(posting.body.ConfirmationYieldQuantity, '48.000');
  });

  it('refuses to post with the profile defaults when the plant overrides are broken', async () => {
    await load({}, 'secret', { overrides: '{"valueMaps": {' });
    const got = await call(consumed());
    assert.equal((got.msg.error as { code: string }).code, 'CONFIG_ERROR');
    assert.match((got.msg._error as { message: string }).message, /overrides are not valid JSON/);
    assert.equal(await postings(), 0);
  });

  it('reads a production order into canonical data', async () => {
    await load({ operation: 'readProductionOrder', params: 'payload', paramsType: 'msg' });
    const got = await call({ orderId: '1000124' });
    const data = got.msg.payload as { orderId: string; state: string; operations: unknown[] };
    assert.equal(data.orderId, '1000124');
    assert.equal(data.state, 'Released');
    assert.equal(data.operations.length, 1);
  });

  it('raises a validation error and sends nothing for an invalid event', async () => {
    await load();
    const bad = consumed();
    (bad.data as { quantity: unknown }).quantity = { value: 'twelve', uom: 'KG' };
    const got = await call(bad);
    assert.equal(got.node.id, 'caught');
    assert.equal((got.msg.error as { code: string }).code, 'SCHEMA_INVALID');
    assert.equal(await postings(), 0);
  });

  it('raises a mapping error naming the field and sends nothing', async () => {
    await load();
    const got = await call(consumed({ quantity: { value: 3, uom: 'XYZ' } }));
    assert.equal((got.msg.error as { code: string }).code, 'MAPPING_ERROR');
    const detail = got.msg._error as { field: string; details: { pointer: string }[] };
    assert.match(JSON.stringify(detail), /XYZ/);
    assert.equal(await postings(), 0);
  });

  it('raises AUTHENTICATION_FAILED with a wrong password (credentials from Node-RED credentials)', async () => {
    await load({}, 'wrong');
    const got = await call(consumed());
    assert.equal((got.msg.error as { code: string }).code, 'AUTHENTICATION_FAILED');
    assert.equal((got.msg._error as { retryable: boolean }).retryable, false);
  });

  it('raises TARGET_REJECTED (permanent) with the target\'s own code for a 4xx', async () => {
    await load();
    // Order 1000123 is not released: SAP refuses confirmations with RU/505.
    const event = createEvent({
      type: 'mfg.operation.completed.v3', source: '/plants/P100/mes', siteid: 'P100',
      data: { confirmationId: 'CNF-0004711', orderId: '1000123', operationId: '0010', workCenter: 'WC-CUT1', site: 'P100', actualStart: '2026-11-26T06:00:00Z', actualEnd: '2026-11-26T07:30:00Z', yield: { value: 95, uom: 'EA' }, scrap: { value: 5, uom: 'EA' }, confirmationType: 'Partial' },
    });
    const got = await call(event);
    const detail = got.msg._error as { code: string; retryable: boolean; attempts: number; targetError: { code: string } };
    assert.deepEqual([detail.code, detail.retryable, detail.attempts, detail.targetError.code], ['TARGET_REJECTED', false, 1, 'RU/505']);
  });

  it('raises TARGET_UNAVAILABLE (retryable) after its attempts when the target keeps failing', async () => {
    await load();
    await fetch(`${sim.url}/__sim/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ queue: [{ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }] }) });
    const got = await call(consumed());
    const detail = got.msg._error as { code: string; retryable: boolean; attempts: number };
    assert.deepEqual([detail.code, detail.retryable, detail.attempts], ['TARGET_UNAVAILABLE', true, 3]);
    assert.equal(await postings(), 0);
  });
});
