/**
 * End to end: the sap-s4hana mapping profile, called through EndpointClient and callWrite /
 * callRead exactly as a PlantSync request node does (repeatability 'sap', CSRF on), against the
 * SAP S/4HANA simulator. Every write operation is posted, retried, repeated, dropped after the
 * commit and repeated with the target ignoring the keys; the client's CSRF, OAuth, Retry-After,
 * 5xx, 4xx and circuit-breaker behaviour is shown on the simulator's ledger.
 */
import * as assert from 'node:assert/strict';
import { oauth2ClientCredentials } from '../../lib/adapters/auth';
import type { EndpointClient, EndpointClientOptions } from '../../lib/adapters/endpoint-client';
import { callRead, callWrite, type CallResult } from '../../lib/adapters/profile-call';
import type { CanonicalEvent } from '../../lib/canonical/events';
import { externalKeyFor, operationFor, PROFILES, type WriteRequest } from '../../lib/mapping';
import { type LedgerEntry, type RunningSimulator, startSapSimulator } from '../../sim';
import {
  adapterFailure, assertValidAs, canonical, CLIENT_TIMEOUT_MS, ClientPool, DEFAULT_SIM_CONFIG, fakeClock, mappingFailure, RETRY,
  recordingSleep, SEND_TIMEOUT_MS, simControl, type SimControl, startRecordingProxy, stockAt, trace, within,
} from './helpers';
import { waitFor } from '../helpers/wait';

const SAP = PROFILES['sap-s4hana'];
const ODATA = '/sap/opu/odata/sap';
const MDOC = `${ODATA}/API_MATERIAL_DOCUMENT_SRV`;
const MDOC_POST = `${MDOC}/A_MaterialDocumentHeader`;
const TOKEN_PATH = '/sap/bc/sec/oauth2/token';

// ---- canonical events (consistent with the simulator's seed data) --------------------------------

const RELEASED_ORDER = {
  orderId: '1000123', revision: 0, material: 'FG-4711', quantity: { value: 100, uom: 'EA' },
  plannedStart: '2026-11-26T06:00:00Z', plannedEnd: '2026-11-27T14:00:00Z', site: 'P100', state: 'Released',
  operations: [{ operationId: '0010', workCenter: 'WC-CUT1' }],
};

const events = {
  release: () => canonical('mfg.productionorder.released.v1', RELEASED_ORDER, '/plants/P100/aps'),
  confirm: (orderId = '1000123', yieldQty = 95) => canonical('mfg.operation.completed.v3', {
    confirmationId: `CNF-${orderId}-0010-${yieldQty}`, orderId, operationId: '0010', workCenter: 'WC-CUT1', site: 'P100', actualStart: '2026-11-26T06:00:00Z', actualEnd: '2026-11-26T07:30:00Z',
    yield: { value: yieldQty, uom: 'EA' }, scrap: { value: 5, uom: 'EA' }, confirmationType: 'Partial',
  }),
  consume: (kg = 12.5) => canonical('mfg.material.consumed.v2', {
    movementId: `MV-261-${kg}`, orderId: '1000123', operationId: '0010', material: 'RM-100-STEEL', quantity: { value: kg, uom: 'KG' }, site: 'P100', storageLocation: '0001',
    reservation: { number: '12345', item: '0001' },
  }),
  giveBack: () => canonical('mfg.material.returned.v2', {
    movementId: 'MV-262-1', orderId: '1000123', material: 'RM-100-STEEL', quantity: { value: 500, uom: 'GRM' }, site: 'P100', storageLocation: '0001',
  }),
  receipt: () => canonical('mfg.production.confirmed.v1', {
    orderId: '1000123', site: 'P100', material: 'FG-4711', yield: { value: 95, uom: 'EA' }, scrap: { value: 5, uom: 'EA' },
    producedLot: 'B1126-02', erpConfirmation: '0000000123', final: false,
  }),
  move: (kg: number, from: [string, string], to: [string, string]) => canonical('mfg.inventory.moved.v2', {
    movementId: `TO-${kg}-${from.join('-')}-${to.join('-')}`, material: 'RM-100-STEEL', quantity: { value: kg, uom: 'KG' },
    from: { site: 'P100', storageLocation: from[0], stockType: from[1] }, to: { site: 'P100', storageLocation: to[0], stockType: to[1] },
  }, '/plants/P100/wms'),
  decide: (decision: 'Release' | 'Hold' = 'Release') => canonical('mfg.quality.disposition.changed.v1', {
    lot: 'L2026-1126-01', material: 'FG-4711', site: 'P100', from: 'Restricted', to: decision === 'Release' ? 'Unrestricted' : 'Restricted',
    decision, inspectionLot: '010000000123', decidedBy: 'QM-USER1', decidedAt: '2026-11-27T10:15:00Z',
  }, '/plants/P100/qms'),
};

// ---- the harness -----------------------------------------------------------------------------

type Write = (event: CanonicalEvent, client?: EndpointClient) => Promise<CallResult>;
type Read = (name: string, params: Record<string, string>) => Promise<unknown>;

/** What one write operation must do against the simulator. */
interface WriteCase {
  title: string;
  operation: string;
  event: () => CanonicalEvent;
  /** Earlier postings the case needs (through callWrite too). */
  setup?: (write: Write) => Promise<void>;
  /** The mapped result of the first posting (a subset: the release also returns an ETag). */
  document: Record<string, unknown>;
  /** Fields of the posted vendor body, by '/'-separated path. */
  body?: Record<string, unknown>;
  /** The simulator's state after exactly one posting, read back through callRead. */
  verify: (read: Read) => Promise<void>;
  /** What a repeat does when the target ignores the repeatability keys. */
  /** The operation declares a lookup: after a dropped response the document is found, not posted again. */
  lookup?: true;
  withoutKeys:
    | { kind: 'posts-twice'; second: Record<string, unknown> }
    | { kind: 'rejected'; status: number; code: string }
    | { kind: 'idempotent' }
    | { kind: 'refused-found'; code: string };
}

async function quantityAt(read: Read, material: string, where: { storageLocation: string; stockType: string; lot?: string }): Promise<number | undefined> {
  return stockAt(await read('readStock', { material, site: 'P100' }), where)?.value;
}

async function steel(read: Read): Promise<Record<string, number | undefined>> {
  const items = await read('readStock', { material: 'RM-100-STEEL', site: 'P100' });
  const at = (storageLocation: string, stockType: string) => stockAt(items, { storageLocation, stockType })?.value;
  return { '0001 U': at('0001', 'Unrestricted'), '0001 B': at('0001', 'Blocked'), '0002 U': at('0002', 'Unrestricted') };
}

const WRITES: WriteCase[] = [
  {
    title: 'releaseProductionOrder (mfg.productionorder.released.v1)',
    operation: 'releaseProductionOrder',
    event: events.release,
    document: { documentNumber: '1000123', released: true },
    verify: async (read) => {
      const order = await read('readProductionOrder', { orderId: '1000123' }) as { state: string };
      assert.equal(order.state, 'Released');
      assertValidAs('mfg.productionorder.released.v1', order, '/plants/P100/erp');
    },
    lookup: true,
    withoutKeys: { kind: 'idempotent' },
  },
  {
    title: 'confirmOperation (mfg.operation.completed.v3)',
    operation: 'confirmOperation',
    event: () => events.confirm(),
    setup: async (write) => {
      await write(events.release());
    },
    document: { documentNumber: '0000000123', confirmationCount: '00000001' },
    body: { OrderID: '000001000123', OrderOperation: '0010', ConfirmationYieldQuantity: '95.000', ConfirmationScrapQuantity: '5.000', ConfirmationUnit: 'ST' },
    verify: async (read) => {
      const order = await read('readProductionOrder', { orderId: '1000123' }) as { state: string };
      assert.equal(order.state, 'Running'); // partially confirmed
    },
    lookup: true,
    withoutKeys: { kind: 'posts-twice', second: { documentNumber: '0000000123', confirmationCount: '00000002' } },
  },
  {
    title: 'goodsMovement 261 (mfg.material.consumed.v2)',
    operation: 'goodsMovement',
    event: () => events.consume(),
    document: { documentNumber: '4900000001', documentYear: '2026' },
    body: {
      GoodsMovementCode: '03', 'to_MaterialDocumentItem/results/0/GoodsMovementType': '261', 'to_MaterialDocumentItem/results/0/QuantityInEntryUnit': '12.500',
      'to_MaterialDocumentItem/results/0/EntryUnit': 'KG', 'to_MaterialDocumentItem/results/0/Reservation': '0000012345',
    },
    verify: async (read) => assert.deepEqual(await steel(read), { '0001 U': 487.5, '0001 B': undefined, '0002 U': undefined }),
    lookup: true,
    withoutKeys: { kind: 'posts-twice', second: { documentNumber: '4900000002' } },
  },
  {
    title: 'goodsMovement 262 (mfg.material.returned.v2)',
    operation: 'goodsMovement',
    event: events.giveBack,
    document: { documentNumber: '4900000001', documentYear: '2026' },
    body: { GoodsMovementCode: '03', 'to_MaterialDocumentItem/results/0/GoodsMovementType': '262', 'to_MaterialDocumentItem/results/0/QuantityInEntryUnit': '0.500' },
    verify: async (read) => assert.deepEqual(await steel(read), { '0001 U': 500.5, '0001 B': undefined, '0002 U': undefined }),
    lookup: true,
    withoutKeys: { kind: 'posts-twice', second: { documentNumber: '4900000002' } },
  },
  {
    title: 'goodsMovement 101 (mfg.production.confirmed.v1)',
    operation: 'goodsMovement',
    event: events.receipt,
    document: { documentNumber: '4900000001', documentYear: '2026' },
    body: { GoodsMovementCode: '02', 'to_MaterialDocumentItem/results/0/GoodsMovementType': '101', 'to_MaterialDocumentItem/results/0/Batch': 'B1126-02' },
    verify: async (read) => {
      assert.deepEqual(stockAt(await read('readStock', { material: 'FG-4711', site: 'P100' }), { storageLocation: '0001', stockType: 'Unrestricted', lot: 'B1126-02' }), { value: 95, uom: 'EA' });
    },
    lookup: true,
    withoutKeys: { kind: 'posts-twice', second: { documentNumber: '4900000002' } },
  },
  {
    title: 'goodsMovement 311 (mfg.inventory.moved.v2, storage location)',
    operation: 'goodsMovement',
    event: () => events.move(20, ['0001', 'Unrestricted'], ['0002', 'Unrestricted']),
    document: { documentNumber: '4900000001', documentYear: '2026' },
    body: { GoodsMovementCode: '04', 'to_MaterialDocumentItem/results/0/GoodsMovementType': '311', 'to_MaterialDocumentItem/results/0/IssuingOrReceivingStorageLoc': '0002' },
    verify: async (read) => assert.deepEqual(await steel(read), { '0001 U': 480, '0001 B': undefined, '0002 U': 20 }),
    lookup: true,
    withoutKeys: { kind: 'posts-twice', second: { documentNumber: '4900000002' } },
  },
  {
    title: 'goodsMovement 344 (mfg.inventory.moved.v2, Unrestricted -> Blocked)',
    operation: 'goodsMovement',
    event: () => events.move(5, ['0001', 'Unrestricted'], ['0001', 'Blocked']),
    document: { documentNumber: '4900000001', documentYear: '2026' },
    body: { GoodsMovementCode: '04', 'to_MaterialDocumentItem/results/0/GoodsMovementType': '344' },
    verify: async (read) => assert.deepEqual(await steel(read), { '0001 U': 495, '0001 B': 5, '0002 U': undefined }),
    lookup: true,
    withoutKeys: { kind: 'posts-twice', second: { documentNumber: '4900000002' } },
  },
  {
    title: 'goodsMovement 343 (mfg.inventory.moved.v2, Blocked -> Unrestricted)',
    operation: 'goodsMovement',
    event: () => events.move(2, ['0001', 'Blocked'], ['0001', 'Unrestricted']),
    setup: async (write) => {
      await write(events.move(10, ['0001', 'Unrestricted'], ['0001', 'Blocked']));
    },
    document: { documentNumber: '4900000002', documentYear: '2026' },
    body: { GoodsMovementCode: '04', 'to_MaterialDocumentItem/results/0/GoodsMovementType': '343' },
    verify: async (read) => assert.deepEqual(await steel(read), { '0001 U': 492, '0001 B': 8, '0002 U': undefined }),
    lookup: true,
    withoutKeys: { kind: 'posts-twice', second: { documentNumber: '4900000003' } },
  },
  {
    title: 'usageDecision (mfg.quality.disposition.changed.v1)',
    operation: 'usageDecision',
    event: () => events.decide(),
    document: { documentNumber: '010000000123', usageDecisionCode: 'A' },
    body: { InspectionLot: '010000000123', InspLotUsageDecisionCode: 'A' },
    verify: async (read) => {
      // The lot's quantity left quality inspection for unrestricted stock.
      assert.equal(await quantityAt(read, 'FG-4711', { storageLocation: '0001', stockType: 'QualityInspection', lot: 'L2026-1126-01' }), 0);
      assert.equal(await quantityAt(read, 'FG-4711', { storageLocation: '0001', stockType: 'Unrestricted', lot: 'L2026-1126-01' }), 100);
    },
    lookup: true,
    // SAP refuses a second decision; the lookup then finds the first, with the same code: a repeat.
    withoutKeys: { kind: 'refused-found', code: 'QA/101' },
  },
];

function assertSubset(actual: unknown, expected: Record<string, unknown>, what = 'result'): void {
  for (const [k, v] of Object.entries(expected)) assert.deepEqual((actual as Record<string, unknown>)[k], v, `${what}.${k} (${JSON.stringify(actual)})`);
}

function valueAt(doc: unknown, path: string): unknown {
  return path.split('/').reduce<unknown>((node, part) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined), doc);
}

const ok = (e: LedgerEntry) => typeof e.status === 'number' && e.status >= 200 && e.status < 300;

describe('integration: sap-s4hana profile through EndpointClient against the SAP simulator', () => {
  let erp: RunningSimulator;
  let sim: SimControl;
  let sleeps: ReturnType<typeof recordingSleep>;
  let client: EndpointClient;
  const pool = new ClientPool();

  function sapClient(options: Partial<EndpointClientOptions> = {}): EndpointClient {
    return pool.create({
      baseUrl: erp.url, role: 'ERP', repeatability: 'sap', csrf: true, timeoutMs: CLIENT_TIMEOUT_MS, retry: RETRY, sleep: sleeps.sleep,
      random: () => 0.5, // the jitter lands mid-range: delays are exactly half the backoff ceiling
      ...options,
    });
  }

  const write: Write = (event, through = client) => within(callWrite(through, SAP, event), SEND_TIMEOUT_MS, `callWrite ${event.type}`);
  const read: Read = async (name, params) => (await within(callRead(client, SAP, name, params), SEND_TIMEOUT_MS, `callRead ${name}`)).result;
  const requestFor = (event: CanonicalEvent): Promise<WriteRequest> => operationFor(SAP, event.type).toVendor(event);
  const ledgerOf = async (key: string) => (await sim.ledger()).filter((e) => e.key === key);

  /** The simulator's clock runs ahead of the real one by this much: a test moves it on instead of waiting. */
  let erpAhead = 0;
  before(async () => {
    erp = await startSapSimulator({ host: '127.0.0.1', now: () => Date.now() + erpAhead });
    sim = simControl(erp.url);
  });
  after(async () => {
    await erp?.close();
  });
  beforeEach(async () => {
    await sim.reset();
    await sim.config(DEFAULT_SIM_CONFIG);
    sleeps = recordingSleep();
    client = sapClient();
  });
  afterEach(() => pool.closeAll());

  for (const c of WRITES) {
    describe(c.title, () => {
      it('posts through callWrite: the document number, one posting under the repeat key, the new state', async () => {
        await c.setup?.(write);
        const before = (await sim.postings()).length;
        const event = c.event();
        const req = await requestFor(event);
        const res = await write(event);
        assert.equal(res.operation, c.operation);
        assert.equal(res.attempts, 1);
        assertSubset(res.result, c.document);
        const mine = await ledgerOf(req.repeatKey);
        assert.equal(mine.length, 1, JSON.stringify(mine));
        assert.ok(ok(mine[0]) && mine[0].replayOf === undefined && mine[0].fault === undefined, JSON.stringify(mine[0]));
        for (const [path, value] of Object.entries(c.body ?? {})) assert.deepEqual(valueAt(mine[0].body, path), value, `posted body ${path}`);
        const postings = await sim.postings();
        assert.equal(postings.length, before + 1);
        assert.equal(postings[postings.length - 1].key, req.repeatKey);
        await c.verify(read);
      });

      it('retries two 503s and posts once: attempts 3, backoff delays within the policy', async () => {
        await c.setup?.(write);
        const before = (await sim.postings()).length;
        const event = c.event();
        const req = await requestFor(event);
        await sim.faults({ queue: [{ match: req.path, status: 503 }, { match: req.path, status: 503 }] });
        const res = await write(event);
        assert.equal(res.attempts, 3);
        assertSubset(res.result, c.document);
        assert.deepEqual((await ledgerOf(req.repeatKey)).map((e) => [e.status === 503 ? 503 : ok(e) ? 'ok' : e.status, e.fault]), [[503, 'status'], [503, 'status'], ['ok', undefined]]);
        assert.equal((await sim.postings()).length, before + 1);
        assert.deepEqual(sleeps.delays, [RETRY.baseDelayMs / 2, RETRY.baseDelayMs], 'full jitter at 0.5 of 20 and 40 ms');
        await c.verify(read);
      });

      it('a repeat of the event returns the first document without a second posting', async () => {
        await c.setup?.(write);
        const before = (await sim.postings()).length;
        const event = c.event();
        const req = await requestFor(event);
        const first = await write(event);
        const again = await write(event);
        assert.deepEqual(again.result, first.result);
        assert.equal(again.attempts, 1);
        const mine = await ledgerOf(req.repeatKey);
        assert.equal(mine.length, 2);
        assert.equal(mine[1].replayOf, mine[0].seq, 'the repeat is answered from the first request');
        assert.equal((await sim.postings()).length, before + 1);
        await c.verify(read);
      });

      it(`a response dropped after the commit: ${c.lookup ? 'the lookup finds' : 'the retry returns'} the original document, one posting`, async () => {
        await c.setup?.(write);
        const before = (await sim.postings()).length;
        const event = c.event();
        const req = await requestFor(event);
        await sim.faults({ queue: [{ match: req.path, dropAfterCommit: true }] });
        const res = await write(event);
        assert.equal(res.attempts, c.lookup ? 1 : 2);
        const postings = await sim.postings();
        assert.equal(postings.length, before + 1, 'exactly one document, not two');
        const committed = postings[postings.length - 1];
        assert.equal(committed.fault, 'dropAfterCommit');
        assertSubset(res.result, c.document);
        const mine = await ledgerOf(req.repeatKey);
        if (c.lookup) {
          assert.deepEqual([res.resolvedBy, res.repeated, mine.length], ['lookup', true, 1], 'found by the lookup, not posted again');
        } else {
          assert.deepEqual(res.result, await operationFor(SAP, event.type).fromVendorResponse(committed.response), 'the document the simulator recorded');
          assert.equal(mine.length, 2);
          assert.equal(mine[1].replayOf, mine[0].seq);
        }
        await c.verify(read);
      });

      const contrast = c.withoutKeys.kind === 'posts-twice' ? 'posts a second document'
        : c.withoutKeys.kind === 'rejected' ? `is rejected (${c.withoutKeys.code}) although the first posted`
        : c.withoutKeys.kind === 'refused-found' ? `is refused (${c.withoutKeys.code}) and the lookup finds the first document: a repeat`
          : 'changes nothing (the action is idempotent by itself)';
      it(`without the keys doing their work (the target ignores them), a repeat ${contrast}`, async () => {
        await c.setup?.(write);
        const before = (await sim.postings()).length;
        await sim.config({ ignoreRepeatability: true });
        const event = c.event();
        const first = await write(event);
        assertSubset(first.result, c.document);
        const expect = c.withoutKeys;
        if (expect.kind === 'rejected') {
          const err = await adapterFailure(write(event));
          assert.deepEqual([err.code, err.status, err.targetError?.code, err.attempts], ['TARGET_REJECTED', expect.status, expect.code, 1]);
          assert.equal((await sim.postings()).length, before + 1);
          return;
        }
        const again = await write(event);
        if (expect.kind === 'posts-twice') {
          assertSubset(again.result, expect.second, 'second result');
          const postings = await sim.postings();
          assert.equal(postings.length, before + 2, 'the same event posted twice');
          const key = (await requestFor(event)).repeatKey;
          assert.deepEqual(postings.slice(-2).map((e) => e.key), [key, key], 'both carried the same Repeatability-Request-ID, which the target ignored');
        } else {
          assertSubset(again.result, c.document, 'second result');
          assert.equal((await sim.postings()).length, before + 1);
          if (expect.kind === 'refused-found') assert.deepEqual([again.repeated, again.resolvedBy], [true, undefined], 'refused, then found: a repeat');
        }
      });

      const dropContrast = c.lookup ? 'the lookup finds the document and nothing posts twice'
        : c.withoutKeys.kind === 'posts-twice' ? 'the retry posts a second document'
        : c.withoutKeys.kind === 'rejected' ? `the retry is rejected (${c.withoutKeys.code}) although the first posted`
          : 'the retry succeeds only because the action is idempotent by itself';
      it(`without the keys doing their work (the target ignores them), after a dropped response ${dropContrast}`, async () => {
        await c.setup?.(write);
        const before = (await sim.postings()).length;
        await sim.config({ ignoreRepeatability: true });
        const event = c.event();
        const req = await requestFor(event);
        await sim.faults({ queue: [{ match: req.path, dropAfterCommit: true }] });
        const expect = c.withoutKeys;
        if (c.lookup) {
          const res = await write(event);
          assert.deepEqual([res.attempts, res.resolvedBy], [1, 'lookup']);
          assert.equal((await sim.postings()).length, before + 1);
          assertSubset(res.result, c.document);
          return;
        }
        if (expect.kind === 'rejected') {
          const err = await adapterFailure(write(event));
          assert.deepEqual([err.code, err.status, err.targetError?.code, err.attempts], ['TARGET_REJECTED', expect.status, expect.code, 2]);
          assert.equal((await sim.postings()).length, before + 1, 'posted once, yet reported as rejected');
          return;
        }
        const res = await write(event);
        assert.equal(res.attempts, 2);
        const postings = await sim.postings();
        if (expect.kind === 'posts-twice') {
          assert.equal(postings.length, before + 2, 'the retry posted a second document');
          assertSubset(res.result, expect.second, 'result');
        } else {
          assert.equal(postings.length, before + 1);
          assertSubset(res.result, c.document);
        }
      });
    });
  }

  describe('reads', () => {
    it('readProductionOrder of the released seed order 1000124 validates as mfg.productionorder.released.v1', async () => {
      const order = await read('readProductionOrder', { orderId: '1000124' }) as Record<string, unknown>;
      assertSubset(order, { orderId: '1000124', revision: 0, material: 'FG-4712', quantity: { value: 50, uom: 'EA' }, site: 'P100', state: 'Released' });
      assertValidAs('mfg.productionorder.released.v1', order, '/plants/P100/erp');
    });

    it('readProductionOrder of 1000123 before and after the release: operations, components, state', async () => {
      const before = await read('readProductionOrder', { orderId: '1000123' }) as {
        state: string; operations: Array<{ operationId: string; workCenter: string; materialRequirements?: Array<Record<string, unknown>> }>;
      };
      assert.equal(before.state, 'Waiting');
      assert.deepEqual(before.operations.map((o) => [o.operationId, o.workCenter]), [['0010', 'WC-CUT1'], ['0020', 'WC-ASSY1']]);
      assertSubset(before.operations[0].materialRequirements?.[0], {
        material: 'RM-100-STEEL', quantity: { value: 200, uom: 'KG' }, use: 'Consumed', storageLocation: '0001', reservation: { number: '12345', item: '0001' },
      }, 'component');
      await write(events.release());
      const after = await read('readProductionOrder', { orderId: '1000123' }) as { state: string };
      assert.equal(after.state, 'Released');
      assertValidAs('mfg.productionorder.released.v1', after, '/plants/P100/erp');
    });

    it('readStock lists the seed stock in canonical units', async () => {
      const items = await read('readStock', { material: 'RM-100-STEEL', site: 'P100' });
      assert.deepEqual(items, [{ material: 'RM-100-STEEL', site: 'P100', storageLocation: '0001', stockType: 'Unrestricted', quantity: { value: 500, uom: 'KG' } }]);
      assert.deepEqual(stockAt(await read('readStock', { material: 'FG-4711', site: 'P100' }), { storageLocation: '0001', stockType: 'QualityInspection', lot: 'L2026-1126-01' }), { value: 100, uom: 'EA' });
    });

    it('a read answered 503 is retried', async () => {
      await sim.faults({ queue: [{ match: 'A_MatlStkInAcctMod', status: 503 }] });
      const res = await within(callRead(client, SAP, 'readStock', { material: 'RM-100-STEEL', site: 'P100' }), SEND_TIMEOUT_MS, 'read');
      assert.equal(res.attempts, 2);
      assert.equal(stockAt(res.result, { storageLocation: '0001', stockType: 'Unrestricted' })?.value, 500);
      assert.deepEqual((await sim.ledger()).map((e) => [e.method, e.status, e.fault]), [['GET', 503, 'status']]);
    });
  });

  describe('releaseProductionOrder sends the If-Match it read', () => {
    it('GETs the order, sends its ETag as If-Match, and the order is released with a new ETag', async () => {
      const proxy = await startRecordingProxy(erp.url);
      try {
        const event = events.release();
        const res = await write(event, sapClient({ baseUrl: proxy.url }));
        const read = proxy.exchanges.find((e) => e.method === 'GET' && e.path.includes('A_ProductionOrder_2'));
        const release = proxy.exchanges.find((e) => e.method === 'POST' && e.path.includes('ReleaseOrder'));
        assert.ok(read && release, trace(proxy.exchanges).join('\n'));
        const etag = read.responseHeaders?.etag;
        assert.match(String(etag), /^W\/".+"$/);
        assert.equal(release.requestHeaders['if-match'], etag);
        assert.equal(release.status, 200);
        assert.notEqual((res.result as { etag?: string }).etag, etag, 'the release changed the version');
        assert.equal(proxy.exchanges.indexOf(read) < proxy.exchanges.indexOf(release), true);
        assert.deepEqual(new Set(proxy.exchanges.map((e) => e.requestHeaders['x-correlation-id'])), new Set([event.correlationid]),
          'every exchange of the send carries the event\'s correlation id');
      } finally {
        await proxy.close();
      }
    });
  });

  describe('CSRF', () => {
    it('renews an expired token: 403 x-csrf-token Required, a new fetch, the write repeated; one posting per write', async () => {
      await sim.config({ csrfTtlMs: 600 });
      const proxy = await startRecordingProxy(erp.url);
      try {
        const viaProxy = sapClient({ baseUrl: proxy.url });
        const one = events.consume(10);
        const two = events.consume(5);
        const first = await write(one, viaProxy);
        erpAhead += 800; // > csrfTtlMs, on the simulator's clock
        const second = await write(two, viaProxy);
        assert.deepEqual([first.attempts, second.attempts], [1, 1], 'a CSRF renewal is not a retry');
        assertSubset(first.result, { documentNumber: '4900000001' });
        assertSubset(second.result, { documentNumber: '4900000002' });

        const x = proxy.exchanges;
        assert.deepEqual(trace(x), [
          `GET ${MDOC}/ 404`, `POST ${MDOC_POST} 201`, `POST ${MDOC_POST} 403`, `GET ${MDOC}/ 404`, `POST ${MDOC_POST} 201`,
        ]);
        assert.equal(x[0].requestHeaders['x-csrf-token'], 'Fetch');
        const oldToken = x[0].responseHeaders?.['x-csrf-token'];
        assert.equal(x[2].requestHeaders['x-csrf-token'], oldToken, 'the expired token was sent');
        assert.equal(x[2].responseHeaders?.['x-csrf-token'], 'Required');
        const newToken = x[3].responseHeaders?.['x-csrf-token'];
        assert.ok(newToken && newToken !== oldToken);
        assert.equal(x[4].requestHeaders['x-csrf-token'], newToken);
        assert.equal(x[4].requestHeaders['repeatability-request-id'], x[2].requestHeaders['repeatability-request-id'], 'the same request, repeated');

        // The simulator ledger records requests that reached the business logic: the gateway's 403
        // is not among them (sim/README.md), which is why the proxy above shows it.
        const ledger = await sim.ledger();
        const keys = [(await requestFor(one)).repeatKey, (await requestFor(two)).repeatKey];
        assert.deepEqual(ledger.map((e) => [e.key, e.status]), [[keys[0], 201], [keys[1], 201]]);
        assert.deepEqual((await sim.postings()).map((e) => e.key), keys, 'exactly one posting per write');
      } finally {
        await proxy.close();
      }
    });
  });

  describe('CSRF token fetch as real gateways answer it', () => {
    const PO = `${ODATA}/API_PRODUCTION_ORDER_2_SRV`;
    type Mode = { csrfTokenOn: 'any' | 'service-root' | 'entity-set'; csrfFetchStatus: number };
    /** Per simulator mode, the token fetches of the goods movement and then of the release (function import). */
    const MODES: Array<{ mode: Mode; movement: string[]; release: string[] }> = [
      { mode: { csrfTokenOn: 'any', csrfFetchStatus: 404 }, movement: [`GET ${MDOC}/ 404`], release: [`GET ${PO}/ 404`] },
      { mode: { csrfTokenOn: 'any', csrfFetchStatus: 405 }, movement: [`GET ${MDOC}/ 405`], release: [`GET ${PO}/ 405`] },
      { mode: { csrfTokenOn: 'any', csrfFetchStatus: 403 }, movement: [`GET ${MDOC}/ 403`], release: [`GET ${PO}/ 403`] },
      { mode: { csrfTokenOn: 'service-root', csrfFetchStatus: 0 }, movement: [`GET ${MDOC}/ 200`], release: [`GET ${PO}/ 200`] },
      { mode: { csrfTokenOn: 'entity-set', csrfFetchStatus: 0 }, movement: [`GET ${MDOC}/ 200`, `GET ${MDOC_POST} 200`], release: [`GET ${PO}/ 200`, `GET ${PO}/ReleaseOrder 404`] },
      { mode: { csrfTokenOn: 'entity-set', csrfFetchStatus: 405 }, movement: [`GET ${MDOC}/ 405`, `GET ${MDOC_POST} 405`], release: [`GET ${PO}/ 405`, `GET ${PO}/ReleaseOrder 405`] },
    ];

    for (const { mode, movement, release } of MODES) {
      it(`token on ${mode.csrfTokenOn}, fetch answered ${mode.csrfFetchStatus || 'as a read'}: a goods movement and a release each post once`, async () => {
        await sim.config(mode);
        const proxy = await startRecordingProxy(erp.url);
        try {
          const viaProxy = sapClient({ baseUrl: proxy.url });
          const moved = await write(events.consume(10), viaProxy);
          assertSubset(moved.result, { documentNumber: '4900000001' });
          const released = await write(events.release(), viaProxy);
          assert.equal(released.attempts, 1);
          const fetches = proxy.exchanges.filter((e) => e.requestHeaders['x-csrf-token'] === 'Fetch');
          assert.deepEqual(trace(fetches), [...movement, ...release]);
          const writes = proxy.exchanges.filter((e) => e.method === 'POST');
          assert.deepEqual(writes.map((e) => e.status), [201, 200], 'no 403: each write carried a valid token and session');
          assert.deepEqual((await sim.postings()).map((e) => [e.method, e.path.replace(/\?.*$/, ''), e.status]), [
            ['POST', MDOC_POST, 201], ['POST', `${PO}/ReleaseOrder`, 200],
          ], 'one goods movement, one release');
        } finally {
          await proxy.close();
        }
      });
    }

    it('no token anywhere: a retryable TARGET_UNAVAILABLE naming the token fetch, nothing posted; the same event posts once the gateway hands one out', async () => {
      await sim.config({ csrfTokenOn: 'none', csrfFetchStatus: 404 });
      const event = events.consume(10);
      const err = await adapterFailure(write(event));
      assert.equal(err.code, 'TARGET_UNAVAILABLE');
      assert.equal(err.retryable, true);
      assert.match(err.message, /handed out no CSRF token for POST .*A_MaterialDocumentHeader: the token fetch/);
      assert.match(err.message, /answered HTTP 404, GET .*A_MaterialDocumentHeader answered HTTP 404/);
      assert.doesNotMatch(err.message, /correct the event/);
      assert.deepEqual(await sim.ledger(), [], 'no write reached the simulator');

      await sim.config({ csrfTokenOn: 'any' });
      const res = await write(event);
      assertSubset(res.result, { documentNumber: '4900000001' });
      assert.equal((await sim.postings()).length, 1);
    });
  });

  describe('Retry-After', () => {
    it('honours 429 Retry-After: 1 (waits >= 1000 ms) and posts once', async () => {
      const event = events.consume();
      const req = await requestFor(event);
      await sim.faults({ queue: [{ match: MDOC_POST, status: 429, retryAfterSec: 1 }] });
      const started = Date.now();
      const res = await write(event);
      const elapsed = Date.now() - started;
      assert.equal(res.attempts, 2);
      assert.equal(sleeps.delays.length, 1);
      assert.ok(sleeps.delays[0] >= 1000, `requested delay ${sleeps.delays[0]} ms`);
      assert.ok(elapsed >= 1000, `took ${elapsed} ms`);
      assert.deepEqual((await ledgerOf(req.repeatKey)).map((e) => [e.status, e.fault]), [[429, 'status'], [201, undefined]]);
      assert.equal((await sim.postings()).length, 1);
    });
  });

  describe('4xx', () => {
    it('a confirmation of the unreleased order 1000123 is TARGET_REJECTED RU/505 at once: attempts 1, no posting', async () => {
      const event = events.confirm('1000123');
      const err = await adapterFailure(write(event));
      assert.equal(err.code, 'TARGET_REJECTED');
      assert.equal(err.status, 400);
      assert.equal(err.targetError?.code, 'RU/505');
      assert.equal(err.attempts, 1);
      assert.equal(err.retryable, false);
      assert.deepEqual(sleeps.delays, []);
      assert.deepEqual((await sim.ledger()).map((e) => [e.key, e.status]), [[(await requestFor(event)).repeatKey, 400]]);
      assert.deepEqual(await sim.postings(), []);
    });

    it('a consumption beyond the stock is TARGET_REJECTED M7/021 at once; the stock is unchanged', async () => {
      const err = await adapterFailure(write(events.consume(600)));
      assert.deepEqual([err.code, err.status, err.targetError?.code, err.attempts], ['TARGET_REJECTED', 400, 'M7/021', 1]);
      assert.deepEqual(await sim.postings(), []);
      assert.equal((await steel(read))['0001 U'], 500);
    });
  });

  describe('circuit breaker', () => {
    it('opens after 3 failing attempts, refuses the next call without a request, closes after openMs', async () => {
      const clock = fakeClock();
      const guarded = sapClient({ breaker: { failureThreshold: 3, openMs: 300 }, retry: { ...RETRY, maxAttempts: 3 }, now: clock.now, sleep: clock.sleep });
      await sim.faults({ queue: [1, 2, 3].map(() => ({ match: MDOC_POST, status: 503 })) });
      const failed = await adapterFailure(write(events.consume(10), guarded));
      assert.deepEqual([failed.code, failed.attempts], ['TARGET_UNAVAILABLE', 3]);
      assert.equal(guarded.breakerState().state, 'open');
      assert.equal((await sim.ledger()).length, 3);

      // A sentinel fault any request would use up: it proves that nothing reached the simulator.
      await sim.faults({ queue: [{ delayMs: 1 }] });
      const refused = await adapterFailure(write(events.consume(5), guarded));
      assert.equal(refused.code, 'CIRCUIT_OPEN');
      assert.equal(refused.attempts, 0);
      assert.ok(refused.retryAfterMs !== undefined && refused.retryAfterMs > 0 && refused.retryAfterMs <= 300, `retryAfterMs ${refused.retryAfterMs}`);
      assert.equal((await sim.ledger()).length, 3, 'no request for the refused call');
      assert.equal((await sim.faultQueue()).length, 1);

      clock.advance(300);
      assert.equal(guarded.breakerState().state, 'half-open');
      const res = await write(events.consume(5), guarded);
      assert.equal(res.attempts, 1);
      assertSubset(res.result, { documentNumber: '4900000001' });
      assert.deepEqual(guarded.breakerState(), { state: 'closed', consecutiveFailures: 0, openedAt: undefined, nextAttemptAt: undefined });
      assert.equal((await sim.faultQueue()).length, 0, 'the trial reached the simulator');
      assert.equal((await sim.postings()).length, 1);
    });

    it('with the default breaker, a simulator down for 2 s costs about 2 s of refusals, not 30 (real clock)', async () => {
      const guarded = sapClient({ retry: { ...RETRY, maxAttempts: 1 } }); // the default breaker: 5 failures, first trial after 2 s
      await write(events.consume(1), guarded); // the CSRF token is fetched: the outage hits the postings
      const event = events.consume(2);
      await sim.faults({ errorRate: 1, errorStatuses: [503] }); // the gateway is down
      const downAt = Date.now();
      let upAt: number | undefined;
      let okAt: number | undefined;
      const codes: string[] = [];
      await waitFor(async () => {
        if (upAt === undefined && Date.now() - downAt >= 2_000) {
          await sim.faults({}); // back after two seconds
          upAt = Date.now();
        }
        try {
          await write(event, guarded);
          okAt = Date.now();
          return true;
        } catch (err) {
          codes.push((err as { code: string }).code);
          return false;
        }
      }, 15_000, 'a posting after the simulator is back');
      assert.ok(upAt !== undefined && okAt !== undefined);
      const opened = codes.indexOf('CIRCUIT_OPEN');
      assert.ok(opened >= 5, `the breaker opened after the default 5 failures: ${codes.slice(0, 8).join(' ')}`);
      assert.ok(codes.slice(0, opened).every((c) => c === 'TARGET_UNAVAILABLE'));
      assert.ok(okAt - upAt <= 4_500, `posted ${okAt - upAt} ms after the simulator was back`);
      assert.ok(okAt - downAt <= 6_500, `refused for ${okAt - downAt} ms in all for a 2 s outage`);
      assert.equal(guarded.breakerState().state, 'closed');
      assert.equal((await sim.postings()).length, 2, 'the warm-up and the event, each once');
    });

    it('a breaker that opens during a send ends its retries: CIRCUIT_OPEN after 3 requests, no 4th', async () => {
      const clock = fakeClock();
      const guarded = sapClient({ breaker: { failureThreshold: 3, openMs: 300 }, now: clock.now, sleep: clock.sleep }); // maxAttempts 4
      await sim.faults({ queue: [1, 2, 3, 4].map(() => ({ match: MDOC_POST, status: 503 })) });
      const err = await adapterFailure(write(events.consume(10), guarded));
      assert.deepEqual([err.code, err.attempts], ['CIRCUIT_OPEN', 3]);
      assert.equal((await sim.ledger()).length, 3);
      assert.equal((await sim.faultQueue()).length, 1, 'the fourth 503 was never requested');
    });
  });

  describe('repeatability keys', () => {
    it('a confirmation repeated without Repeatability headers is deduplicated by its ExternalSystemConfirmation', async () => {
      await write(events.release());
      const bare = sapClient({ repeatability: 'none' });
      const event = events.confirm();
      const esc = externalKeyFor('confirmOperation', String(event.idempotencykey));
      const first = await write(event, bare);
      const again = await write(event, bare);
      assert.deepEqual(again.result, first.result);
      assertSubset(first.result, { documentNumber: '0000000123', confirmationCount: '00000001' });
      const mine = (await sim.ledger()).filter((e) => String(e.path).includes('ProdnOrdConf2'));
      assert.deepEqual(mine.map((e) => [e.key, (e.body as Record<string, unknown>).ExternalSystemConfirmation]), [[esc, esc], [esc, esc]],
        'no Repeatability-Request-ID: the ledger key is the ExternalSystemConfirmation');
      assert.equal(mine[1].replayOf, mine[0].seq);
      assert.equal((await sim.postings()).filter((e) => String(e.path).includes('ProdnOrdConf2')).length, 1);
    });

    it('a confirmation whose response was dropped, without Repeatability headers: the lookup by ExternalSystemConfirmation finds the original', async () => {
      await write(events.release());
      const bare = sapClient({ repeatability: 'none' });
      const event = events.confirm();
      await sim.faults({ queue: [{ match: 'ProdnOrdConf2', dropAfterCommit: true }] });
      const res = await write(event, bare);
      assert.deepEqual([res.attempts, res.resolvedBy], [1, 'lookup']);
      assertSubset(res.result, { documentNumber: '0000000123', confirmationCount: '00000001' });
      const postings = (await sim.postings()).filter((e) => String(e.path).includes('ProdnOrdConf2'));
      assert.equal(postings.length, 1);
      assert.equal(postings[0].fault, 'dropAfterCommit');
      const mine = (await sim.ledger()).filter((e) => String(e.path).includes('ProdnOrdConf2'));
      assert.equal(mine.length, 1, 'posted once: the lookup is a GET');
    });

    it('contrast: the same confirmation without Repeatability headers and with the target ignoring keys posts twice', async () => {
      await write(events.release());
      await sim.config({ ignoreRepeatability: true });
      const bare = sapClient({ repeatability: 'none' });
      const event = events.confirm();
      assertSubset((await write(event, bare)).result, { confirmationCount: '00000001' });
      assertSubset((await write(event, bare)).result, { confirmationCount: '00000002' });
      assert.equal((await sim.postings()).filter((e) => String(e.path).includes('ProdnOrdConf2')).length, 2);
    });
  });

  describe('mapping errors send nothing', () => {
    async function assertNothingSent(send: () => Promise<unknown>, field: string): Promise<void> {
      await sim.faults({ queue: [{ delayMs: 1 }] }); // used up by any request at all
      const err = await mappingFailure(send());
      assert.equal(err.code, 'MAPPING_ERROR');
      assert.equal(err.field, field);
      assert.ok(err.message.includes(field), err.message);
      assert.deepEqual(await sim.ledger(), []);
      assert.equal((await sim.faultQueue()).length, 1, 'no request reached the simulator');
    }

    it('an inventory.moved Blocked -> QualityInspection has no movement type: MAPPING_ERROR at /data/to/stockType', async () => {
      await assertNothingSent(() => write(events.move(5, ['0001', 'Blocked'], ['0001', 'QualityInspection'])), '/data/to/stockType');
    });

    it('a Hold is no SAP usage decision: MAPPING_ERROR at /data/decision', async () => {
      await assertNothingSent(() => write(events.decide('Hold')), '/data/decision');
    });

    it('the 13-character batch L2026-1126-01 exceeds SAP\'s 10: MAPPING_ERROR at /data/lot', async () => {
      const event = canonical('mfg.material.consumed.v2', {
        movementId: 'MV-261-L1', orderId: '1000123', material: 'FG-4711', lot: 'L2026-1126-01', quantity: { value: 1, uom: 'EA' }, site: 'P100', storageLocation: '0001',
      });
      await assertNothingSent(() => write(event), '/data/lot');
    });
  });

  describe('OAuth 2.0 client credentials (token lifetime 1 s)', () => {
    let secured: RunningSimulator;
    let securedSim: SimControl;
    const CLIENT = { clientId: 'plantsync', clientSecret: 's3cret' };

    /** The secured simulator's clock runs ahead of the real one by this much (moved on by a test instead of waiting). */
    let securedAhead = 0;
    before(async () => {
      secured = await startSapSimulator({ host: '127.0.0.1', auth: { oauth: { ...CLIENT, tokenTtlSec: 1 } }, now: () => Date.now() + securedAhead });
      securedSim = simControl(secured.url);
    });
    after(async () => {
      await secured?.close();
    });
    beforeEach(async () => {
      await securedSim.reset();
    });

    /** A client whose token requests and service calls all pass the recording proxy. */
    function oauthClient(proxyUrl: string, options: { now?: () => number; clientSecret?: string } = {}) {
      const auth = oauth2ClientCredentials({ tokenUrl: `${proxyUrl}${TOKEN_PATH}`, ...CLIENT, ...options, timeoutMs: CLIENT_TIMEOUT_MS });
      pool.onClose(() => auth.close());
      return sapClient({ baseUrl: proxyUrl, auth });
    }

    const tokenRequests = (x: { method: string; path: string }[]) => x.filter((e) => e.method === 'POST' && e.path === TOKEN_PATH).length;

    it('replaces the token before it expires: two writes 1.2 s apart on the client clock, two token requests, no 401', async () => {
      const proxy = await startRecordingProxy(secured.url);
      try {
        // The client's clock is ours: 1.2 s (> tokenTtlSec) pass for it without waiting for them.
        let t = Date.now();
        const c = oauthClient(proxy.url, { now: () => t });
        const first = await write(events.consume(10), c);
        t += 1_200;
        const second = await write(events.consume(5), c);
        assert.deepEqual([first.attempts, second.attempts], [1, 1]);
        assert.deepEqual(trace(proxy.exchanges), [
          `POST ${TOKEN_PATH} 200`, `GET ${MDOC}/ 404`, `POST ${MDOC_POST} 201`, `POST ${TOKEN_PATH} 200`, `POST ${MDOC_POST} 201`,
        ]);
        assert.equal(tokenRequests(proxy.exchanges), 2);
        const writes = proxy.exchanges.filter((e) => e.path === MDOC_POST);
        assert.notEqual(writes[0].requestHeaders.authorization, writes[1].requestHeaders.authorization, 'the second write carried the new token');
        assert.equal((await securedSim.postings()).length, 2);
      } finally {
        await proxy.close();
      }
    });

    it('after a 401 invalid_token (the server expired it first) refreshes once and repeats: attempts 1, one posting', async () => {
      const proxy = await startRecordingProxy(secured.url);
      try {
        const frozen = Date.now();
        const c = oauthClient(proxy.url, { now: () => frozen }); // our clock says the token is still fresh
        await write(events.consume(10), c);
        securedAhead += 1_200; // > tokenTtlSec on the server's clock only
        const second = await write(events.consume(5), c);
        assert.equal(second.attempts, 1, 'a credential refresh is not a retry');
        assert.deepEqual(trace(proxy.exchanges), [
          `POST ${TOKEN_PATH} 200`, `GET ${MDOC}/ 404`, `POST ${MDOC_POST} 201`, `POST ${MDOC_POST} 401`, `POST ${TOKEN_PATH} 200`, `POST ${MDOC_POST} 201`,
        ]);
        assert.match(String(proxy.exchanges[3].responseHeaders?.['www-authenticate']), /invalid_token/);
        assert.equal(tokenRequests(proxy.exchanges), 2);
        assert.equal((await securedSim.postings()).length, 2);
      } finally {
        await proxy.close();
      }
    });

    it('OAuth configured as the plantsync-endpoint node does it (TLS options always given) gets a token from an http:// token URL', async () => {
      // nodes/plantsync-endpoint passes `tls` ({ rejectUnauthorized }) to oauth2ClientCredentials for every endpoint;
      // the token URL here is plain http, as for the simulator and any in-plant gateway without TLS.
      const auth = oauth2ClientCredentials({ tokenUrl: `${secured.url}${TOKEN_PATH}`, ...CLIENT, tls: { rejectUnauthorized: true }, timeoutMs: CLIENT_TIMEOUT_MS });
      pool.onClose(() => auth.close());
      const c = sapClient({ baseUrl: secured.url, auth, tls: { rejectUnauthorized: true } });
      const res = await write(events.consume(10), c);
      assertSubset(res.result, { documentNumber: '4900000001' });
      assert.equal((await securedSim.postings()).length, 1);
    });

    it('a wrong client secret is AUTHENTICATION_FAILED without any service request', async () => {
      const proxy = await startRecordingProxy(secured.url);
      try {
        const c = oauthClient(proxy.url, { clientSecret: 'wrong' });
        const err = await adapterFailure(write(events.consume(10), c));
        assert.equal(err.code, 'AUTHENTICATION_FAILED');
        assert.equal(err.target, 'ERP');
        assert.deepEqual(trace(proxy.exchanges), [`POST ${TOKEN_PATH} 401`]);
        assert.deepEqual(await securedSim.ledger(), []);
      } finally {
        await proxy.close();
      }
    });
  });
});
