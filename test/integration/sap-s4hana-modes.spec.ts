/**
 * End to end through openEndpoint (as a plantsync-endpoint node opens it) against the SAP
 * simulator in its key and plant modes and with a plant time zone: every write posts once, its
 * posted body carries SAP's forms (internal keys, the SAP plant, plant wall-clock time), and that
 * body and every read answer map back to valid canonical data with the canonical forms.
 */
import * as assert from 'node:assert/strict';
import { openEndpoint, type OpenEndpoint } from '../../lib/adapters/endpoint';
import type { CanonicalEvent } from '../../lib/canonical/events';
import { omitPointers, operationFor, type MappingProfile, type ProfileOverrides } from '../../lib/mapping';
import { type RunningSimulator, type SapSimulatorOptions, startSapSimulator } from '../../sim';
import { assertValidAs, canonical, CLIENT_TIMEOUT_MS, type SimControl, simControl, stockAt, SEND_TIMEOUT_MS, within } from './helpers';

const PLANT_MAP: ProfileOverrides = { valueMaps: { plant: { toVendor: { P100: '1010' } } } };

interface Mode {
  title: string;
  sim: SapSimulatorOptions;
  overrides?: ProfileOverrides;
  timeZone?: string;
  /** What the posted bodies must carry. */
  plant: string;
  startTime: string;
}

/**
 * Every combination of the simulator's gateway switches (issue: "in every combination"): key form,
 * plant codes (with the Berlin plant time on the mapped plant), `$expand` honoured or ignored, the
 * three ReleaseOrder answer shapes and where the CSRF token comes from. 72 modes, each a fresh simulator.
 */
const MODES: Mode[] = [];
const CSRF = [
  { title: 'CSRF token on a 404 of the service root (default)', sim: {} },
  { title: 'CSRF token only on the entity set, answered 405', sim: { csrfTokenOn: 'entity-set', csrfFetchStatus: 405 } },
  { title: 'CSRF token only on the service root, answered 200', sim: { csrfTokenOn: 'service-root', csrfFetchStatus: 0 } },
] as const;
for (const csrf of CSRF) for (const internalKeysOnly of [true, false]) {
  for (const plantCode of [false, true]) {
    for (const ignoreExpand of [false, true]) {
      for (const releaseAnswer of ['message', 'entity', 'none'] as const) {
        MODES.push({
          title: [
            internalKeysOnly ? 'internal keys only' : 'external keys accepted',
            plantCode ? 'SAP plant 1010 for P100 in Europe/Berlin' : 'plants named as sites, UTC',
            ignoreExpand ? '$expand ignored' : '$expand honoured',
            `release answers ${releaseAnswer}`,
            csrf.title,
          ].join(', '),
          sim: { ...csrf.sim, internalKeysOnly, ignoreExpand, releaseAnswer, ...(plantCode ? { plantCodes: { P100: '1010' } } : {}) },
          ...(plantCode ? { overrides: PLANT_MAP, timeZone: 'Europe/Berlin' } : {}),
          plant: plantCode ? '1010' : 'P100',
          startTime: plantCode ? 'PT07H00M00S' : 'PT06H00M00S',
        });
      }
    }
  }
}

const ORDER = {
  orderId: '1000123', revision: 0, material: 'FG-4711', quantity: { value: 100, uom: 'EA' },
  plannedStart: '2026-11-26T06:00:00Z', plannedEnd: '2026-11-27T14:00:00Z', site: 'P100', state: 'Released',
  operations: [{ operationId: '0010', workCenter: 'WC-CUT1' }],
};

const events = {
  release: () => canonical('mfg.productionorder.released.v1', ORDER, '/plants/P100/aps'),
  confirm: (actualStart = '2026-11-26T06:00:00Z', actualEnd = '2026-11-26T07:30:00Z') => canonical('mfg.operation.completed.v3', {
    confirmationId: `CNF-${actualStart}`, orderId: '1000123', operationId: '0010', workCenter: 'WC-CUT1', site: 'P100', actualStart, actualEnd,
    yield: { value: 95, uom: 'EA' }, scrap: { value: 0, uom: 'EA' }, confirmationType: 'Partial',
  }),
  consume: () => canonical('mfg.material.consumed.v2', {
    movementId: 'MV-261', orderId: '1000123', operationId: '0010', material: 'RM-100-STEEL', quantity: { value: 12.5, uom: 'KG' }, site: 'P100', storageLocation: '0001',
    reservation: { number: '12345', item: '0001' },
  }),
  giveBack: () => canonical('mfg.material.returned.v2', {
    movementId: 'MV-262', orderId: '1000123', material: 'RM-100-STEEL', quantity: { value: 0.5, uom: 'KG' }, site: 'P100', storageLocation: '0001',
  }),
  receipt: () => canonical('mfg.production.confirmed.v1', {
    orderId: '1000123', site: 'P100', material: 'FG-4711', yield: { value: 95, uom: 'EA' }, scrap: { value: 5, uom: 'EA' }, producedLot: 'B1126-02', erpConfirmation: '0000000123', final: false,
  }),
  move: (kg: number, from: [string, string], to: [string, string]) => canonical('mfg.inventory.moved.v2', {
    movementId: `TO-${kg}-${from.join('-')}-${to.join('-')}`, material: 'RM-100-STEEL', quantity: { value: kg, uom: 'KG' },
    from: { site: 'P100', storageLocation: from[0], stockType: from[1] }, to: { site: 'P100', storageLocation: to[0], stockType: to[1] },
  }, '/plants/P100/wms'),
  decide: () => canonical('mfg.quality.disposition.changed.v1', {
    lot: 'L2026-1126-01', material: 'FG-4711', site: 'P100', from: 'Restricted', to: 'Unrestricted', decision: 'Release', inspectionLot: '010000000123',
    decidedBy: 'QM-USER1', decidedAt: '2026-11-27T10:15:00Z',
  }, '/plants/P100/qms'),
};

type Body = Record<string, unknown>;

/** `over` written onto a copy of `base`, member by member. */
function overlay(base: unknown, over: unknown): unknown {
  if (base === null || typeof base !== 'object' || Array.isArray(base) || over === null || typeof over !== 'object' || Array.isArray(over)) return over;
  const out: Body = { ...(base as Body) };
  for (const [k, v] of Object.entries(over)) out[k] = overlay(out[k], v);
  return out;
}
const item = (body: unknown) => ((body as Body).to_MaterialDocumentItem as { results: Body[] }).results[0];

interface WriteCase {
  title: string;
  event: () => CanonicalEvent;
  setup?: CanonicalEvent[];
  /** SAP's forms in the posted body. */
  posted: (body: Body, mode: Mode) => void;
}

const goods = (type: string, extra: (i: Body, mode: Mode) => void = () => undefined) => (body: Body, mode: Mode) => {
  assert.equal(item(body).GoodsMovementType, type);
  assert.equal(item(body).Plant, mode.plant);
  extra(item(body), mode);
};

const WRITES: WriteCase[] = [
  {
    title: 'confirm', event: () => events.confirm(), setup: [events.release()],
    posted: (b, mode) => {
      assert.equal(b.OrderID, '000001000123');
      assert.equal(b.ConfirmedExecutionStartTime, mode.startTime);
      assert.equal(b.ConfirmationScrapQuantity, '0.000');
      assert.equal(b.ConfirmationReworkQuantity, '0.000');
    },
  },
  {
    title: 'confirm on the DST day 29 March 2026 (01:30 -> 03:30 in Berlin)', event: () => events.confirm('2026-03-29T00:30:00Z', '2026-03-29T01:30:00Z'), setup: [events.release()],
    posted: (b, mode) => assert.deepEqual([b.ConfirmedExecutionStartTime, b.ConfirmedExecutionEndTime], mode.timeZone ? ['PT01H30M00S', 'PT03H30M00S'] : ['PT00H30M00S', 'PT01H30M00S']),
  },
  { title: '261', event: events.consume, posted: goods('261', (i) => assert.deepEqual([i.ManufacturingOrder, i.Reservation], ['000001000123', '0000012345'])) },
  { title: '262', event: events.giveBack, posted: goods('262', (i) => assert.equal(i.ManufacturingOrder, '000001000123')) },
  { title: '101', event: events.receipt, posted: goods('101', (i) => assert.equal(i.ManufacturingOrder, '000001000123')) },
  { title: '311', event: () => events.move(20, ['0001', 'Unrestricted'], ['0002', 'Unrestricted']), posted: goods('311', (i, mode) => assert.equal(i.IssuingOrReceivingPlant, mode.plant)) },
  { title: '344', event: () => events.move(5, ['0001', 'Unrestricted'], ['0001', 'Blocked']), posted: goods('344') },
  { title: '343', event: () => events.move(2, ['0001', 'Blocked'], ['0001', 'Unrestricted']), setup: [events.move(10, ['0001', 'Unrestricted'], ['0001', 'Blocked'])], posted: goods('343') },
  { title: 'usage decision', event: events.decide, posted: (b) => assert.equal(b.InspLotUsageDecisionCode, 'A') },
];

for (const mode of MODES) {
  describe(`integration: sap-s4hana against the SAP simulator, ${mode.title}`, () => {
    let erp: RunningSimulator;
    let sim: SimControl;
    let endpoint: OpenEndpoint;
    let profile: MappingProfile;

    before(async () => {
      erp = await startSapSimulator({ host: '127.0.0.1', ...mode.sim });
      sim = simControl(erp.url);
    });
    after(async () => {
      await erp?.close();
    });
    beforeEach(async () => {
      await sim.reset();
      endpoint = openEndpoint({
        role: 'ERP', profile: 'sap-s4hana', baseUrl: erp.url, timeoutMs: CLIENT_TIMEOUT_MS, retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
        overrides: mode.overrides, timeZone: mode.timeZone,
      }, {}, { logger: { error: (m) => assert.fail(m) } });
      endpoint.assertUsable();
      profile = endpoint.profile as MappingProfile;
    });
    afterEach(() => endpoint.close());

    const write = (event: CanonicalEvent) => within(endpoint.write(event), SEND_TIMEOUT_MS, `write ${event.type}`);
    const read = async (name: string, params: Record<string, string>) => (await within(endpoint.read(name, params), SEND_TIMEOUT_MS, `read ${name}`)).result;

    for (const c of WRITES) {
      it(`${c.title}: posts once with SAP's forms, and the posted body maps back to the valid canonical event`, async () => {
        for (const e of c.setup ?? []) await write(e);
        const event = c.event();
        const before = (await sim.postings()).length;
        await write(event);
        const postings = await sim.postings();
        assert.equal(postings.length, before + 1, 'exactly one posting');
        const body = postings[postings.length - 1].body as Body;
        c.posted(body, mode);
        const op = operationFor(profile, event.type);
        const back = await op.fromVendorRequest(body);
        assert.equal(back.type, event.type);
        assert.deepEqual(back.data, omitPointers(event, op.notCarried(event.type)).data);
        // What SAP cannot carry (ids of the MES) comes from the original; the rest is what SAP holds.
        assertValidAs(event.type, overlay(event.data, back.data), event.source);
      });
    }

    it('release: posts once whatever the gateway answers, and reports the released order as a valid canonical event', async () => {
      const before = (await sim.postings()).length;
      const result = (await write(events.release())).result as { orderId: string; released?: boolean };
      assert.equal((await sim.postings()).length, before + 1, 'exactly one posting');
      const order = await read('readProductionOrder', { orderId: '1000123' }) as { orderId: string; state: string };
      assert.equal(order.orderId, '1000123');
      assert.equal(order.state, 'Released', JSON.stringify(result));
      assertValidAs('mfg.productionorder.released.v1', order, '/plants/P100/erp');
    });

    it('reads the order and the stock back in canonical forms: external order number, site, valid data', async () => {
      // 1000124 is the seed's released order.
      const order = await read('readProductionOrder', { orderId: '1000124' }) as { orderId: string; site: string; plannedStart: string; operations?: unknown[]; materialRequirements?: unknown[] };
      assert.equal(order.orderId, '1000124');
      // With $expand ignored these come from the navigation URLs: present either way.
      assert.deepEqual([order.operations?.length, order.materialRequirements?.length], [1, 1], JSON.stringify(order));
      assert.equal(order.site, 'P100');
      assert.equal(order.plannedStart, mode.timeZone ? '2026-11-25T23:00:00Z' : '2026-11-26T00:00:00Z');
      assertValidAs('mfg.productionorder.released.v1', order, '/plants/P100/erp');
      const stock = await read('readStock', { material: 'RM-100-STEEL', site: 'P100' }) as Array<{ site: string }>;
      assert.deepEqual(stockAt(stock, { storageLocation: '0001', stockType: 'Unrestricted' }), { value: 500, uom: 'KG' });
      assert.ok(stock.every((s) => s.site === 'P100'), JSON.stringify(stock));
    });
  });
}
