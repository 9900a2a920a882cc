/**
 * Realistic payloads for the mapping tests: canonical events of a pump-housing order at plant
 * P100, and vendor documents in the shapes of the PlantSync vendor API contract.
 */
import * as assert from 'node:assert/strict';
import { createEvent, defaultRegistry } from '../../lib';
import type { CanonicalEvent, EventDataByType, EventType } from '../../lib';
import { MappingError, omitPointers, type WriteOperation } from '../../lib/mapping';

/** /Date(ms)/ of a UTC midnight, written as SAP sends it. */
export const SAP_DAY = {
  '2026-11-26': '/Date(1795651200000)/',
  '2026-11-27': '/Date(1795737600000)/',
} as const;

export function event<K extends EventType>(type: K, data: EventDataByType[K], extra: { idempotencykey?: string; time?: string; source?: string } = {}): CanonicalEvent<EventDataByType[K], K> {
  return createEvent({ type, source: extra.source ?? '/plants/P100/mes', siteid: 'P100', data, time: extra.time ?? '2026-11-26T09:15:00Z', idempotencykey: extra.idempotencykey });
}

/** The event validates against its schema (the payloads are realistic, not just mappable). */
export function assertValid(e: unknown): void {
  const result = defaultRegistry().validate(e);
  assert.ok(result.valid, JSON.stringify(!result.valid && result.errors));
}

/**
 * canonical -> vendor request -> (over the wire, JSON) -> fromVendorRequest: equals the canonical
 * data without what the vendor cannot carry. Returns the request for further checks.
 */
export async function assertRoundTrip(op: WriteOperation, e: CanonicalEvent): Promise<Awaited<ReturnType<WriteOperation['toVendor']>>> {
  assertValid(e);
  const request = await op.toVendor(e);
  const wire = JSON.parse(JSON.stringify(request)) as typeof request;
  const back = await op.fromVendorRequest(wire.body, { path: wire.path, query: wire.query });
  assert.equal(back.type, e.type);
  assert.deepEqual(back.data, omitPointers(e, op.notCarried(e.type)).data);
  return request;
}

/** Runs `fn`, expects a MappingError and returns it. */
export async function mappingError(fn: () => Promise<unknown> | unknown): Promise<MappingError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof MappingError) return e;
    throw e;
  }
  assert.fail('expected a MappingError');
}

export const confirmation: EventDataByType['mfg.operation.completed.v3'] = {
  confirmationId: 'CNF-0004711',
  orderId: '1000123',
  operationId: '0010',
  workCenter: 'WC-CUT1',
  site: 'P100',
  actualStart: '2026-11-26T06:00:00Z',
  actualEnd: '2026-11-26T07:30:00Z',
  yield: { value: 95, uom: 'EA' },
  scrap: { value: 5, uom: 'EA' },
  rework: { value: 2, uom: 'EA' },
  varianceReason: { code: 'SCR1', text: 'Burr on blank edges' },
  personnel: 'OP-1142',
  confirmationType: 'Final',
};

export const consumption: EventDataByType['mfg.material.consumed.v2'] = {
  movementId: 'MV-0000881',
  orderId: '1000123',
  operationId: '0010',
  material: 'RM-100-STEEL',
  lot: 'B1120-04',
  quantity: { value: 12.5, uom: 'KG' },
  site: 'P100',
  storageLocation: '0001',
  // External form: the profile adds SAP's leading zeros (ALPHA) on the way out.
  reservation: { number: '12345', item: '0001' },
  finalIssue: false,
};

export const returned: EventDataByType['mfg.material.returned.v2'] = {
  movementId: 'MV-0000882',
  orderId: '1000123',
  material: 'RM-100-STEEL',
  lot: 'B1120-04',
  quantity: { value: 0.75, uom: 'KG' },
  site: 'P100',
  storageLocation: '0001',
  reason: { code: 'SURPLUS' },
};

export const relocation: EventDataByType['mfg.inventory.moved.v2'] = {
  movementId: 'TO-0000081234',
  material: 'FG-4711',
  lot: 'B1126-01',
  quantity: { value: 40, uom: 'EA' },
  from: { site: 'P100', storageLocation: '0003', stockType: 'Unrestricted' },
  to: { site: 'P100', storageLocation: '0005', stockType: 'Unrestricted' },
};

export const blocking: EventDataByType['mfg.inventory.moved.v2'] = {
  movementId: 'TO-0000081235',
  material: 'FG-4711',
  lot: 'B1126-01',
  quantity: { value: 40, uom: 'EA' },
  from: { site: 'P100', storageLocation: '0003', stockType: 'Unrestricted' },
  to: { site: 'P100', storageLocation: '0003', stockType: 'Blocked' },
  reason: { code: 'QHOLD' },
};

export const production: EventDataByType['mfg.production.confirmed.v1'] = {
  orderId: '1000123',
  site: 'P100',
  material: 'FG-4711',
  yield: { value: 95, uom: 'EA' },
  scrap: { value: 5, uom: 'EA' },
  producedLot: 'B1126-01',
  erpConfirmation: '0000000123',
  final: true,
};

export const disposition: EventDataByType['mfg.quality.disposition.changed.v1'] = {
  lot: 'B1126-01',
  material: 'FG-4711',
  site: 'P100',
  quantity: { value: 100, uom: 'EA' },
  from: 'Restricted',
  to: 'Unrestricted',
  decision: 'Release',
  decisionCode: 'A1',
  inspectionLot: '010000000123',
  decidedBy: 'QM-USER1',
  decidedAt: '2026-11-27T10:15:00Z',
};

/** The canonical order both vendors' reads should produce (and the MES dispatch sends). */
export const releasedOrder: EventDataByType['mfg.productionorder.released.v1'] = {
  orderId: '1000123',
  revision: 0,
  material: 'FG-4711',
  quantity: { value: 100, uom: 'EA' },
  plannedStart: '2026-11-26T06:00:00Z',
  plannedEnd: '2026-11-27T14:00:00Z',
  site: 'P100',
  area: 'A-ASSY',
  workCenter: 'WC-ASSY1',
  state: 'Released',
  priority: 2,
  operations: [
    {
      operationId: '0010',
      description: 'Cut',
      workCenter: 'WC-CUT1',
      plannedStart: '2026-11-26T06:00:00Z',
      plannedEnd: '2026-11-26T10:00:00Z',
      quantity: { value: 100, uom: 'EA' },
      materialRequirements: [
        { material: 'RM-100-STEEL', lot: 'B1120-04', quantity: { value: 200, uom: 'KG' }, use: 'Consumed', storageLocation: '0001', reservation: { number: '12345', item: '0001' } },
      ],
    },
    {
      operationId: '0020',
      description: 'Assemble',
      workCenter: 'WC-ASSY1',
      quantity: { value: 100, uom: 'EA' },
      materialRequirements: [
        { material: 'CM-GREASE-LT2', quantity: { value: 1.25, uom: 'KG' }, use: 'Consumed' },
        { material: 'FG-4711', quantity: { value: 100, uom: 'EA' }, use: 'Produced' },
      ],
    },
  ],
};

/** GET A_ProductionOrder_2('000001000123')?$expand=to_ProductionOrderOperation,to_ProductionOrderComponent */
export function sapOrder(): { d: Record<string, unknown> } {
  return structuredClone({
    d: {
      __metadata: {
        id: "https://erp.example/sap/opu/odata/sap/API_PRODUCTION_ORDER_2_SRV/A_ProductionOrder_2('000001000123')",
        uri: "https://erp.example/sap/opu/odata/sap/API_PRODUCTION_ORDER_2_SRV/A_ProductionOrder_2('000001000123')",
        type: 'API_PRODUCTION_ORDER_2_SRV.A_ProductionOrder_2Type',
        etag: 'W/"3"',
      },
      ManufacturingOrder: '000001000123',
      ManufacturingOrderType: 'PP01',
      Material: 'FG-4711',
      ProductionPlant: 'P100',
      ProductionVersion: '0001',
      TotalQuantity: '100.000',
      ProductionUnit: 'ST',
      MfgOrderPlannedStartDate: SAP_DAY['2026-11-26'],
      MfgOrderPlannedEndDate: SAP_DAY['2026-11-27'],
      OrderIsCreated: true,
      OrderIsReleased: true,
      OrderIsPartiallyConfirmed: false,
      OrderIsConfirmed: false,
      OrderIsDeleted: false,
      OrderIsLocked: false,
      WorkCenter: 'WC-ASSY1',
      MRPController: '001',
      to_ProductionOrderOperation: {
        results: [
          {
            ManufacturingOrder: '000001000123', ManufacturingOrderOperation: '0010', MfgOrderOperationText: 'Cut', WorkCenter: 'WC-CUT1',
            OpPlannedTotalQuantity: '100.000', OperationUnit: 'ST',
            OpErlstSchedldExecStrtDte: SAP_DAY['2026-11-26'], OpErlstSchedldExecStrtTme: 'PT06H00M00S',
            OpErlstSchedldExecEndDte: SAP_DAY['2026-11-26'], OpErlstSchedldExecEndTme: 'PT10H00M00S',
          },
          {
            ManufacturingOrder: '000001000123', ManufacturingOrderOperation: '0020', MfgOrderOperationText: 'Assemble', WorkCenter: 'WC-ASSY1',
            OpPlannedTotalQuantity: '100.000', OperationUnit: 'ST',
            OpErlstSchedldExecStrtDte: SAP_DAY['2026-11-26'], OpErlstSchedldExecStrtTme: 'PT10H30M00S',
            OpErlstSchedldExecEndDte: SAP_DAY['2026-11-27'], OpErlstSchedldExecEndTme: 'PT14H00M00S',
          },
        ],
      },
      to_ProductionOrderComponent: {
        results: [
          {
            Reservation: '0000012345', ReservationItem: '0001', ManufacturingOrder: '000001000123', ManufacturingOrderOperation: '0010',
            Material: 'RM-100-STEEL', Plant: 'P100', StorageLocation: '0001', Batch: '', RequiredQuantity: '200.000', BaseUnit: 'KG',
            GoodsMovementType: '261', MatlCompIsMarkedForBackflush: false,
          },
          {
            Reservation: '0000012345', ReservationItem: '0002', ManufacturingOrder: '000001000123', ManufacturingOrderOperation: '0020',
            Material: 'CM-GREASE-LT2', Plant: 'P100', StorageLocation: '0002', Batch: 'B1120-04', RequiredQuantity: '1250.000', BaseUnit: 'G',
            GoodsMovementType: '261', MatlCompIsMarkedForBackflush: true,
          },
          {
            Reservation: '0000012345', ReservationItem: '0003', ManufacturingOrder: '000001000123', ManufacturingOrderOperation: '0020',
            Material: 'SF-2210-BRKT', Plant: 'P100', StorageLocation: '0002', Batch: '', RequiredQuantity: '200.000', BaseUnit: 'ST',
            GoodsMovementType: '261', MatlCompIsMarkedForBackflush: false,
          },
        ],
      },
    },
  });
}

/** GET /api/v1/orders/1000123 from the MES. */
export function mesOrder(): Record<string, unknown> {
  return structuredClone({
    orderId: '1000123',
    status: 'RELEASED',
    material: 'FG-4711',
    quantity: { amount: 100, unit: 'PCE' },
    plannedStart: '2026-11-26T06:00:00Z',
    plannedEnd: '2026-11-27T14:00:00.000Z',
    site: 'P100',
    workCenter: 'WC-ASSY1',
    revision: 0,
    operations: [
      {
        sequence: '0010', description: 'Cut', workCenter: 'WC-CUT1', status: 'RELEASED', quantity: { amount: 100, unit: 'PCE' },
        materials: [{ material: 'RM-100-STEEL', lot: 'B1120-04', quantity: { amount: 200, unit: 'KGM' }, use: 'CONSUME' }],
      },
      {
        sequence: '0020', description: 'Assemble', workCenter: 'WC-ASSY1', status: 'RELEASED', quantity: { amount: 100, unit: 'C62' },
        materials: [
          { material: 'CM-GREASE-LT2', quantity: { amount: 1250, unit: 'GRM' }, use: 'CONSUME' },
          { material: 'FG-4711', quantity: { amount: 100, unit: 'PCE' }, use: 'PRODUCE' },
        ],
      },
    ],
  });
}
