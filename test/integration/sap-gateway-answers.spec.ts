/**
 * What an SAP gateway answers, read as it is meant: a production order service that ignores
 * `$expand` (the navigations are read from their own URLs), and ReleaseOrder answering with the
 * FunctionMessage its metadata declares, with the order, or with 204 (success by status and message
 * type, the order read afterwards; "already released" a success marked as a repeat; E and A a
 * permanent TARGET_REJECTED carrying the text). Runs against the SAP simulator in each mode.
 */
import * as assert from 'node:assert/strict';
import type { EndpointClient } from '../../lib/adapters/endpoint-client';
import { callRead, callWrite } from '../../lib/adapters/profile-call';
import { PROFILES } from '../../lib/mapping';
import { type RunningSimulator, startSapSimulator } from '../../sim';
import {
  adapterFailure, assertValidAs, canonical, CLIENT_TIMEOUT_MS, ClientPool, RETRY, recordingSleep, type RecordingProxy, SEND_TIMEOUT_MS,
  simControl, startRecordingProxy, trace, within,
} from './helpers';

const SAP = PROFILES['sap-s4hana'];
const PO = '/sap/opu/odata/sap/API_PRODUCTION_ORDER_2_SRV';

/** A release of 1000123; another `key` is another release request (another repeat key), not a retry. */
const release = (key?: string) => canonical('mfg.productionorder.released.v1', {
  orderId: '1000123', revision: 0, material: 'FG-4711', quantity: { value: 100, uom: 'EA' },
  plannedStart: '2026-11-26T06:00:00Z', plannedEnd: '2026-11-27T14:00:00Z', site: 'P100', state: 'Released',
  operations: [{ operationId: '0010', workCenter: 'WC-CUT1' }],
}, '/plants/P100/aps', { idempotencykey: key });

/** A simulator, a recording proxy in front of it and a client through the proxy, for one mode. */
function harness(options: Parameters<typeof startSapSimulator>[0]) {
  const h = {} as { erp: RunningSimulator; proxy: RecordingProxy; client: EndpointClient };
  const pool = new ClientPool();
  before(async () => {
    h.erp = await startSapSimulator({ host: '127.0.0.1', ...options });
    h.proxy = await startRecordingProxy(h.erp.url);
  });
  after(async () => {
    await h.proxy?.close();
    await h.erp?.close();
  });
  beforeEach(async () => {
    await simControl(h.erp.url).reset();
    h.proxy.exchanges.length = 0;
    h.client = pool.create({
      baseUrl: h.proxy.url, role: 'ERP', repeatability: 'sap', csrf: true, timeoutMs: CLIENT_TIMEOUT_MS, retry: RETRY, sleep: recordingSleep().sleep, random: () => 0.5,
    });
  });
  afterEach(() => pool.closeAll());
  return h;
}

const readOrder = (client: EndpointClient, orderId: string) => within(callRead(client, SAP, 'readProductionOrder', { orderId }), SEND_TIMEOUT_MS, 'read order');

interface OrderRead {
  operations: { operationId: string; materialRequirements?: { material: string; quantity: unknown }[] }[];
  materialRequirements?: { material: string; quantity: unknown; reservation?: unknown }[];
}

describe('integration: SAP gateway answers (navigations without $expand, function-import answers)', () => {
  for (const ignoreExpand of [false, true]) {
    describe(`a production order service that ${ignoreExpand ? 'ignores' : 'honours'} $expand`, () => {
      const h = harness({ ignoreExpand });

      it(`reads operations and components ${ignoreExpand ? 'from their navigation URLs' : 'in one request'}`, async () => {
        const res = await readOrder(h.client, '1000123');
        const order = res.result as OrderRead;
        assert.deepEqual(order.operations.map((o) => o.operationId), ['0010', '0020']);
        assert.deepEqual(order.operations[0].materialRequirements?.map((m) => [m.material, m.quantity]), [['RM-100-STEEL', { value: 200, uom: 'KG' }]]);
        assert.equal(order.operations[1].materialRequirements, undefined);
        assert.equal(order.materialRequirements, undefined, 'every component of 1000123 is assigned to an operation');
        const reads = trace(h.proxy.exchanges);
        const navs = [`GET ${PO}/A_ProductionOrder_2('000001000123')/to_ProductionOrderOperation 200`, `GET ${PO}/A_ProductionOrder_2('000001000123')/to_ProductionOrderComponent 200`];
        assert.deepEqual(reads, [`GET ${PO}/A_ProductionOrder_2('000001000123') 200`, ...(ignoreExpand ? navs : [])]);
      });

      it('a component without operation assignment belongs to the order (1000124)', async () => {
        const order = (await readOrder(h.client, '1000124')).result as OrderRead;
        assert.deepEqual(order.materialRequirements, [{ material: 'RM-100-STEEL', quantity: { value: 5, uom: 'KG' }, use: 'Consumed', storageLocation: '0001', reservation: { number: '12346', item: '0001' } }]);
        assert.equal(order.operations[0].materialRequirements, undefined);
        assertValidAs('mfg.productionorder.released.v1', order, '/plants/P100/erp');
      });
    });
  }

  for (const releaseAnswer of ['message', 'entity', 'none'] as const) {
    describe(`ReleaseOrder answering with ${releaseAnswer === 'none' ? '204 no content' : releaseAnswer === 'message' ? 'a FunctionMessage' : 'the order'}`, () => {
      const h = harness({ releaseAnswer });
      const write = (key?: string) => within(callWrite(h.client, SAP, release(key)), SEND_TIMEOUT_MS, 'release');

      it('the release is a success with the order\'s new state; one posting', async () => {
        const res = await write();
        assert.deepEqual([res.operation, res.status, res.attempts, res.repeated], ['releaseProductionOrder', releaseAnswer === 'none' ? 204 : 200, 1, undefined]);
        const result = res.result as Record<string, unknown>;
        assert.deepEqual([result.documentNumber, result.released], ['1000123', true]);
        assert.match(String(result.etag), /^W\/"\d+"$/);
        assert.equal((await simControl(h.erp.url).postings()).length, 1);
        const readAfter = releaseAnswer === 'entity' ? [] : [`GET ${PO}/A_ProductionOrder_2('000001000123') 200`];
        // Without the CSRF fetch of the service root (whatever it answers) and the order read before it.
        const exchanges = trace(h.proxy.exchanges).filter((t) => !t.startsWith(`GET ${PO}/ `)).slice(1);
        assert.deepEqual(exchanges, [`POST ${PO}/ReleaseOrder ${releaseAnswer === 'none' ? '204' : '200'}`, ...readAfter]);
      });

      it(`another release of the released order: a success${releaseAnswer === 'message' ? ' marked as a repeat (the E "already released" message)' : ''}, no second posting`, async () => {
        await write();
        const again = await write('P100-release-1000123-again');
        assert.deepEqual([(again.result as Record<string, unknown>).released, again.repeated], [true, releaseAnswer === 'message' ? true : undefined]);
        assert.equal((await simControl(h.erp.url).postings()).length, 1);
      });
    });
  }

  describe('ReleaseOrder failing with a message', () => {
    const h = harness({});
    for (const type of ['E', 'A'] as const) {
      it(`an ${type} message is a permanent TARGET_REJECTED carrying the text; the order stays unreleased`, async () => {
        const text = 'Order 1000123 is locked by user PLANNER1';
        const message = { SystemMessageType: type, SystemMessageIdentification: 'CO', SystemMessageNumber: '469', SystemMessageLongText: text };
        await simControl(h.erp.url).faults({ queue: [{ match: 'ReleaseOrder', status: 200, body: { d: { ReleaseOrder: message } } }] });
        const err = await adapterFailure(callWrite(h.client, SAP, release()));
        assert.deepEqual([err.code, err.retryable, err.status, err.attempts, err.targetError], ['TARGET_REJECTED', false, 200, 1, { code: 'CO/469', message: text }]);
        assert.match(err.message, new RegExp(`message ${type} CO/469: ${text}`));
        assert.ok(!/already|released/.test(err.message.split(':')[0]), err.message);
        const order = (await readOrder(h.client, '1000123')).result as { state: string };
        assert.equal(order.state, 'Waiting');
        assert.equal((await simControl(h.erp.url).postings()).length, 0);
      });
    }

    it('an S message with the variant text name SystemMessageText is a success', async () => {
      const message = { SystemMessageType: 'S', SystemMessageText: 'Order released' };
      await simControl(h.erp.url).faults({ queue: [{ match: 'ReleaseOrder', status: 200, body: { d: message } }] });
      const res = await within(callWrite(h.client, SAP, release()), SEND_TIMEOUT_MS, 'release');
      // The injected answer did no work: the order read afterwards says so, and nothing claims a release.
      assert.deepEqual([(res.result as Record<string, unknown>).released, res.repeated], [false, undefined]);
    });
  });
});
