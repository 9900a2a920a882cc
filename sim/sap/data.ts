import { Counter } from '../common/ids';
import { internalKey, ORDER_LENGTH } from './keys';
import { newEtag, timeOfDay } from './odata';

/** The ERP's business state; quantities are integer thousandths of their unit. */

export interface SapOperation {
  ManufacturingOrderOperation: string;
  MfgOrderOperationText: string;
  WorkCenter: string;
  OpPlannedTotalQuantity: number;
  OperationUnit: string;
  startMs: number;
  startTime: string;
  endMs: number;
  endTime: string;
  /** SAP numbers each operation's confirmations as group (RUECK) + running count (RMZHL). */
  ConfirmationGroup: string;
  confirmationCount: number;
  finallyConfirmed: boolean;
}

export interface SapComponent {
  Reservation: string;
  ReservationItem: string;
  ManufacturingOrderOperation: string;
  Material: string;
  Plant: string;
  StorageLocation: string;
  Batch: string;
  RequiredQuantity: number;
  BaseUnit: string;
  GoodsMovementType: string;
  MatlCompIsMarkedForBackflush: boolean;
}

export interface SapOrder {
  ManufacturingOrder: string;
  ManufacturingOrderType: string;
  Material: string;
  ProductionPlant: string;
  ProductionVersion: string;
  TotalQuantity: number;
  ProductionUnit: string;
  startMs: number;
  endMs: number;
  OrderIsCreated: boolean;
  OrderIsReleased: boolean;
  OrderIsPartiallyConfirmed: boolean;
  OrderIsConfirmed: boolean;
  OrderIsDeleted: boolean;
  OrderIsLocked: boolean;
  WorkCenter: string;
  MRPController: string;
  etag: string;
  operations: SapOperation[];
  components: SapComponent[];
}

export type StockType = '01' | '02' | '07';

export interface StockRow {
  Material: string;
  Plant: string;
  StorageLocation: string;
  Batch: string;
  InventoryStockType: StockType;
  qty: number;
  unit: string;
}

export interface InspectionLot {
  InspectionLot: string;
  Material: string;
  Batch: string;
  Plant: string;
  /** Where the lot's quality stock sits; not part of the entity shape. */
  StorageLocation: string;
  qty: number;
  unit: string;
  InspLotUsageDecisionCode: string;
  InspectionLotType: string;
  etag: string;
  /** The usage decision entity (OData `d`), once one was made. */
  usageDecision?: Record<string, unknown>;
}

export interface FirstResponse {
  status: number;
  body: unknown;
  seq: number;
}

export interface SapState {
  orders: Map<string, SapOrder>;
  stock: StockRow[];
  lots: Map<string, InspectionLot>;
  /** Posted confirmations (OData `d` objects), for the ProdnOrdConf2 collection. */
  confirmations: Array<Record<string, unknown>>;
  /** First confirmation per ExternalSystemConfirmation. */
  byExternalId: Map<string, FirstResponse>;
  materialDocuments: Counter;
  /** Posted material document headers (OData `d` objects, items included), for the A_MaterialDocumentHeader collection. */
  materialDocumentHeaders: Array<Record<string, unknown>>;
  /** Keys are found only in their internal form (real SAP); false: the external form too. */
  internalKeysOnly: boolean;
}

/** How the seed data is laid out: SAP's plant code for each seed site (P100 -> 1010). */
export interface SeedOptions {
  internalKeysOnly?: boolean;
  plantCodes?: Readonly<Record<string, string>>;
}

/** Material master: base unit and batch management, which the goods movement checks enforce. */
export const MATERIALS: Record<string, { baseUnit: string; batchManaged: boolean }> = {
  'RM-100-STEEL': { baseUnit: 'KG', batchManaged: false },
  'FG-4711': { baseUnit: 'ST', batchManaged: true },
  'FG-4712': { baseUnit: 'ST', batchManaged: false },
};

const DAY = Date.UTC(2026, 10, 26);

function op(seq: string, text: string, workCenter: string, qty: number, from: number, to: number, group: string): SapOperation {
  return {
    ManufacturingOrderOperation: seq, MfgOrderOperationText: text, WorkCenter: workCenter, OpPlannedTotalQuantity: qty * 1000, OperationUnit: 'ST',
    startMs: DAY, startTime: timeOfDay(from), endMs: DAY, endTime: timeOfDay(to), ConfirmationGroup: group, confirmationCount: 0, finallyConfirmed: false,
  };
}

function order(id: string, plant: string, material: string, qty: number, released: boolean, workCenter: string, operations: SapOperation[], components: SapComponent[]): SapOrder {
  return {
    ManufacturingOrder: internalKey(id, ORDER_LENGTH), ManufacturingOrderType: 'PP01', Material: material, ProductionPlant: plant, ProductionVersion: '0001',
    TotalQuantity: qty * 1000, ProductionUnit: 'ST', startMs: DAY, endMs: DAY,
    OrderIsCreated: true, OrderIsReleased: released, OrderIsPartiallyConfirmed: false, OrderIsConfirmed: false, OrderIsDeleted: false, OrderIsLocked: false,
    WorkCenter: workCenter, MRPController: '001', etag: newEtag(), operations, components,
  };
}

export function seedState(options: SeedOptions = {}): SapState {
  const site = (code: string) => options.plantCodes?.[code] ?? code;
  const P100 = site('P100');
  const o123 = order('1000123', P100, 'FG-4711', 100, false, 'WC-ASSY1', [
    op('0010', 'Cut', 'WC-CUT1', 100, 6, 10, '0000000123'),
    op('0020', 'Assemble', 'WC-ASSY1', 100, 10, 14, '0000000124'),
  ], [{
    Reservation: '0000012345', ReservationItem: '0001', ManufacturingOrderOperation: '0010', Material: 'RM-100-STEEL', Plant: P100,
    StorageLocation: '0001', Batch: '', RequiredQuantity: 200_000, BaseUnit: 'KG', GoodsMovementType: '261', MatlCompIsMarkedForBackflush: false,
  }]);
  // A component without operation assignment (''): valid in SAP, it belongs to the order.
  const o124 = order('1000124', P100, 'FG-4712', 50, true, 'WC-PACK1', [op('0010', 'Pack', 'WC-PACK1', 50, 14, 18, '0000000125')], [{
    Reservation: '0000012346', ReservationItem: '0001', ManufacturingOrderOperation: '', Material: 'RM-100-STEEL', Plant: P100,
    StorageLocation: '0001', Batch: '', RequiredQuantity: 5_000, BaseUnit: 'KG', GoodsMovementType: '261', MatlCompIsMarkedForBackflush: false,
  }]);
  return {
    orders: new Map([[o123.ManufacturingOrder, o123], [o124.ManufacturingOrder, o124]]),
    stock: [
      { Material: 'RM-100-STEEL', Plant: P100, StorageLocation: '0001', Batch: '', InventoryStockType: '01', qty: 500_000, unit: 'KG' },
      { Material: 'FG-4711', Plant: P100, StorageLocation: '0001', Batch: 'L2026-1126-01', InventoryStockType: '02', qty: 100_000, unit: 'ST' },
    ],
    lots: new Map([['010000000123', {
      InspectionLot: '010000000123', Material: 'FG-4711', Batch: 'L2026-1126-01', Plant: P100, StorageLocation: '0001',
      qty: 100_000, unit: 'ST', InspLotUsageDecisionCode: '', InspectionLotType: '04', etag: newEtag(),
    }]]),
    confirmations: [],
    byExternalId: new Map(),
    materialDocuments: new Counter(4900000001),
    materialDocumentHeaders: [],
    internalKeysOnly: options.internalKeysOnly ?? true,
  };
}
