/**
 * End to end: the generic-rest mapping profile, called through EndpointClient and callWrite /
 * callRead exactly as a PlantSync request node does (repeatability 'idempotency-key'), against the
 * MES, WMS and QMS simulators. Every write operation is posted, retried, repeated, dropped after
 * the commit and repeated with the target ignoring Idempotency-Key; the client's Retry-After, 5xx,
 * 4xx and circuit-breaker behaviour is shown on the simulators' ledgers.
 */
import * as assert from 'node:assert/strict';
import type { TargetRole } from '../../lib/adapters/adapter-errors';
import type { EndpointClient, EndpointClientOptions } from '../../lib/adapters/endpoint-client';
import { callRead, callWrite, type CallResult } from '../../lib/adapters/profile-call';
import type { CanonicalEvent } from '../../lib/canonical/events';
import { operationFor, PROFILES, type WriteRequest } from '../../lib/mapping';
import { type LedgerEntry, type RunningSimulator, startMesSimulator, startQmsSimulator, startWmsSimulator } from '../../sim';
import {
  adapterFailure, assertValidAs, canonical, CLIENT_TIMEOUT_MS, ClientPool, DEFAULT_SIM_CONFIG, fakeClock, mappingFailure, RETRY, recordingSleep,
  SEND_TIMEOUT_MS, simControl, type SimControl, stockAt, within,
} from './helpers';

const GENERIC = PROFILES['generic-rest'];
type System = 'MES' | 'WMS' | 'QMS';
const SYSTEMS: System[] = ['MES', 'WMS', 'QMS'];

// ---- canonical events (consistent with the simulators' seed data) -------------------------------

const ORDER = {
  orderId: '1000123', revision: 0, material: 'FG-4711', quantity: { value: 100, uom: 'EA' },
  plannedStart: '2026-11-26T06:00:00Z', plannedEnd: '2026-11-27T14:00:00Z', site: 'P100', workCenter: 'WC-ASSY1', state: 'Released',
  operations: [{
    operationId: '0010', description: 'Cut', workCenter: 'WC-CUT1', quantity: { value: 100, uom: 'EA' },
    materialRequirements: [{ material: 'RM-100-STEEL', quantity: { value: 200, uom: 'KG' }, use: 'Consumed' }],
  }],
};

const events = {
  dispatch: (orderId = '1000123') => canonical('mfg.productionorder.released.v1', { ...ORDER, orderId }, '/plants/P100/erp'),
  revise: () => canonical('mfg.productionorder.revised.v1', { ...ORDER, revision: 1, quantity: { value: 90, uom: 'EA' } }, '/plants/P100/erp'),
  confirm: () => canonical('mfg.operation.completed.v3', {
    confirmationId: 'CNF-1000124-0010-1', orderId: '1000124', operationId: '0010', workCenter: 'WC-PACK1', site: 'P100', actualStart: '2026-11-26T14:00:00Z', actualEnd: '2026-11-26T15:00:00Z',
    yield: { value: 30, uom: 'EA' }, scrap: { value: 0, uom: 'EA' }, confirmationType: 'Partial',
  }),
  consume: (uom = 'KG') => canonical('mfg.material.consumed.v2', {
    movementId: `MV-261-${uom}`, orderId: '1000123', operationId: '0010', material: 'RM-100-STEEL', quantity: { value: 12.5, uom }, site: 'P100', storageLocation: 'A-01-01',
  }),
  move: (kg = 20) => canonical('mfg.inventory.moved.v2', {
    movementId: `TO-${kg}`, material: 'RM-100-STEEL', quantity: { value: kg, uom: 'KG' },
    from: { site: 'P100', storageLocation: 'A-01-01', stockType: 'Unrestricted' }, to: { site: 'P100', storageLocation: 'QC-01', stockType: 'QualityInspection' },
    reason: { code: 'SAMPLE' },
  }, '/plants/P100/mes'),
  release: () => canonical('mfg.quality.disposition.changed.v1', {
    lot: 'L2026-1126-01', material: 'FG-4711', site: 'P100', from: 'Restricted', to: 'Unrestricted', decision: 'Release',
    decidedBy: 'QM-USER1', decidedAt: '2026-11-27T10:15:00Z',
  }, '/plants/P100/qms'),
  giveBack: () => canonical('mfg.material.returned.v2', {
    movementId: 'MV-262-1', orderId: '1000123', material: 'RM-100-STEEL', quantity: { value: 500, uom: 'GRM' }, site: 'P100', storageLocation: 'A-01-01',
  }),
};

// ---- the harness -----------------------------------------------------------------------------

type Write = (event: CanonicalEvent, client?: EndpointClient) => Promise<CallResult>;
type Read = (name: string, params: Record<string, string>) => Promise<unknown>;

interface WriteCase {
  title: string;
  operation: string;
  system: System;
  event: () => CanonicalEvent;
  setup?: (write: Write) => Promise<void>;
  document: Record<string, unknown>;
  /** Fields of the posted vendor body, by '/'-separated path. */
  body?: Record<string, unknown>;
  verify: (read: Read) => Promise<void>;
  withoutKeys: { kind: 'posts-twice'; second: Record<string, unknown> } | { kind: 'rejected'; status: number; code: string };
}

const WRITES: WriteCase[] = [
  {
    title: 'dispatchOrder (mfg.productionorder.released.v1) on the MES',
    operation: 'dispatchOrder',
    system: 'MES',
    event: () => events.dispatch(),
    document: { documentNumber: '1000123', status: 'RELEASED' },
    body: { orderId: '1000123', 'quantity/amount': 100, 'quantity/unit': 'PCE', 'operations/0/materials/0/use': 'CONSUME', 'operations/0/materials/0/quantity/unit': 'KGM' },
    verify: async (read) => {
      const order = await read('readOrder', { orderId: '1000123' }) as Record<string, unknown>;
      assertSubset(order, { orderId: '1000123', revision: 0, state: 'Released', quantity: { value: 100, uom: 'EA' } });
      assertValidAs('mfg.productionorder.released.v1', order, '/plants/P100/mes');
    },
    withoutKeys: { kind: 'rejected', status: 409, code: 'order_exists' },
  },
  {
    title: 'reviseOrder (mfg.productionorder.revised.v1) on the MES',
    operation: 'reviseOrder',
    system: 'MES',
    event: events.revise,
    setup: async (write) => {
      await write(events.dispatch());
    },
    document: { documentNumber: '1000123', status: 'RELEASED' },
    body: { revision: 1, 'quantity/amount': 90, status: 'RELEASED' },
    verify: async (read) => {
      const order = await read('readOrder', { orderId: '1000123' }) as Record<string, unknown>;
      assertSubset(order, { revision: 1, quantity: { value: 90, uom: 'EA' } });
      assertValidAs('mfg.productionorder.revised.v1', order, '/plants/P100/mes');
    },
    withoutKeys: { kind: 'posts-twice', second: { documentNumber: '1000123' } },
  },
  {
    title: 'confirmOperation (mfg.operation.completed.v3) on the MES',
    operation: 'confirmOperation',
    system: 'MES',
    event: events.confirm,
    document: { documentNumber: 'MC-000001', orderId: '1000124', sequence: '0010' },
    body: { goodQuantity: 30, scrapQuantity: 0, reworkQuantity: 0, unit: 'PCE', final: false },
    verify: async (read) => {
      const order = await read('readOrder', { orderId: '1000124' }) as Record<string, unknown>;
      assert.equal(order.state, 'Running'); // IN_PROGRESS after a partial confirmation
    },
    withoutKeys: { kind: 'posts-twice', second: { documentNumber: 'MC-000002' } },
  },
  {
    title: 'consumeMaterial (mfg.material.consumed.v2) on the MES',
    operation: 'consumeMaterial',
    system: 'MES',
    event: () => events.consume(),
    setup: async (write) => {
      await write(events.dispatch());
    },
    document: { documentNumber: 'MCN-000001' },
    body: { material: 'RM-100-STEEL', 'quantity/amount': 12.5, 'quantity/unit': 'KGM', location: 'A-01-01', sequence: '0010' },
    // The MES has no consumption read; the ledger body above is the state.
    verify: async (read) => {
      assert.equal((await read('readOrder', { orderId: '1000123' }) as Record<string, unknown>).state, 'Released');
    },
    withoutKeys: { kind: 'posts-twice', second: { documentNumber: 'MCN-000002' } },
  },
  {
    title: 'moveInventory (mfg.inventory.moved.v2) on the WMS',
    operation: 'moveInventory',
    system: 'WMS',
    event: () => events.move(),
    document: { documentNumber: 'WM-000001' },
    body: { 'quantity/amount': 20, 'quantity/unit': 'KGM', 'from/location': 'A-01-01', 'from/status': 'AVAILABLE', 'to/location': 'QC-01', 'to/status': 'QC', reason: 'SAMPLE' },
    verify: async (read) => {
      const items = await read('readStock', { material: 'RM-100-STEEL', site: 'P100' });
      assert.deepEqual(stockAt(items, { storageLocation: 'A-01-01', stockType: 'Unrestricted' }), { value: 480, uom: 'KG' });
      assert.deepEqual(stockAt(items, { storageLocation: 'QC-01', stockType: 'QualityInspection' }), { value: 20, uom: 'KG' });
    },
    withoutKeys: { kind: 'posts-twice', second: { documentNumber: 'WM-000002' } },
  },
  {
    title: 'changeDisposition (mfg.quality.disposition.changed.v1) on the QMS',
    operation: 'changeDisposition',
    system: 'QMS',
    event: events.release,
    document: { documentNumber: 'QD-000001', lot: 'L2026-1126-01', status: 'RELEASED' },
    body: { decision: 'RELEASE', code: 'RELEASE', decidedBy: 'QM-USER1' },
    verify: async (read) => {
      assertSubset(await read('readLot', { lot: 'L2026-1126-01' }), { lot: 'L2026-1126-01', disposition: 'Unrestricted' });
    },
    withoutKeys: { kind: 'posts-twice', second: { documentNumber: 'QD-000002' } },
  },
];

function assertSubset(actual: unknown, expected: Record<string, unknown>, what = 'result'): void {
  for (const [k, v] of Object.entries(expected)) assert.deepEqual((actual as Record<string, unknown>)[k], v, `${what}.${k} (${JSON.stringify(actual)})`);
}

function valueAt(doc: unknown, path: string): unknown {
  return path.split('/').reduce<unknown>((node, part) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined), doc);
}

const ok = (e: LedgerEntry) => typeof e.status === 'number' && e.status >= 200 && e.status < 300;

describe('integration: generic-rest profile through EndpointClient against the MES, WMS and QMS simulators', () => {
  const running = {} as Record<System, RunningSimulator>;
  const sims = {} as Record<System, SimControl>;
  let clients: Record<System, EndpointClient>;
  let sleeps: ReturnType<typeof recordingSleep>;
  const pool = new ClientPool();

  function restClient(system: System, options: Partial<EndpointClientOptions> = {}): EndpointClient {
    return pool.create({
      baseUrl: running[system].url, role: system as TargetRole, repeatability: 'idempotency-key', timeoutMs: CLIENT_TIMEOUT_MS, retry: RETRY,
      sleep: sleeps.sleep, random: () => 0.5, ...options,
    });
  }

  const systemOf = (event: CanonicalEvent): System => operationFor(GENERIC, event.type).system as System;
  /** Like a request node: the event goes to the endpoint of the system its operation writes. */
  const write: Write = (event, through) => within(callWrite(through ?? clients[systemOf(event)], GENERIC, event), SEND_TIMEOUT_MS, `callWrite ${event.type}`);
  const read: Read = async (name, params) => {
    const system = GENERIC.operation(name).system as System;
    return (await within(callRead(clients[system], GENERIC, name, params), SEND_TIMEOUT_MS, `callRead ${name}`)).result;
  };
  const requestFor = (event: CanonicalEvent): Promise<WriteRequest> => operationFor(GENERIC, event.type).toVendor(event);

  before(async () => {
    [running.MES, running.WMS, running.QMS] = await Promise.all([
      startMesSimulator({ host: '127.0.0.1' }), startWmsSimulator({ host: '127.0.0.1' }), startQmsSimulator({ host: '127.0.0.1' }),
    ]);
    for (const s of SYSTEMS) sims[s] = simControl(running[s].url);
  });
  after(async () => {
    await Promise.all(SYSTEMS.map((s) => running[s]?.close()));
  });
  beforeEach(async () => {
    for (const s of SYSTEMS) {
      await sims[s].reset();
      await sims[s].config({ ignoreRepeatability: DEFAULT_SIM_CONFIG.ignoreRepeatability });
    }
    sleeps = recordingSleep();
    clients = { MES: restClient('MES'), WMS: restClient('WMS'), QMS: restClient('QMS') };
  });
  afterEach(() => pool.closeAll());

  for (const c of WRITES) {
    describe(c.title, () => {
      const sim = () => sims[c.system];
      const ledgerOf = async (key: string) => (await sim().ledger()).filter((e) => e.key === key);

      it('posts through callWrite: the document number, one posting under the Idempotency-Key, the new state', async () => {
        await c.setup?.(write);
        const before = (await sim().postings()).length;
        const event = c.event();
        assert.equal(systemOf(event), c.system);
        const req = await requestFor(event);
        const res = await write(event);
        assert.equal(res.operation, c.operation);
        assert.equal(res.attempts, 1);
        assertSubset(res.result, c.document);
        const mine = await ledgerOf(req.repeatKey);
        assert.equal(mine.length, 1, JSON.stringify(mine));
        assert.ok(ok(mine[0]) && mine[0].replayOf === undefined && mine[0].fault === undefined, JSON.stringify(mine[0]));
        assert.equal(mine[0].path, req.path);
        for (const [path, value] of Object.entries(c.body ?? {})) assert.deepEqual(valueAt(mine[0].body, path), value, `posted body ${path}`);
        const postings = await sim().postings();
        assert.equal(postings.length, before + 1);
        assert.equal(postings[postings.length - 1].key, req.repeatKey);
        await c.verify(read);
      });

      it('retries two 503s and posts once: attempts 3, backoff delays within the policy', async () => {
        await c.setup?.(write);
        const before = (await sim().postings()).length;
        const event = c.event();
        const req = await requestFor(event);
        await sim().faults({ queue: [{ match: req.path, status: 503 }, { match: req.path, status: 503 }] });
        const res = await write(event);
        assert.equal(res.attempts, 3);
        assertSubset(res.result, c.document);
        assert.deepEqual((await ledgerOf(req.repeatKey)).map((e) => [ok(e) ? 'ok' : e.status, e.fault]), [[503, 'status'], [503, 'status'], ['ok', undefined]]);
        assert.equal((await sim().postings()).length, before + 1);
        assert.deepEqual(sleeps.delays, [RETRY.baseDelayMs / 2, RETRY.baseDelayMs], 'full jitter at 0.5 of 20 and 40 ms');
        await c.verify(read);
      });

      it('a repeat of the event returns the first document without a second posting (Idempotency-Key)', async () => {
        await c.setup?.(write);
        const before = (await sim().postings()).length;
        const event = c.event();
        const req = await requestFor(event);
        const first = await write(event);
        const again = await write(event);
        assert.deepEqual(again.result, first.result);
        assert.equal(again.attempts, 1);
        const mine = await ledgerOf(req.repeatKey);
        assert.equal(mine.length, 2);
        assert.equal(mine[1].replayOf, mine[0].seq, 'the repeat is answered from the first request');
        assert.equal((await sim().postings()).length, before + 1);
        await c.verify(read);
      });

      it('a response dropped after the commit: the retry returns the original document, one posting', async () => {
        await c.setup?.(write);
        const before = (await sim().postings()).length;
        const event = c.event();
        const req = await requestFor(event);
        await sim().faults({ queue: [{ match: req.path, dropAfterCommit: true }] });
        const res = await write(event);
        assert.equal(res.attempts, 2);
        const postings = await sim().postings();
        assert.equal(postings.length, before + 1, 'exactly one document, not two');
        const committed = postings[postings.length - 1];
        assert.equal(committed.fault, 'dropAfterCommit');
        assert.deepEqual(res.result, await operationFor(GENERIC, event.type).fromVendorResponse(committed.response), 'the document the simulator recorded');
        assertSubset(res.result, c.document);
        const mine = await ledgerOf(req.repeatKey);
        assert.equal(mine.length, 2);
        assert.equal(mine[1].replayOf, mine[0].seq);
        await c.verify(read);
      });

      const contrast = c.withoutKeys.kind === 'posts-twice' ? 'posts a second time' : `is rejected (${c.withoutKeys.code}) although the first posted`;
      it(`without Idempotency-Key doing its work (the target ignores it), a repeat ${contrast}`, async () => {
        await c.setup?.(write);
        const before = (await sim().postings()).length;
        await sim().config({ ignoreRepeatability: true });
        const event = c.event();
        const key = (await requestFor(event)).repeatKey;
        assertSubset((await write(event)).result, c.document);
        const expect = c.withoutKeys;
        if (expect.kind === 'rejected') {
          const err = await adapterFailure(write(event));
          assert.deepEqual([err.code, err.status, err.targetError?.code, err.attempts], ['TARGET_REJECTED', expect.status, expect.code, 1]);
          assert.equal((await sim().postings()).length, before + 1);
          return;
        }
        assertSubset((await write(event)).result, expect.second, 'second result');
        const postings = await sim().postings();
        assert.equal(postings.length, before + 2, 'the same event posted twice');
        assert.deepEqual(postings.slice(-2).map((e) => e.key), [key, key], 'both carried the same Idempotency-Key, which the target ignored');
      });

      const dropContrast = c.withoutKeys.kind === 'posts-twice' ? 'the retry posts a second document'
        : c.withoutKeys.kind === 'rejected' ? `the retry is rejected (${c.withoutKeys.code}) although the first posted`
          : 'the retry succeeds only because the action is idempotent by itself';
      it(`without Idempotency-Key doing its work (the target ignores it), after a dropped response ${dropContrast}`, async () => {
        await c.setup?.(write);
        const before = (await sim().postings()).length;
        await sim().config({ ignoreRepeatability: true });
        const event = c.event();
        const req = await requestFor(event);
        await sim().faults({ queue: [{ match: req.path, dropAfterCommit: true }] });
        const expect = c.withoutKeys;
        if (expect.kind === 'rejected') {
          const err = await adapterFailure(write(event));
          assert.deepEqual([err.code, err.status, err.targetError?.code, err.attempts], ['TARGET_REJECTED', expect.status, expect.code, 2]);
          assert.equal((await sim().postings()).length, before + 1, 'posted once, yet reported as rejected');
          return;
        }
        const res = await write(event);
        assert.equal(res.attempts, 2);
        assert.equal((await sim().postings()).length, before + 2, 'the retry posted a second time');
        assertSubset(res.result, expect.second, 'result');
      });
    });
  }

  describe('reads', () => {
    it('readOrder of the seed order 1000124 validates as mfg.productionorder.released.v1', async () => {
      const order = await read('readOrder', { orderId: '1000124' }) as Record<string, unknown>;
      assertSubset(order, {
        orderId: '1000124', revision: 0, material: 'FG-4712', quantity: { value: 50, uom: 'EA' }, site: 'P100', workCenter: 'WC-PACK1', state: 'Released',
      });
      assertValidAs('mfg.productionorder.released.v1', order, '/plants/P100/mes');
    });

    it('readStock lists the WMS seed stock in canonical units', async () => {
      assert.deepEqual(await read('readStock', { material: 'RM-100-STEEL', site: 'P100' }), [
        { material: 'RM-100-STEEL', site: 'P100', storageLocation: 'A-01-01', stockType: 'Unrestricted', quantity: { value: 500, uom: 'KG' } },
      ]);
      assert.deepEqual(stockAt(await read('readStock', { material: 'FG-4711', site: 'P100' }), { storageLocation: 'QC-01', stockType: 'QualityInspection', lot: 'L2026-1126-01' }),
        { value: 100, uom: 'EA' });
    });

    it('readLot reads the QMS lot on hold as Restricted', async () => {
      assert.deepEqual(await read('readLot', { lot: 'L2026-1126-01' }), {
        lot: 'L2026-1126-01', material: 'FG-4711', site: 'P100', disposition: 'Restricted', quantity: { value: 100, uom: 'EA' },
      });
    });

    it('a read answered 503 is retried', async () => {
      await sims.MES.faults({ queue: [{ match: '/api/v1/orders/1000124', status: 503 }] });
      const res = await within(callRead(clients.MES, GENERIC, 'readOrder', { orderId: '1000124' }), SEND_TIMEOUT_MS, 'read');
      assert.equal(res.attempts, 2);
      assertSubset(res.result, { orderId: '1000124' });
      assert.deepEqual((await sims.MES.ledger()).map((e) => [e.method, e.status, e.fault]), [['GET', 503, 'status']]);
    });
  });

  describe('Retry-After', () => {
    it('honours 429 Retry-After: 1 on the WMS (waits >= 1000 ms) and moves once', async () => {
      const event = events.move();
      const req = await requestFor(event);
      await sims.WMS.faults({ queue: [{ status: 429, retryAfterSec: 1 }] });
      const started = Date.now();
      const res = await write(event);
      const elapsed = Date.now() - started;
      assert.equal(res.attempts, 2);
      assert.equal(sleeps.delays.length, 1);
      assert.ok(sleeps.delays[0] >= 1000, `requested delay ${sleeps.delays[0]} ms`);
      assert.ok(elapsed >= 1000, `took ${elapsed} ms`);
      assert.deepEqual((await sims.WMS.ledger()).map((e) => [e.key, e.status, e.fault]), [[req.repeatKey, 429, 'status'], [req.repeatKey, 201, undefined]]);
      assert.equal((await sims.WMS.postings()).length, 1);
    });
  });

  describe('4xx', () => {
    it('a move beyond the stock is TARGET_REJECTED 409 insufficient_stock at once: attempts 1, stock unchanged', async () => {
      const err = await adapterFailure(write(events.move(600)));
      assert.equal(err.code, 'TARGET_REJECTED');
      assert.equal(err.target, 'WMS');
      assert.equal(err.status, 409);
      assert.equal(err.targetError?.code, 'insufficient_stock');
      assert.equal(err.attempts, 1);
      assert.equal(err.retryable, false);
      assert.deepEqual(sleeps.delays, []);
      assert.deepEqual((await sims.WMS.ledger()).map((e) => e.status), [409]);
      assert.deepEqual(await sims.WMS.postings(), []);
      assert.equal(stockAt(await read('readStock', { material: 'RM-100-STEEL', site: 'P100' }), { storageLocation: 'A-01-01', stockType: 'Unrestricted' })?.value, 500);
    });

    it('dispatching an order the MES already has is TARGET_REJECTED 409 order_exists at once', async () => {
      const err = await adapterFailure(write(events.dispatch('1000124')));
      assert.deepEqual([err.code, err.target, err.status, err.targetError?.code, err.attempts], ['TARGET_REJECTED', 'MES', 409, 'order_exists', 1]);
      assert.deepEqual(await sims.MES.postings(), []);
    });
  });

  describe('circuit breaker', () => {
    it('opens after 3 failing attempts, refuses the next call without a request, closes after openMs', async () => {
      const clock = fakeClock();
      const guarded = restClient('WMS', { breaker: { failureThreshold: 3, openMs: 300 }, retry: { ...RETRY, maxAttempts: 3 }, now: clock.now, sleep: clock.sleep });
      await sims.WMS.faults({ queue: [1, 2, 3].map(() => ({ status: 503 })) });
      const failed = await adapterFailure(write(events.move(10), guarded));
      assert.deepEqual([failed.code, failed.attempts], ['TARGET_UNAVAILABLE', 3]);
      assert.equal(guarded.breakerState().state, 'open');
      assert.equal((await sims.WMS.ledger()).length, 3);

      await sims.WMS.faults({ queue: [{ delayMs: 1 }] }); // used up by any request at all
      const refused = await adapterFailure(write(events.move(5), guarded));
      assert.equal(refused.code, 'CIRCUIT_OPEN');
      assert.equal(refused.attempts, 0);
      assert.equal((await sims.WMS.ledger()).length, 3, 'no request for the refused call');
      assert.equal((await sims.WMS.faultQueue()).length, 1);

      clock.advance(300);
      assert.equal(guarded.breakerState().state, 'half-open');
      const res = await write(events.move(5), guarded);
      assert.equal(res.attempts, 1);
      assertSubset(res.result, { documentNumber: 'WM-000001' });
      assert.equal(guarded.breakerState().state, 'closed');
      assert.equal((await sims.WMS.faultQueue()).length, 0, 'the trial reached the simulator');
      assert.equal((await sims.WMS.postings()).length, 1);
    });
  });

  describe('mapping errors send nothing', () => {
    async function assertNothingSent(send: () => Promise<unknown>, field: string): Promise<void> {
      for (const s of SYSTEMS) await sims[s].faults({ queue: [{ delayMs: 1 }] }); // used up by any request at all
      const err = await mappingFailure(send());
      assert.equal(err.code, 'MAPPING_ERROR');
      assert.equal(err.field, field);
      assert.ok(err.message.includes(field), err.message);
      for (const s of SYSTEMS) {
        assert.deepEqual(await sims[s].ledger(), [], `${s} ledger`);
        assert.equal((await sims[s].faultQueue()).length, 1, `no request reached the ${s}`);
      }
    }

    it('a material return has no generic write operation: MAPPING_ERROR at /type', async () => {
      await assertNothingSent(() => callWrite(clients.MES, GENERIC, events.giveBack()), '/type');
    });

    it('a unit the profile does not know: MAPPING_ERROR at /data/quantity/uom', async () => {
      await assertNothingSent(() => write(events.consume('BOX')), '/data/quantity/uom');
    });
  });
});
