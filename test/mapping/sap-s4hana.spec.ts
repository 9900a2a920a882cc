import * as assert from 'node:assert/strict';
import { createEvent, defaultRegistry } from '../../lib';
import { createProfile, PROFILES, SAP_SERVICES, type ReadOperation, type StockItem, type WriteOperation } from '../../lib/mapping';
import {
  assertRoundTrip, assertValid, blocking, confirmation, consumption, disposition, event, mappingError, production, relocation, returned, SAP_DAY, sapOrder,
} from './fixtures';

const sap = PROFILES['sap-s4hana'];
const write = (name: string) => sap.operation<WriteOperation>(name);
const read = <R>(name: string) => sap.operation<ReadOperation<Record<string, string>, R>>(name);
type Body = Record<string, unknown>;
const itemOf = (body: unknown) => ((body as Body).to_MaterialDocumentItem as { results: Body[] }).results[0];

describe('mapping: SAP S/4HANA profile, writes (round trips)', () => {
  it('confirmOperation: operation.completed.v2 -> ProdnOrdConf2 with decimal strings, flags, UTC date + time pairs', async () => {
    const e = event('mfg.operation.completed.v3', confirmation);
    const request = await assertRoundTrip(write('confirmOperation'), e);
    assert.equal(request.method, 'POST');
    assert.equal(request.path, `${SAP_SERVICES.CONF}/ProdnOrdConf2`);
    assert.equal(request.csrf, SAP_SERVICES.CONF);
    assert.equal(request.repeatHeader, 'Repeatability-Request-ID');
    const body = request.body as Body;
    assert.deepEqual(
      { ...body, ExternalSystemConfirmation: undefined },
      {
        OrderID: '000001000123', OrderOperation: '0010', Sequence: '0', ConfirmationUnit: 'ST',
        ConfirmationYieldQuantity: '95.000', ConfirmationScrapQuantity: '5.000', ConfirmationReworkQuantity: '2.000',
        VarianceReasonCode: 'SCR1', FinalConfirmationType: 'X', IsFinalConfirmation: true,
        PostingDate: SAP_DAY['2026-11-26'],
        ConfirmedExecutionStartDate: SAP_DAY['2026-11-26'], ConfirmedExecutionStartTime: 'PT06H00M00S',
        ConfirmedExecutionEndDate: SAP_DAY['2026-11-26'], ConfirmedExecutionEndTime: 'PT07H30M00S',
        ConfirmationText: '', Personnel: 'OP-1142', ExternalSystemConfirmation: undefined,
      },
    );
    assert.match(String(body.ExternalSystemConfirmation), /^[0-9A-F]{32}$/);
  });

  it('confirmOperation: a partial confirmation without rework or reason, times across midnight in another offset', async () => {
    const data = { ...confirmation, confirmationType: 'Partial' as const, actualStart: '2026-11-26T22:45:00Z', actualEnd: '2026-11-27T00:30:00Z' };
    delete (data as Partial<typeof data>).rework;
    delete (data as Partial<typeof data>).varianceReason;
    delete (data as Partial<typeof data>).personnel;
    const request = await assertRoundTrip(write('confirmOperation'), event('mfg.operation.completed.v3', data));
    const body = request.body as Body;
    assert.equal(body.FinalConfirmationType, '');
    assert.equal(body.IsFinalConfirmation, false);
    assert.equal(body.ConfirmationReworkQuantity, '0.000', 'at the field\'s scale');
    assert.equal(body.VarianceReasonCode, '');
    assert.equal(body.Personnel, '');
    assert.equal(body.ConfirmedExecutionEndDate, SAP_DAY['2026-11-27']);
    assert.equal(body.ConfirmedExecutionEndTime, 'PT00H30M00S');

    const local = await write('confirmOperation').toVendor(event('mfg.operation.completed.v3', { ...data, actualEnd: '2026-11-27T01:30:00+01:00' }));
    assert.equal((local.body as Body).ConfirmedExecutionEndDate, SAP_DAY['2026-11-27'], 'UTC date of 00:30Z');
    assert.equal((local.body as Body).ConfirmedExecutionEndTime, 'PT00H30M00S', 'UTC time');
  });

  it('confirmOperation: a unit conflict between yield and scrap is an error, not a guess', async () => {
    const e = event('mfg.operation.completed.v3', { ...confirmation, scrap: { value: 0.5, uom: 'KG' } });
    const err = await mappingError(() => write('confirmOperation').toVendor(e));
    assert.equal(err.field, '/data/scrap');
    assert.equal(err.details[0].keyword, 'conflict');
    assert.match(err.message, /ConfirmationUnit is already 'ST'/);
  });

  it('confirmOperation: reading back a body whose two final flags disagree is a conflict', async () => {
    const request = await write('confirmOperation').toVendor(event('mfg.operation.completed.v3', confirmation));
    const err = await mappingError(() => write('confirmOperation').fromVendorRequest({ ...(request.body as Body), IsFinalConfirmation: false }));
    assert.equal(err.field, 'IsFinalConfirmation');
    assert.equal(err.details[0].keyword, 'conflict');
  });

  it('SAP field limits are MappingErrors before the call: 3 decimals, 4-character reasons, 10-character batches', async () => {
    const fine = await mappingError(() => write('goodsMovement').toVendor(event('mfg.material.consumed.v2', { ...consumption, quantity: { value: 1.2345, uom: 'KG' } })));
    assert.equal(fine.field, '/data/quantity/value');
    assert.equal(fine.details[0].keyword, 'precision');
    const grams = createProfile(sap, { units: { toVendor: { KG: 'G' } } }).operation<WriteOperation>('goodsMovement');
    const inGrams = await grams.toVendor(event('mfg.material.consumed.v2', { ...consumption, quantity: { value: 1.2345, uom: 'KG' } }));
    assert.equal(itemOf(inGrams.body).QuantityInEntryUnit, '1234.500', 'a plant posting in grams keeps the precision');

    const reason = { ...confirmation, varianceReason: { code: 'SCR-BURR' } };
    const long = await mappingError(() => write('confirmOperation').toVendor(event('mfg.operation.completed.v3', reason)));
    assert.equal(long.field, '/data/varianceReason/code');
    assert.match(long.message, /'SCR-BURR' is longer than the 4 characters VarianceReasonCode takes/);
    const plant = createProfile(sap, { valueMaps: { varianceReason: { toVendor: { 'SCR-BURR': 'SCR1' } } } });
    const mapped = await assertRoundTrip(plant.operation<WriteOperation>('confirmOperation'), event('mfg.operation.completed.v3', reason));
    assert.equal((mapped.body as Body).VarianceReasonCode, 'SCR1', 'the plant maps its reason code without code');

    const batch = await mappingError(() => write('goodsMovement').toVendor(event('mfg.material.consumed.v2', { ...consumption, lot: 'L2026-1120-04' })));
    assert.equal(batch.field, '/data/lot');
    assert.equal(batch.details[0].keyword, 'maxLength');
  });

  it('goodsMovement: material consumed -> 261 with GoodsMovementCode 03, order and reservation', async () => {
    const request = await assertRoundTrip(write('goodsMovement'), event('mfg.material.consumed.v2', consumption));
    const body = request.body as Body;
    assert.equal(request.path, `${SAP_SERVICES.MDOC}/A_MaterialDocumentHeader`);
    assert.equal(body.GoodsMovementCode, '03');
    assert.equal(body.PostingDate, SAP_DAY['2026-11-26'], 'from the event time');
    assert.deepEqual(itemOf(body), {
      Material: 'RM-100-STEEL', Plant: 'P100', StorageLocation: '0001', Batch: 'B1120-04', GoodsMovementType: '261',
      QuantityInEntryUnit: '12.500', EntryUnit: 'KG', ManufacturingOrder: '000001000123', Reservation: '0000012345', ReservationItem: '0001',
      InventoryStockType: '01',
    });
  });

  it('goodsMovement: material returned -> 262; without a lot, Batch is ""', async () => {
    const data = { ...returned };
    delete (data as Partial<typeof data>).lot;
    const request = await assertRoundTrip(write('goodsMovement'), event('mfg.material.returned.v2', data));
    assert.equal(itemOf(request.body).GoodsMovementType, '262');
    assert.equal(itemOf(request.body).Batch, '');
    assert.equal(itemOf(request.body).QuantityInEntryUnit, '0.750');
  });

  it('goodsMovement: a plant posting in grams converts KG <-> G with the factor, exactly', async () => {
    const grams = createProfile(sap, { units: { toVendor: { KG: 'G' } } });
    const op = grams.operation<WriteOperation>('goodsMovement');
    const request = await assertRoundTrip(op, event('mfg.material.consumed.v2', { ...consumption, quantity: { value: 0.7, uom: 'KG' } }));
    assert.equal(itemOf(request.body).QuantityInEntryUnit, '700.000');
    assert.equal(itemOf(request.body).EntryUnit, 'G');
    const inbound = await sap.operation<WriteOperation>('goodsMovement').fromVendorRequest({
      ...(request.body as Body),
      to_MaterialDocumentItem: { results: [{ ...itemOf(request.body), QuantityInEntryUnit: '12500.000' }] },
    });
    assert.deepEqual(inbound.data.quantity, { value: 12.5, uom: 'KG' }, 'the base profile reads G too');
  });

  it('goodsMovement: inventory moved between storage locations -> 311 with the receiving side', async () => {
    const request = await assertRoundTrip(write('goodsMovement'), event('mfg.inventory.moved.v2', relocation));
    const body = request.body as Body;
    assert.equal(body.GoodsMovementCode, '04');
    assert.deepEqual(itemOf(body), {
      Material: 'FG-4711', Plant: 'P100', StorageLocation: '0003', Batch: 'B1126-01', GoodsMovementType: '311',
      QuantityInEntryUnit: '40.000', EntryUnit: 'ST', InventoryStockType: '01',
      IssuingOrReceivingPlant: 'P100', IssuingOrReceivingStorageLoc: '0005', IssgOrRcvgBatch: 'B1126-01',
    });
  });

  it('goodsMovement: unrestricted -> blocked is 344, blocked -> unrestricted 343, in one storage location', async () => {
    const block = await assertRoundTrip(write('goodsMovement'), event('mfg.inventory.moved.v2', blocking));
    assert.equal(itemOf(block.body).GoodsMovementType, '344');
    assert.equal(itemOf(block.body).IssuingOrReceivingStorageLoc, undefined);
    const unblockData = { ...blocking, from: blocking.to, to: blocking.from };
    const unblock = await assertRoundTrip(write('goodsMovement'), event('mfg.inventory.moved.v2', unblockData));
    assert.equal(itemOf(unblock.body).GoodsMovementType, '343');
    assert.equal(itemOf(unblock.body).InventoryStockType, '07');
  });

  it('goodsMovement: a stock change that is none of 311 / 343 / 344 is a MappingError naming the field', async () => {
    const qi = { ...blocking, to: { ...blocking.to, stockType: 'QualityInspection' as const } };
    const e1 = await mappingError(() => write('goodsMovement').toVendor(event('mfg.inventory.moved.v2', qi)));
    assert.equal(e1.field, '/data/to/stockType');
    assert.match(e1.message, /Unrestricted -> QualityInspection has no movement type/);
    const both = { ...relocation, to: { ...relocation.to, stockType: 'Blocked' as const } };
    assert.equal((await mappingError(() => write('goodsMovement').toVendor(event('mfg.inventory.moved.v2', both)))).field, '/data/to');
    const plants = { ...relocation, to: { ...relocation.to, site: 'P200' } };
    assert.equal((await mappingError(() => write('goodsMovement').toVendor(event('mfg.inventory.moved.v2', plants)))).field, '/data/to/site');
  });

  it('goodsMovement: a plant adds a stock type change (321, quality -> unrestricted) without code', async () => {
    const plant = createProfile(sap, { valueMaps: { stockTransfers: { toVendor: { 'QualityInspection>Unrestricted': '321' } } } });
    const data = { ...blocking, from: { ...blocking.from, stockType: 'QualityInspection' as const }, to: { ...blocking.to, stockType: 'Unrestricted' as const } };
    const request = await assertRoundTrip(plant.operation<WriteOperation>('goodsMovement'), event('mfg.inventory.moved.v2', data));
    assert.equal(itemOf(request.body).GoodsMovementType, '321');
    assert.equal(itemOf(request.body).InventoryStockType, '02');
    await mappingError(() => write('goodsMovement').toVendor(event('mfg.inventory.moved.v2', data)));
  });

  it('goodsMovement: production confirmed -> receipt 101 (GoodsMovementCode 02) into the site receipt location', async () => {
    const e = event('mfg.production.confirmed.v1', production, { source: '/plants/P100/erp' });
    const request = await assertRoundTrip(write('goodsMovement'), e);
    assert.equal((request.body as Body).GoodsMovementCode, '02');
    assert.deepEqual(itemOf(request.body), {
      Material: 'FG-4711', Plant: 'P100', StorageLocation: '0001', Batch: 'B1126-01', GoodsMovementType: '101',
      QuantityInEntryUnit: '95.000', EntryUnit: 'ST', ManufacturingOrder: '000001000123', ManufacturingOrderItem: '1', InventoryStockType: '01',
    });
    const plant = createProfile(sap, { valueMaps: { receiptStorageLocation: { toVendor: { P100: '0003' } } } });
    assert.equal(itemOf((await plant.operation<WriteOperation>('goodsMovement').toVendor(e)).body).StorageLocation, '0003');
  });

  it('goodsMovement: reading back an unknown movement type names GoodsMovementType', async () => {
    const request = await write('goodsMovement').toVendor(event('mfg.material.consumed.v2', consumption));
    const body = { ...(request.body as Body), to_MaterialDocumentItem: { results: [{ ...itemOf(request.body), GoodsMovementType: '999' }] } };
    const err = await mappingError(() => write('goodsMovement').fromVendorRequest(body));
    assert.equal(err.field, 'to_MaterialDocumentItem/results/0/GoodsMovementType');
    assert.equal(err.value, '999');
  });

  it('usageDecision: Release -> A/A, Reject -> R/R, Rework -> R2/R, with decider, plant day and plant time', async () => {
    const op = write('usageDecision');
    const request = await assertRoundTrip(op, event('mfg.quality.disposition.changed.v1', disposition));
    assert.equal(request.path, `${SAP_SERVICES.INSP}/A_InspLotUsageDecision`);
    assert.deepEqual(request.body, {
      InspectionLot: '010000000123', InspLotUsageDecisionCode: 'A', InspLotUsgeDcsnCodeGroup: 'QM01', InspLotUsageDecisionValuation: 'A',
      InspLotUsageDecidedBy: 'QM-USER1', InspLotUsageDecidedOn: `/Date(${Date.parse('2026-11-27T00:00:00Z')})/`, InspLotUsageDecisionTime: 'PT10H15M00S',
    });
    assert.deepEqual(request.lookup, {
      method: 'GET', path: `${SAP_SERVICES.INSP}/A_InspLotUsageDecision('010000000123')`, by: 'InspectionLot', expect: { InspLotUsageDecisionCode: 'A' },
    });
    for (const [decision, code, valuation, to] of [['Reject', 'R', 'R', 'Blocked'], ['Rework', 'R2', 'R', 'Restricted']] as const) {
      const r = await assertRoundTrip(op, event('mfg.quality.disposition.changed.v1', { ...disposition, decision, to }));
      assert.equal((r.body as Body).InspLotUsageDecisionCode, code);
      assert.equal((r.body as Body).InspLotUsageDecisionValuation, valuation);
    }
  });

  it('usageDecision: Hold has no usage decision, and the error says why; no inspection lot is named too', async () => {
    const hold = await mappingError(() => write('usageDecision').toVendor(event('mfg.quality.disposition.changed.v1', { ...disposition, decision: 'Hold', to: 'Restricted' })));
    assert.equal(hold.field, '/data/decision');
    assert.equal(hold.details.length, 1, 'one problem for the one field, though three rules read it');
    assert.equal(hold.details[0].keyword, 'unsupported');
    assert.match(hold.message, /no SAP usage decision.*mfg\.inventory\.moved\.v2/);
    const data = { ...disposition };
    delete (data as Partial<typeof data>).inspectionLot;
    const missing = await mappingError(() => write('usageDecision').toVendor(event('mfg.quality.disposition.changed.v1', data)));
    assert.equal(missing.field, '/data/inspectionLot');
    assert.equal(missing.details[0].keyword, 'required');
  });

  it('releaseProductionOrder: POST ReleaseOrder with the key as a parameter, If-Match from a GET, CSRF', async () => {
    const e = event('mfg.productionorder.released.v1', {
      orderId: '1000123', revision: 0, material: 'FG-4711', quantity: { value: 100, uom: 'EA' }, plannedStart: '2026-11-26T06:00:00Z',
      plannedEnd: '2026-11-27T14:00:00Z', site: 'P100', state: 'Released', operations: [{ operationId: '0010', workCenter: 'WC-CUT1' }],
    }, { source: '/plants/P100/aps' });
    const request = await assertRoundTrip(write('releaseProductionOrder'), e);
    assert.equal(request.method, 'POST');
    assert.equal(request.path, `${SAP_SERVICES.PO}/ReleaseOrder`);
    assert.deepEqual(request.query, { ManufacturingOrder: "'000001000123'" });
    assert.equal(request.body, undefined);
    assert.deepEqual(request.needsEtagFrom, { method: 'GET', path: `${SAP_SERVICES.PO}/A_ProductionOrder_2('000001000123')` });
    assert.equal(request.csrf, SAP_SERVICES.PO);
    const result = await write('releaseProductionOrder').fromVendorResponse({ d: { ...sapOrder().d, OrderIsReleased: true } });
    assert.deepEqual(result, { documentNumber: '1000123', released: true, etag: 'W/"3"' });
  });

  it('reads document numbers from write responses wrapped in "d"', async () => {
    assert.deepEqual(
      await write('confirmOperation').fromVendorResponse({ d: { ConfirmationGroup: '0000000123', ConfirmationCount: '00000001', OrderID: '1000123' } }),
      { documentNumber: '0000000123', confirmationCount: '00000001' },
    );
    assert.deepEqual(
      await write('goodsMovement').fromVendorResponse({ d: { MaterialDocument: '4900000001', MaterialDocumentYear: '2026' } }),
      { documentNumber: '4900000001', documentYear: '2026' },
    );
    const err = await mappingError(() => write('goodsMovement').fromVendorResponse({ d: { MaterialDocumentYear: '2026' } }));
    assert.equal(err.field, 'MaterialDocument');
    assert.equal(err.details[0].pointer, '/d/MaterialDocument');
  });
});

describe('mapping: SAP S/4HANA profile, reads', () => {
  const expected = {
    orderId: '1000123',
    revision: 0,
    material: 'FG-4711',
    quantity: { value: 100, uom: 'EA' },
    plannedStart: '2026-11-26T00:00:00Z',
    plannedEnd: '2026-11-27T00:00:00Z',
    site: 'P100',
    workCenter: 'WC-ASSY1',
    state: 'Released',
    operations: [
      {
        operationId: '0010', description: 'Cut', workCenter: 'WC-CUT1', quantity: { value: 100, uom: 'EA' },
        plannedStart: '2026-11-26T06:00:00Z', plannedEnd: '2026-11-26T10:00:00Z',
        materialRequirements: [
          { material: 'RM-100-STEEL', quantity: { value: 200, uom: 'KG' }, use: 'Consumed', storageLocation: '0001', reservation: { number: '12345', item: '0001' } },
        ],
      },
      {
        operationId: '0020', description: 'Assemble', workCenter: 'WC-ASSY1', quantity: { value: 100, uom: 'EA' },
        plannedStart: '2026-11-26T10:30:00Z', plannedEnd: '2026-11-27T14:00:00Z',
        materialRequirements: [
          {
            material: 'CM-GREASE-LT2', lot: 'B1120-04', quantity: { value: 1.25, uom: 'KG' }, use: 'Consumed', storageLocation: '0002',
            reservation: { number: '12345', item: '0002' },
          },
          { material: 'SF-2210-BRKT', quantity: { value: 200, uom: 'EA' }, use: 'Consumed', storageLocation: '0002', reservation: { number: '12345', item: '0003' } },
        ],
      },
    ],
  };

  it('readProductionOrder: GET with $expand', async () => {
    const request = await read('readProductionOrder').toVendor({ orderId: '1000123' });
    assert.deepEqual(request, {
      method: 'GET',
      path: `${SAP_SERVICES.PO}/A_ProductionOrder_2('000001000123')`,
      query: { $expand: 'to_ProductionOrderOperation,to_ProductionOrderComponent' },
    });
    assert.deepEqual(await read('readProductionOrder').fromVendorRequest(undefined, request), { orderId: '1000123' });
  });

  it('readProductionOrder: the expanded order becomes released data (components under their operations, G -> KG) that validates', async () => {
    const data = await read('readProductionOrder').fromVendorResponse(sapOrder());
    assert.deepEqual(data, expected);
    const e = createEvent({ type: 'mfg.productionorder.released.v1', source: '/plants/P100/erp', siteid: 'P100', data: data as typeof expected & { state: 'Released' } });
    const result = defaultRegistry().validate(e);
    assert.ok(result.valid, JSON.stringify(!result.valid && result.errors));
  });

  it('readProductionOrder: the state follows the status flags by precedence', async () => {
    const cases: [Record<string, boolean>, string][] = [
      [{ OrderIsReleased: false }, 'Waiting'],
      [{ OrderIsPartiallyConfirmed: true }, 'Running'],
      [{ OrderIsPartiallyConfirmed: true, OrderIsConfirmed: true }, 'Completed'],
      [{ OrderIsLocked: true }, 'Held'],
      [{ OrderIsLocked: true, OrderIsDeleted: true }, 'Aborted'],
    ];
    for (const [flags, state] of cases) {
      const order = sapOrder();
      Object.assign(order.d, flags);
      const data = (await read('readProductionOrder').fromVendorResponse(order)) as { state: string };
      assert.equal(data.state, state, JSON.stringify(flags));
    }
  });

  it('readProductionOrder: an unknown status value or no status at all is a MappingError naming the flag', async () => {
    const order = sapOrder();
    order.d.OrderIsReleased = 'ZZ';
    const err = await mappingError(() => read('readProductionOrder').fromVendorResponse(order));
    assert.equal(err.field, 'OrderIsReleased');
    assert.equal(err.value, 'ZZ');
    assert.match(err.message, /unknown order status 'ZZ'.* at OrderIsReleased/);
    const none = sapOrder();
    for (const f of ['OrderIsCreated', 'OrderIsReleased']) none.d[f] = false;
    assert.match((await mappingError(() => read('readProductionOrder').fromVendorResponse(none))).message, /no order status set/);
  });

  it('readProductionOrder: bad fields are all reported at once with their places, and nothing is returned', async () => {
    const order = sapOrder();
    delete order.d.ManufacturingOrder;
    order.d.MfgOrderPlannedStartDate = '/Date(tomorrow)/';
    const comps = (order.d.to_ProductionOrderComponent as { results: Body[] }).results;
    comps[1].BaseUnit = 'LB';
    comps[2].RequiredQuantity = 'abc';
    const ops = (order.d.to_ProductionOrderOperation as { results: Body[] }).results;
    ops[0].OpErlstSchedldExecEndTme = 'PT10H75M00S';
    const err = await mappingError(() => read('readProductionOrder').fromVendorResponse(order));
    assert.equal(err.code, 'MAPPING_ERROR');
    assert.equal(err.direction, 'toCanonical');
    assert.deepEqual(err.details.map((d) => [d.pointer, d.keyword]).sort(), [
      ['/d/ManufacturingOrder', 'required'],
      ['/d/MfgOrderPlannedStartDate', 'date'],
      ['/d/to_ProductionOrderComponent/results/1/BaseUnit', 'unit'],
      ['/d/to_ProductionOrderComponent/results/2/RequiredQuantity', 'decimal'],
      ['/d/to_ProductionOrderOperation/results/0/OpErlstSchedldExecEndTme', 'time'],
    ]);
    assert.match(err.message, /unknown SAP unit 'LB' at to_ProductionOrderComponent\/results\/1\/BaseUnit/);
    assert.match(err.message, /not a decimal number: 'abc' at to_ProductionOrderComponent\/results\/2\/RequiredQuantity/);
    assert.match(err.message, /required value missing at ManufacturingOrder/);
  });

  it('readProductionOrder: a component of an operation the order lacks is reported, not dropped', async () => {
    const order = sapOrder();
    (order.d.to_ProductionOrderComponent as { results: Body[] }).results[2].ManufacturingOrderOperation = '0090';
    const err = await mappingError(() => read('readProductionOrder').fromVendorResponse(order));
    assert.equal(err.field, 'to_ProductionOrderComponent/results/2/ManufacturingOrderOperation');
    assert.equal(err.value, '0090');
  });

  it('readProductionOrder: without $expand the operations are reported missing', async () => {
    const order = sapOrder();
    delete order.d.to_ProductionOrderOperation;
    const err = await mappingError(() => read('readProductionOrder').fromVendorResponse(order));
    assert.equal(err.field, 'to_ProductionOrderOperation/results');
  });

  it('readStock: $filter with quoted literals, and the stock list with stock types and units', async () => {
    const op = read<StockItem[]>('readStock');
    const request = await op.toVendor({ material: "RM-100-STEEL", site: 'P100' });
    assert.deepEqual(request, {
      method: 'GET',
      path: `${SAP_SERVICES.STCK}/A_MatlStkInAcctMod`,
      query: { $filter: "Material eq 'RM-100-STEEL' and Plant eq 'P100'" },
    });
    assert.deepEqual(await op.fromVendorRequest(undefined, { query: { $filter: "Material eq 'O''HARA' and Plant eq 'P100'" } }), { material: "O'HARA", site: 'P100' });
    assert.deepEqual((await op.toVendor({ material: "O'HARA" })).query, { $filter: "Material eq 'O''HARA'" });
    assert.equal((await mappingError(() => op.toVendor({ site: 'P100' }))).field, '/material');

    const stock = await op.fromVendorResponse({
      d: {
        results: [
          { Material: 'RM-100-STEEL', Plant: 'P100', StorageLocation: '0001', Batch: '', InventoryStockType: '01', MatlWrhsStkQtyInMatlBaseUnit: '180.000', MaterialBaseUnit: 'KG' },
          { Material: 'RM-100-STEEL', Plant: 'P100', StorageLocation: '0001', Batch: 'B1120-04', InventoryStockType: '07', MatlWrhsStkQtyInMatlBaseUnit: '2500.000', MaterialBaseUnit: 'G' },
          { Material: 'RM-100-STEEL', Plant: 'P100', StorageLocation: '0002', Batch: '', InventoryStockType: '02', MatlWrhsStkQtyInMatlBaseUnit: '20.000', MaterialBaseUnit: 'KG' },
        ],
      },
    });
    assert.deepEqual(stock, [
      { material: 'RM-100-STEEL', site: 'P100', storageLocation: '0001', stockType: 'Unrestricted', quantity: { value: 180, uom: 'KG' } },
      { material: 'RM-100-STEEL', site: 'P100', storageLocation: '0001', lot: 'B1120-04', stockType: 'Blocked', quantity: { value: 2.5, uom: 'KG' } },
      { material: 'RM-100-STEEL', site: 'P100', storageLocation: '0002', stockType: 'QualityInspection', quantity: { value: 20, uom: 'KG' } },
    ]);
    assert.deepEqual(await op.fromVendorResponse({ d: { results: [] } }), []);
    const bad = await mappingError(() => op.fromVendorResponse({ d: { results: [{ Material: 'X', Plant: 'P100', StorageLocation: '0001', Batch: '', InventoryStockType: '99', MatlWrhsStkQtyInMatlBaseUnit: '1', MaterialBaseUnit: 'KG' }] } }));
    assert.equal(bad.field, 'results/0/InventoryStockType');
    assert.match(bad.message, /unknown stock type '99'/);
  });

  it('the canonical events the SAP writes take are valid fixtures', () => {
    for (const e of [event('mfg.operation.completed.v3', confirmation), event('mfg.inventory.moved.v2', blocking)]) assertValid(e);
  });
});
