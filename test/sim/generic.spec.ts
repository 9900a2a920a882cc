import * as assert from 'node:assert/strict';
import { startMesSimulator } from '../../sim/mes';
import { startQmsSimulator } from '../../sim/qms';
import type { RunningSimulator } from '../../sim/common/server';
import { startWmsSimulator } from '../../sim/wms';
import { call, control, jsonInit } from './helpers';

const API = '/api/v1';

function newOrder(orderId: string): Record<string, unknown> {
  return {
    orderId, material: 'FG-4711', quantity: { amount: 100, unit: 'PCE' }, plannedStart: '2026-11-26T06:00:00Z', plannedEnd: '2026-11-26T14:00:00Z',
    site: 'P100', workCenter: 'WC-ASSY1', revision: 0,
    operations: [
      { sequence: '0010', description: 'Cut', workCenter: 'WC-CUT1', quantity: { amount: 100, unit: 'PCE' }, materials: [{ material: 'RM-100-STEEL', quantity: { amount: 200, unit: 'KGM' }, use: 'CONSUME' }] },
      { sequence: '0020', description: 'Assemble', workCenter: 'WC-ASSY1', quantity: { amount: 100, unit: 'PCE' }, materials: [] },
    ],
  };
}

function opConfirmation(final: boolean): Record<string, unknown> {
  return { goodQuantity: 95, scrapQuantity: 5, reworkQuantity: 0, unit: 'PCE', startedAt: '2026-11-26T06:00:00Z', finishedAt: '2026-11-26T07:30:00Z', final, reasonCode: 'SCR1', operator: 'OP-17' };
}

function move(amount: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    material: 'RM-100-STEEL', quantity: { amount, unit: 'KGM' },
    from: { site: 'P100', location: 'A-01-01', status: 'AVAILABLE' }, to: { site: 'P100', location: 'LINE-1', status: 'AVAILABLE' }, reason: 'STAGING', ...extra,
  };
}

describe('sim: MES', () => {
  let sim: RunningSimulator;
  before(async () => {
    sim = await startMesSimulator();
  });
  after(async () => {
    await sim.close();
  });
  beforeEach(async () => control(sim.url).reset());

  it('serves the seeded released order 1000124', async () => {
    const res = await call(`${sim.url}${API}/orders/1000124`);
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'RELEASED');
    assert.deepEqual(res.body.quantity, { amount: 50, unit: 'PCE' });
    assert.deepEqual(res.body.operations.map((o: { sequence: string; workCenter: string }) => [o.sequence, o.workCenter]), [['0010', 'WC-PACK1']]);
    assert.equal((await call(`${sim.url}${API}/orders/1000123`)).status, 404);
  });

  it('dispatches an order once: 409 on a second dispatch, the first response on an Idempotency-Key repeat', async () => {
    const key = { 'idempotency-key': 'dispatch-1000123-r0' };
    const first = await call(`${sim.url}${API}/orders`, jsonInit('POST', newOrder('1000123'), key));
    assert.equal(first.status, 201);
    assert.deepEqual(first.body, { orderId: '1000123', status: 'RELEASED' });
    const repeat = await call(`${sim.url}${API}/orders`, jsonInit('POST', newOrder('1000123'), key));
    assert.equal(repeat.status, 201, 'the repeat is answered from the key, not re-executed');
    assert.deepEqual(repeat.body, first.body);
    assert.equal(repeat.headers.get('idempotent-replayed'), 'true');
    const reused = await call(`${sim.url}${API}/orders`, jsonInit('POST', newOrder('1000125'), key));
    assert.equal(reused.status, 422);
    assert.equal(reused.body.error, 'idempotency_key_reused');
    const duplicate = await call(`${sim.url}${API}/orders`, jsonInit('POST', newOrder('1000123')));
    assert.equal(duplicate.status, 409);
    const ctl = control(sim.url);
    assert.equal((await ctl.postings()).length, 1);
    const ledger = await ctl.ledger();
    assert.deepEqual(ledger.map((e) => [e.status, e.key, e.replayOf]), [[201, key['idempotency-key'], undefined], [201, key['idempotency-key'], 1], [422, key['idempotency-key'], undefined], [409, null, undefined]]);
  });

  it('rejects malformed orders with a JSON pointer', async () => {
    const bad = { ...newOrder('1000126'), quantity: { amount: 100, unit: 'ST' } };
    const res = await call(`${sim.url}${API}/orders`, jsonInit('POST', bad));
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_request');
    assert.match(res.body.message, /^\/quantity\/unit /);
  });

  it('confirms operations and completes the order on the last final confirmation', async () => {
    const path = `${sim.url}${API}/orders/1000124/operations/0010/confirmations`;
    const partial = await call(path, jsonInit('POST', opConfirmation(false)));
    assert.equal(partial.status, 201);
    assert.deepEqual(partial.body, { confirmationId: 'MC-000001', orderId: '1000124', sequence: '0010' });
    assert.equal((await call(`${sim.url}${API}/orders/1000124`)).body.status, 'IN_PROGRESS');
    const final = await call(path, jsonInit('POST', opConfirmation(true)));
    assert.equal(final.body.confirmationId, 'MC-000002');
    assert.equal((await call(`${sim.url}${API}/orders/1000124`)).body.status, 'COMPLETED');
    const late = await call(path, jsonInit('POST', opConfirmation(false)));
    assert.deepEqual([late.status, late.body.error], [409, 'invalid_order_status']);
    assert.equal((await call(`${sim.url}${API}/orders/1000124/operations/0099/confirmations`, jsonInit('POST', opConfirmation(false)))).status, 404);
  });

  it('records consumptions and revisions; a stale revision is 409', async () => {
    const consumption = await call(`${sim.url}${API}/orders/1000124/consumptions`, jsonInit('POST', { material: 'FG-4712', quantity: { amount: 1, unit: 'PCE' }, location: 'LINE-1', sequence: '0010' }));
    assert.equal(consumption.status, 201);
    assert.equal(typeof consumption.body.consumptionId, 'string');
    const revised = { ...newOrder('1000124'), material: 'FG-4712', revision: 2 };
    const put = await call(`${sim.url}${API}/orders/1000124`, jsonInit('PUT', revised));
    assert.equal(put.status, 200);
    assert.equal(put.body.revision, 2);
    assert.equal(put.body.status, 'RELEASED');
    const stale = await call(`${sim.url}${API}/orders/1000124`, jsonInit('PUT', { ...revised, revision: 1 }));
    assert.deepEqual([stale.status, stale.body.error], [409, 'stale_revision']);
  });
});

describe('sim: WMS', () => {
  let sim: RunningSimulator;
  before(async () => {
    sim = await startWmsSimulator();
  });
  after(async () => {
    await sim.close();
  });
  beforeEach(async () => control(sim.url).reset());

  const stock = async (material: string) => (await call(`${sim.url}${API}/stock?material=${material}&site=P100`)).body as Array<Record<string, unknown>>;

  it('serves the seeded stock', async () => {
    assert.deepEqual(await stock('RM-100-STEEL'), [{ material: 'RM-100-STEEL', lot: null, site: 'P100', location: 'A-01-01', status: 'AVAILABLE', quantity: { amount: 500, unit: 'KGM' } }]);
    const [fg] = await stock('FG-4711');
    assert.deepEqual([fg.lot, fg.status, fg.quantity], ['L2026-1126-01', 'QC', { amount: 100, unit: 'PCE' }]);
  });

  it('moves stock once per Idempotency-Key; 409 insufficient_stock when short', async () => {
    const key = { 'idempotency-key': 'move-1' };
    const first = await call(`${sim.url}${API}/movements`, jsonInit('POST', move(120), key));
    assert.equal(first.status, 201);
    assert.deepEqual(first.body, { movementId: 'WM-000001' });
    const repeat = await call(`${sim.url}${API}/movements`, jsonInit('POST', move(120), key));
    assert.deepEqual(repeat.body, first.body);
    const amounts = Object.fromEntries((await stock('RM-100-STEEL')).map((r) => [r.location, (r.quantity as { amount: number }).amount]));
    assert.deepEqual(amounts, { 'A-01-01': 380, 'LINE-1': 120 });
    const short = await call(`${sim.url}${API}/movements`, jsonInit('POST', move(381)));
    assert.equal(short.status, 409);
    assert.equal(short.body.error, 'insufficient_stock');
    const grams = await call(`${sim.url}${API}/movements`, jsonInit('POST', move(500, { quantity: { amount: 500, unit: 'GRM' } })));
    assert.equal(grams.status, 201, 'grams convert to the stock unit');
    assert.equal(((await stock('RM-100-STEEL')).find((r) => r.location === 'LINE-1')?.quantity as { amount: number }).amount, 120.5);
    assert.equal((await control(sim.url).postings()).length, 2);
  });

  it('releases a QC lot by moving it to AVAILABLE', async () => {
    const res = await call(`${sim.url}${API}/movements`, jsonInit('POST', {
      material: 'FG-4711', lot: 'L2026-1126-01', quantity: { amount: 100, unit: 'PCE' },
      from: { site: 'P100', location: 'QC-01', status: 'QC' }, to: { site: 'P100', location: 'QC-01', status: 'AVAILABLE' },
    }));
    assert.equal(res.status, 201);
    const rows = await stock('FG-4711');
    assert.deepEqual(rows.map((r) => r.status), ['AVAILABLE']);
  });
});

describe('sim: QMS', () => {
  let sim: RunningSimulator;
  before(async () => {
    sim = await startQmsSimulator();
  });
  after(async () => {
    await sim.close();
  });

  it('holds the seeded lot and changes its status by disposition', async () => {
    const lot = await call(`${sim.url}${API}/lots/L2026-1126-01`);
    assert.deepEqual(lot.body, { lot: 'L2026-1126-01', material: 'FG-4711', site: 'P100', status: 'ON_HOLD', quantity: { amount: 100, unit: 'PCE' } });
    const disposition = { decision: 'RELEASE', code: 'A', decidedBy: 'QM-USER1', decidedAt: '2026-11-26T15:00:00Z' };
    const res = await call(`${sim.url}${API}/lots/L2026-1126-01/dispositions`, jsonInit('POST', disposition, { 'idempotency-key': 'qd-1' }));
    assert.equal(res.status, 201);
    assert.deepEqual(res.body, { dispositionId: 'QD-000001', lot: 'L2026-1126-01', status: 'RELEASED' });
    assert.equal((await call(`${sim.url}${API}/lots/L2026-1126-01`)).body.status, 'RELEASED');
    const reused = await call(`${sim.url}${API}/lots/L2026-1126-01/dispositions`, jsonInit('POST', { ...disposition, decision: 'REJECT' }, { 'idempotency-key': 'qd-1' }));
    assert.equal(reused.status, 422);
    assert.equal((await call(`${sim.url}${API}/lots/L2026-1126-01`)).body.status, 'RELEASED', 'the conflicting request did nothing');
    assert.equal((await call(`${sim.url}${API}/lots/NOPE/dispositions`, jsonInit('POST', disposition))).status, 404);
  });
});

describe('sim: generic systems, auth, faults and config', () => {
  const sims: RunningSimulator[] = [];
  after(async () => {
    await Promise.all(sims.map((s) => s.close()));
  });

  it('requires the configured API key on /api/v1 but not on /__sim', async () => {
    const sim = await startQmsSimulator({ apiKey: { header: 'x-api-key', value: 'k-123' } });
    sims.push(sim);
    const missing = await call(`${sim.url}${API}/lots/L2026-1126-01`);
    assert.equal(missing.status, 401);
    assert.equal(missing.body.error, 'unauthorized');
    assert.equal((await call(`${sim.url}${API}/lots/L2026-1126-01`, { headers: { 'x-api-key': 'wrong' } })).status, 401);
    assert.equal((await call(`${sim.url}${API}/lots/L2026-1126-01`, { headers: { 'x-api-key': 'k-123' } })).status, 200);
    assert.equal((await call(`${sim.url}/__sim/ledger`)).status, 200);
  });

  it('injects faults; dropAfterCommit posts once and the Idempotency-Key repeat returns the first movement', async () => {
    const sim = await startWmsSimulator();
    sims.push(sim);
    const ctl = control(sim.url);
    await ctl.faults({ queue: [{ status: 503, retryAfterSec: 1 }, { dropAfterCommit: true }] });
    const key = { 'idempotency-key': 'move-drop' };
    const unavailable = await call(`${sim.url}${API}/movements`, jsonInit('POST', move(10), key));
    assert.deepEqual([unavailable.status, unavailable.headers.get('retry-after'), unavailable.body.error], [503, '1', 'service_unavailable']);
    await assert.rejects(call(`${sim.url}${API}/movements`, jsonInit('POST', move(10), key)), (err: Error) => err.name === 'TypeError');
    const repeat = await call(`${sim.url}${API}/movements`, jsonInit('POST', move(10), key));
    assert.deepEqual([repeat.status, repeat.body], [201, { movementId: 'WM-000001' }]);
    const postings = await ctl.postings();
    assert.equal(postings.length, 1);
    assert.equal(postings[0].fault, 'dropAfterCommit');
    const ledger = await ctl.ledger();
    assert.deepEqual(ledger.map((e) => [e.status, e.fault, e.replayOf]), [[503, 'status', undefined], [201, 'dropAfterCommit', undefined], [201, undefined, 2]]);
  });

  it('ignoreRepeatability (start option and /__sim/config) executes every repeat', async () => {
    const sim = await startMesSimulator({ ignoreRepeatability: true });
    sims.push(sim);
    const key = { 'idempotency-key': 'confirm-twice' };
    const path = `${sim.url}${API}/orders/1000124/operations/0010/confirmations`;
    const a = await call(path, jsonInit('POST', opConfirmation(false), key));
    const b = await call(path, jsonInit('POST', opConfirmation(false), key));
    assert.deepEqual([a.body.confirmationId, b.body.confirmationId], ['MC-000001', 'MC-000002']);
    const ctl = control(sim.url);
    await ctl.config({ ignoreRepeatability: false });
    const c = await call(path, jsonInit('POST', opConfirmation(false), { 'idempotency-key': 'confirm-once' }));
    const d = await call(path, jsonInit('POST', opConfirmation(false), { 'idempotency-key': 'confirm-once' }));
    assert.deepEqual([c.body.confirmationId, d.body.confirmationId], ['MC-000003', 'MC-000003']);
    assert.equal((await ctl.postings()).length, 3);
  });
});
