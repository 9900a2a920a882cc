import * as assert from 'node:assert/strict';
import { createEvent, defaultRegistry } from '../../lib';
import { PROFILES, type LotStatus, type ReadOperation, type StockItem, type WriteOperation } from '../../lib/mapping';
import {
  assertRoundTrip, blocking, confirmation, consumption, disposition, event, mappingError, mesOrder, releasedOrder, relocation,
} from './fixtures';

const rest = PROFILES['generic-rest'];
const write = (name: string) => rest.operation<WriteOperation>(name);
const read = <R>(name: string) => rest.operation<ReadOperation<Record<string, string>, R>>(name);
type Body = Record<string, unknown>;

describe('mapping: generic REST profile, writes (round trips)', () => {
  it('dispatchOrder: released order -> POST /api/v1/orders without status, PCE / KGM units', async () => {
    const e = event('mfg.productionorder.released.v1', releasedOrder, { source: '/plants/P100/erp' });
    const request = await assertRoundTrip(write('dispatchOrder'), e);
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/api/v1/orders');
    assert.equal(request.repeatHeader, 'Idempotency-Key');
    const body = request.body as Body;
    assert.equal(body.status, undefined, 'the contract dispatches without a status');
    assert.deepEqual(body.quantity, { amount: 100, unit: 'PCE' });
    const [op10, op20] = body.operations as Body[];
    assert.deepEqual(op10, {
      sequence: '0010', description: 'Cut', workCenter: 'WC-CUT1', quantity: { amount: 100, unit: 'PCE' },
      materials: [{ material: 'RM-100-STEEL', lot: 'B1120-04', quantity: { amount: 200, unit: 'KGM' }, use: 'CONSUME' }],
    });
    assert.deepEqual((op20.materials as Body[]).map((m) => m.use), ['CONSUME', 'PRODUCE']);
    assert.deepEqual(write('dispatchOrder').notCarried(e.type).slice(0, 2), ['/data/area', '/data/priority']);
  });

  it('dispatchOrder: UN/ECE units in the event (KGM, GRM) are normalised; Consumable is consumed', async () => {
    const data = structuredClone(releasedOrder);
    data.operations[1].materialRequirements = [{ material: 'CM-GREASE-LT2', quantity: { value: 1250, uom: 'GRM' }, use: 'Consumable' }];
    const request = await write('dispatchOrder').toVendor(event('mfg.productionorder.released.v1', data));
    const grease = ((request.body as { operations: Body[] }).operations[1].materials as Body[])[0];
    assert.deepEqual(grease, { material: 'CM-GREASE-LT2', quantity: { amount: 1.25, unit: 'KGM' }, use: 'CONSUME' });
  });

  it('reviseOrder: revised order -> PUT /api/v1/orders/{orderId} with the status map (Held -> ON_HOLD)', async () => {
    const data = { ...structuredClone(releasedOrder), revision: 2, state: 'Held' as const, quantity: { value: 80, uom: 'EA' }, changeReason: { code: 'QTY' } };
    const request = await assertRoundTrip(write('reviseOrder'), event('mfg.productionorder.revised.v1', data, { source: '/plants/P100/erp' }));
    assert.equal(request.method, 'PUT');
    assert.equal(request.path, '/api/v1/orders/1000123');
    assert.equal((request.body as Body).status, 'ON_HOLD');
    assert.equal((request.body as Body).revision, 2);
  });

  it('reviseOrder: an order id with a slash is encoded in the path and decoded back', async () => {
    const data = { ...structuredClone(releasedOrder), orderId: 'PO/2026/7', revision: 1 };
    const request = await assertRoundTrip(write('reviseOrder'), event('mfg.productionorder.revised.v1', data));
    assert.equal(request.path, '/api/v1/orders/PO%2F2026%2F7');
  });

  it('confirmOperation: -> POST /api/v1/orders/{orderId}/operations/{seq}/confirmations', async () => {
    const request = await assertRoundTrip(write('confirmOperation'), event('mfg.operation.completed.v3', confirmation));
    assert.equal(request.path, '/api/v1/orders/1000123/operations/0010/confirmations');
    assert.deepEqual(request.body, {
      goodQuantity: 95, scrapQuantity: 5, reworkQuantity: 2, unit: 'PCE', startedAt: '2026-11-26T06:00:00Z', finishedAt: '2026-11-26T07:30:00Z',
      final: true, reasonCode: 'SCR1', operator: 'OP-1142',
    });
    const partial = { ...confirmation, confirmationType: 'Partial' as const, actualStart: '2026-11-26T07:00:00+01:00' };
    delete (partial as Partial<typeof partial>).rework;
    delete (partial as Partial<typeof partial>).varianceReason;
    const p = await write('confirmOperation').toVendor(event('mfg.operation.completed.v3', partial));
    assert.equal((p.body as Body).final, false);
    assert.equal((p.body as Body).reworkQuantity, 0, 'reworkQuantity is required by the contract');
    assert.equal((p.body as Body).startedAt, '2026-11-26T06:00:00Z', 'normalised to UTC');
    assert.equal((p.body as Body).reasonCode, undefined);
  });

  it('confirmOperation: reading back needs the path, and names what is missing without it', async () => {
    const request = await write('confirmOperation').toVendor(event('mfg.operation.completed.v3', confirmation));
    const err = await mappingError(() => write('confirmOperation').fromVendorRequest(request.body));
    assert.deepEqual(err.issues.map((i) => i.field), ['$path/orderId', '$path/sequence']);
    const wrong = await mappingError(() => write('confirmOperation').fromVendorRequest(request.body, { path: '/api/v1/orders/1000123/consumptions' }));
    assert.equal(wrong.details[0].keyword, 'path');
  });

  it('consumeMaterial: -> POST /api/v1/orders/{orderId}/consumptions', async () => {
    const request = await assertRoundTrip(write('consumeMaterial'), event('mfg.material.consumed.v2', consumption));
    assert.equal(request.path, '/api/v1/orders/1000123/consumptions');
    assert.deepEqual(request.body, { material: 'RM-100-STEEL', lot: 'B1120-04', quantity: { amount: 12.5, unit: 'KGM' }, location: '0001', sequence: '0010' });
  });

  it('moveInventory: -> POST /api/v1/movements with the stock status map', async () => {
    const request = await assertRoundTrip(write('moveInventory'), event('mfg.inventory.moved.v2', blocking));
    assert.equal(request.path, '/api/v1/movements');
    assert.deepEqual(request.body, {
      material: 'FG-4711', lot: 'B1126-01', quantity: { amount: 40, unit: 'PCE' },
      from: { site: 'P100', location: '0003', status: 'AVAILABLE' }, to: { site: 'P100', location: '0003', status: 'BLOCKED' }, reason: 'QHOLD',
    });
    const qc = { ...relocation, to: { ...relocation.to, stockType: 'QualityInspection' as const } };
    const r = await assertRoundTrip(write('moveInventory'), event('mfg.inventory.moved.v2', qc));
    assert.equal(((r.body as Body).to as Body).status, 'QC');
  });

  it('changeDisposition: -> POST /api/v1/lots/{lot}/dispositions for every decision', async () => {
    const request = await assertRoundTrip(write('changeDisposition'), event('mfg.quality.disposition.changed.v1', disposition));
    assert.equal(request.path, '/api/v1/lots/B1126-01/dispositions');
    assert.deepEqual(request.body, { decision: 'RELEASE', code: 'A1', decidedBy: 'QM-USER1', decidedAt: '2026-11-27T10:15:00Z' });
    for (const [decision, vendor] of [['Hold', 'HOLD'], ['Reject', 'REJECT'], ['Rework', 'REWORK']] as const) {
      const data = { ...disposition, decision };
      delete (data as Partial<typeof data>).decisionCode;
      const r = await assertRoundTrip(write('changeDisposition'), event('mfg.quality.disposition.changed.v1', data));
      assert.equal((r.body as Body).decision, vendor);
      assert.equal((r.body as Body).code, vendor, 'the QMS requires a code: the decision stands in, and reads back as none');
    }
  });

  it('reads the document ids of write responses', async () => {
    assert.deepEqual(await write('dispatchOrder').fromVendorResponse({ orderId: '1000123', status: 'RELEASED' }), { documentNumber: '1000123', status: 'RELEASED' });
    assert.deepEqual(await write('confirmOperation').fromVendorResponse({ confirmationId: 'MC-000001', orderId: '1000123', sequence: '0010' }),
      { documentNumber: 'MC-000001', orderId: '1000123', sequence: '0010' });
    assert.deepEqual(await write('consumeMaterial').fromVendorResponse({ consumptionId: 'MC-000002' }), { documentNumber: 'MC-000002' });
    assert.deepEqual(await write('moveInventory').fromVendorResponse({ movementId: 'WM-000001' }), { documentNumber: 'WM-000001' });
    assert.deepEqual(await write('changeDisposition').fromVendorResponse({ dispositionId: 'QD-000001', lot: 'L1', status: 'ON_HOLD' }),
      { documentNumber: 'QD-000001', lot: 'L1', status: 'ON_HOLD' });
    assert.equal((await mappingError(() => write('moveInventory').fromVendorResponse({ error: 'insufficient_stock' }))).field, 'movementId');
  });

  it('rejects bad canonical input with every problem at its pointer', async () => {
    const data = { ...consumption, quantity: { value: 3, uom: 'BOX' } };
    delete (data as Partial<typeof data>).orderId;
    const err = await mappingError(() => write('consumeMaterial').toVendor(event('mfg.material.consumed.v2', data)));
    assert.equal(err.direction, 'toVendor');
    assert.deepEqual(err.details.map((d) => d.pointer).sort(), ['/data/orderId', '/data/quantity/uom']);
  });
});

describe('mapping: generic REST profile, reads', () => {
  it('readOrder: GET /api/v1/orders/{orderId} -> released data that validates', async () => {
    const request = await read('readOrder').toVendor({ orderId: '1000123' });
    assert.deepEqual(request, { method: 'GET', path: '/api/v1/orders/1000123' });
    assert.deepEqual(await read('readOrder').fromVendorRequest(undefined, request), { orderId: '1000123' });

    const data = await read<typeof releasedOrder>('readOrder').fromVendorResponse(mesOrder());
    const expected = structuredClone(releasedOrder);
    delete (expected as Partial<typeof expected>).area;
    delete (expected as Partial<typeof expected>).priority;
    for (const op of expected.operations) {
      delete op.plannedStart;
      delete op.plannedEnd;
      for (const m of op.materialRequirements ?? []) {
        delete m.storageLocation;
        delete m.reservation;
      }
    }
    assert.deepEqual(data, expected);
    const e = createEvent({ type: 'mfg.productionorder.released.v1', source: '/plants/P100/mes', siteid: 'P100', data });
    const result = defaultRegistry().validate(e);
    assert.ok(result.valid, JSON.stringify(!result.valid && result.errors));
  });

  it('readOrder: maps every MES status', async () => {
    const states: Record<string, string> = {
      NEW: 'Waiting', RELEASED: 'Released', IN_PROGRESS: 'Running', COMPLETED: 'Completed', CANCELLED: 'Aborted', ON_HOLD: 'Held',
    };
    for (const [status, state] of Object.entries(states)) {
      const data = (await read('readOrder').fromVendorResponse({ ...mesOrder(), status })) as { state: string };
      assert.equal(data.state, state);
    }
  });

  it('readOrder: unknown status code, missing order number, wrong unit, non-numeric amount are MappingErrors naming the field', async () => {
    const status = await mappingError(() => read('readOrder').fromVendorResponse({ ...mesOrder(), status: 'ZZ' }));
    assert.equal(status.message, "unknown status code 'ZZ' at status (generic-rest readOrder toCanonical)");
    assert.equal(status.field, 'status');
    assert.equal(status.value, 'ZZ');

    const noId = mesOrder();
    delete noId.orderId;
    assert.equal((await mappingError(() => read('readOrder').fromVendorResponse(noId))).field, 'orderId');

    const unit = mesOrder();
    (unit.quantity as Body).unit = 'ST';
    const u = await mappingError(() => read('readOrder').fromVendorResponse(unit));
    assert.equal(u.field, 'quantity/unit');
    assert.match(u.message, /unknown generic unit 'ST'/);

    const amount = mesOrder();
    ((amount.operations as Body[])[1].quantity as Body).amount = 'abc';
    const a = await mappingError(() => read('readOrder').fromVendorResponse(amount));
    assert.equal(a.field, 'operations/1/quantity/amount');
    assert.equal(a.details[0].pointer, '/operations/1/quantity/amount');
  });

  it('readStock: GET /api/v1/stock?material=&site= -> stock items', async () => {
    const op = read<StockItem[]>('readStock');
    assert.deepEqual(await op.toVendor({ material: 'RM-100-STEEL', site: 'P100' }), { method: 'GET', path: '/api/v1/stock', query: { material: 'RM-100-STEEL', site: 'P100' } });
    assert.deepEqual(await op.fromVendorRequest(undefined, { query: { material: 'RM-100-STEEL' } }), { material: 'RM-100-STEEL' });
    const stock = await op.fromVendorResponse([
      { material: 'RM-100-STEEL', lot: 'B1120-04', site: 'P100', location: 'A-01-02', status: 'AVAILABLE', quantity: { amount: 180, unit: 'KGM' } },
      { material: 'RM-100-STEEL', site: 'P100', location: 'QC-01', status: 'QC', quantity: { amount: 500, unit: 'GRM' } },
    ]);
    assert.deepEqual(stock, [
      { material: 'RM-100-STEEL', lot: 'B1120-04', site: 'P100', storageLocation: 'A-01-02', stockType: 'Unrestricted', quantity: { value: 180, uom: 'KG' } },
      { material: 'RM-100-STEEL', site: 'P100', storageLocation: 'QC-01', stockType: 'QualityInspection', quantity: { value: 0.5, uom: 'KG' } },
    ]);
    const bad = await mappingError(() => op.fromVendorResponse([{ material: 'X', site: 'P100', location: 'A', status: 'LOST', quantity: { amount: 1, unit: 'PCE' } }]));
    assert.equal(bad.field, '0/status');
  });

  it('readLot: GET /api/v1/lots/{lot} -> lot disposition (hold and rework both restricted)', async () => {
    const op = read<LotStatus>('readLot');
    assert.equal((await op.toVendor({ lot: 'B1126-01' })).path, '/api/v1/lots/B1126-01');
    const lot = { lot: 'B1126-01', material: 'FG-4711', site: 'P100', status: 'ON_HOLD', quantity: { amount: 100, unit: 'PCE' } };
    assert.deepEqual(await op.fromVendorResponse(lot), { lot: 'B1126-01', material: 'FG-4711', site: 'P100', disposition: 'Restricted', quantity: { value: 100, uom: 'EA' } });
    const dispositions = await Promise.all(['RELEASED', 'REWORK', 'REJECTED', 'CLOSED'].map((status) => op.fromVendorResponse({ ...lot, status })));
    assert.deepEqual(dispositions.map((d) => d.disposition), ['Unrestricted', 'Restricted', 'Blocked', 'Closed']);
  });
});
