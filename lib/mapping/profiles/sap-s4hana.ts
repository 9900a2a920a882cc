/**
 * SAP S/4HANA (OData v2) profile, written to the shapes of the PlantSync vendor API contract:
 * production orders, confirmations, goods movements, stock and inspection-lot usage decisions.
 */
import type { CanonicalEvent, InventoryMovedData } from '../../canonical/events';
import { getPath } from '../paths';
import { FieldProblem } from '../problem';
import { alphaToInternal } from '../alpha';
import { show } from '../errors';
import type { AlphaDef } from '../alpha';
import { odataString } from '../odata';
import type { FieldRule, ProfileDefinition, RuleContext, ValueMapDef, WriteVariant } from '../types';
import { ValueMap } from '../value-maps';
import { SAP_UNITS } from '../units';

const SERVICE = '/sap/opu/odata/sap';
export const SAP_SERVICES = {
  PO: `${SERVICE}/API_PRODUCTION_ORDER_2_SRV`,
  CONF: `${SERVICE}/API_PROD_ORDER_CONFIRMATION_2_SRV`,
  MDOC: `${SERVICE}/API_MATERIAL_DOCUMENT_SRV`,
  STCK: `${SERVICE}/API_MATERIAL_STOCK_SRV`,
  INSP: `${SERVICE}/API_INSPECTIONLOT_SRV`,
} as const;
const { PO, CONF, MDOC, STCK, INSP } = SAP_SERVICES;

const HOLD_IS_NOT_A_USAGE_DECISION =
  'a hold has no SAP usage decision (the lot stays in quality inspection); block the stock instead with mfg.inventory.moved.v2 to stockType Blocked (movement 344)';

const VALUE_MAPS: Record<string, ValueMapDef> = {
  /** Status flags in precedence order: the first flag that is true gives the canonical state. */
  orderStatus: {
    label: 'order status',
    toVendor: {
      Aborted: 'OrderIsDeleted',
      Held: 'OrderIsLocked',
      Completed: 'OrderIsConfirmed',
      Running: 'OrderIsPartiallyConfirmed',
      Released: 'OrderIsReleased',
      Waiting: 'OrderIsCreated',
    },
  },
  confirmationType: { label: 'confirmation type', toVendor: { Final: 'X', Partial: '' } },
  finalConfirmation: { label: 'final confirmation flag', toVendor: { Final: true, Partial: false } },
  /** Plants add their reason codes (canonical code -> SAP 4-character code); others pass unchanged. */
  varianceReason: { label: 'variance reason', toVendor: {}, otherwise: 'passThrough' },
  stockType: { label: 'stock type', toVendor: { Unrestricted: '01', QualityInspection: '02', Blocked: '07' } },
  /** Stock type changes in one storage location, "<from>><to>" -> movement type. */
  stockTransfers: { label: 'stock type change', toVendor: { 'Unrestricted>Blocked': '344', 'Blocked>Unrestricted': '343' } },
  /** Component movement type -> material use. */
  materialUse: { label: 'component movement type', toVendor: { Consumed: '261', Produced: '101' } },
  usageDecisionCode: {
    label: 'decision',
    toVendor: { Release: 'A', Reject: 'R', Rework: 'R2' },
    unsupported: { Hold: HOLD_IS_NOT_A_USAGE_DECISION },
  },
  usageDecisionValuation: {
    label: 'decision',
    toVendor: { Release: 'A', Reject: 'R', Rework: 'R' },
    unsupported: { Hold: HOLD_IS_NOT_A_USAGE_DECISION },
  },
  usageDecisionCodeGroup: {
    label: 'decision',
    toVendor: { Release: 'QM01', Reject: 'QM01', Rework: 'QM01' },
    unsupported: { Hold: HOLD_IS_NOT_A_USAGE_DECISION },
  },
  /** Site -> storage location that receives production (canonical production data names none). */
  receiptStorageLocation: { label: 'receipt storage location', toVendor: {}, otherwise: { vendor: '0001' } },
  /**
   * Site -> SAP plant code (P100 -> 1010), both ways. Sites pass unchanged until a plant sets the
   * map; from then on a site it does not map is a MAPPING_ERROR, never a posting to a wrong plant.
   */
  plant: { label: 'site', toVendor: {}, otherwise: 'passThroughUntilSet' },
  /** Canonical storage location -> SAP storage location code, where they differ; same rule as plant. */
  storageLocation: { label: 'storage location', toVendor: {}, otherwise: 'passThroughUntilSet' },
};

/** SAP keys kept with leading zeros (ALPHA conversion); a plant's system may differ (material 40). */
const ALPHA: Record<string, AlphaDef> = {
  productionOrder: { label: 'production order', length: 12 },
  reservation: { label: 'reservation', length: 10 },
  material: { label: 'material', length: 18 },
};

// ---- goods movements -------------------------------------------------------------------------

const ITEM = 'to_MaterialDocumentItem/results/0/';
const MOVEMENT_TYPE = `${ITEM}GoodsMovementType`;

/** Rules of the (single) material document item, written with item-relative field names. */
function item(rules: FieldRule[]): FieldRule[] {
  return rules.map((r) => (typeof r.to === 'string' ? { ...r, to: ITEM + r.to } : r.to ? { ...r, to: r.to.map((t) => ITEM + t) } : r));
}

function header(goodsMovementCode: string): FieldRule[] {
  return [
    { to: 'GoodsMovementCode', const: goodsMovementCode },
    { to: 'PostingDate', from: '/time', as: 'sapPostingDate', only: 'toVendor' },
    { to: 'DocumentDate', from: '/time', as: 'sapPostingDate', only: 'toVendor' },
    // MaterialDocumentHeaderText is the profile's: it carries the posting's external key (externalKeyField).
  ];
}

function orderIssue(movementType: string): FieldRule[] {
  return [
    ...header('03'),
    ...item([
      { to: 'Material', from: '/data/material', alpha: 'material' },
      { to: 'Plant', from: '/data/site', map: 'plant' },
      { to: 'StorageLocation', from: '/data/storageLocation', map: 'storageLocation' },
      { to: 'Batch', from: '/data/lot', empty: '', maxLength: 10 },
      { to: 'GoodsMovementType', const: movementType },
      { to: ['QuantityInEntryUnit', 'EntryUnit'], from: '/data/quantity', as: 'sapQuantity' },
      { to: 'ManufacturingOrder', from: '/data/orderId', alpha: 'productionOrder' },
      { to: 'Reservation', from: '/data/reservation/number', optional: true, alpha: 'reservation' },
      { to: 'ReservationItem', from: '/data/reservation/item', optional: true },
      { to: 'InventoryStockType', const: '01' },
    ]),
  ];
}

function moved(event: unknown): InventoryMovedData {
  return (event as CanonicalEvent<InventoryMovedData>).data;
}

const relocates = (d: InventoryMovedData) => d.from.storageLocation !== d.to.storageLocation;

/**
 * 311 when only the storage location changes, the plant's stock-type-change table (343, 344)
 * when only the stock type changes; anything else is not one SAP transfer posting.
 */
export function inventoryMovementType(event: unknown, ctx: RuleContext): string | undefined {
  const d = moved(event);
  // Without from / to there is nothing to decide; the rules reading them report it.
  if (!d?.from || !d?.to) return undefined;
  if (d.from.site !== d.to.site) {
    throw new FieldProblem('movement', `a move between plants (${d.from.site} -> ${d.to.site}) is not a transfer posting this profile maps`, d.to.site, { sub: '/data/to/site' });
  }
  const retypes = d.from.stockType !== d.to.stockType;
  if (relocates(d) && !retypes) return '311';
  if (relocates(d) && retypes) {
    throw new FieldProblem('movement', 'storage location and stock type both change: post two movements (311, then the stock type change)', d.to, { sub: '/data/to' });
  }
  if (!retypes) throw new FieldProblem('movement', 'nothing moves: from and to are the same place and stock type', d.to, { sub: '/data/to' });
  const change = `${d.from.stockType}>${d.to.stockType}`;
  const table = ctx.valueMaps.stockTransfers.toVendor;
  if (!Object.hasOwn(table, change)) {
    throw new FieldProblem('movement', `stock type change ${d.from.stockType} -> ${d.to.stockType} has no movement type (maps: ${Object.keys(table).join(', ')})`, d.to.stockType, { sub: '/data/to/stockType' });
  }
  return String(table[change]);
}

/** A 311's receiving side; 343 / 344 stay in their storage location and send none. */
const receiving = (pick: (d: InventoryMovedData) => string | undefined) => (event: unknown) => {
  const d = moved(event);
  return d?.from && d?.to && relocates(d) ? pick(d) : undefined;
};

/** Reading back: the stock types before and after, from the movement type. */
function stockTypesOf(doc: unknown, ctx: RuleContext): [string, string] {
  const movementType = getPath(doc, MOVEMENT_TYPE);
  if (movementType === '311') {
    const code = getPath(doc, `${ITEM}InventoryStockType`);
    const found = Object.entries(ctx.valueMaps.stockType.toVendor).find(([, v]) => v === code);
    if (!found) throw new FieldProblem('valueMap', `unknown stock type ${show(code)}`, code, { part: 1 });
    return [found[0], found[0]];
  }
  const change = Object.entries(ctx.valueMaps.stockTransfers.toVendor).find(([, v]) => v === movementType);
  if (!change) throw new FieldProblem('valueMap', `unknown movement type ${show(movementType)}`, movementType);
  const [from, to] = change[0].split('>');
  return [from, to];
}

const RECEIVING = (field: string, fallback: string) =>
  `to_MaterialDocumentItem.results[0].($exists(${field}) and ${field} != '' ? ${field} : ${fallback})`;

const INVENTORY_MOVED: FieldRule[] = [
  ...header('04'),
  ...item([
    { to: 'Material', from: '/data/material', alpha: 'material' },
    { to: 'Plant', from: '/data/from/site', map: 'plant' },
    { to: 'StorageLocation', from: '/data/from/storageLocation', map: 'storageLocation' },
    { to: 'Batch', from: '/data/lot', empty: '', maxLength: 10 },
    { to: 'GoodsMovementType', fn: inventoryMovementType, optional: true },
    { to: ['QuantityInEntryUnit', 'EntryUnit'], from: '/data/quantity', as: 'sapQuantity' },
    { to: 'InventoryStockType', from: '/data/from/stockType', map: 'stockType', only: 'toVendor' },
    // `from` places errors of the mapped code at the receiving side.
    { to: 'IssuingOrReceivingPlant', from: '/data/to/site', fn: receiving((d) => d.to.site), optional: true, map: 'plant' },
    { to: 'IssuingOrReceivingStorageLoc', from: '/data/to/storageLocation', fn: receiving((d) => d.to.storageLocation), optional: true, map: 'storageLocation' },
    { to: 'IssgOrRcvgBatch', fn: receiving((d) => d.lot), optional: true, maxLength: 10 },
  ]),
  { from: '/data/to/site', read: RECEIVING('IssuingOrReceivingPlant', 'Plant'), map: 'plant' },
  { from: '/data/to/storageLocation', read: RECEIVING('IssuingOrReceivingStorageLoc', 'StorageLocation'), map: 'storageLocation' },
  // `to` only places errors: the movement type, and the stock type of a 311.
  { from: '/data/from/stockType', to: [MOVEMENT_TYPE, `${ITEM}InventoryStockType`], readFn: (doc, ctx) => stockTypesOf(doc, ctx)[0], only: 'toCanonical' },
  { from: '/data/to/stockType', to: [MOVEMENT_TYPE, `${ITEM}InventoryStockType`], readFn: (doc, ctx) => stockTypesOf(doc, ctx)[1], only: 'toCanonical' },
];

const PRODUCTION_RECEIPT: FieldRule[] = [
  ...header('02'),
  ...item([
    { to: 'Material', from: '/data/material', alpha: 'material' },
    { to: 'Plant', from: '/data/site', map: 'plant' },
    { to: 'StorageLocation', from: '/data/site', map: 'receiptStorageLocation', only: 'toVendor' },
    { to: 'Batch', from: '/data/producedLot', empty: '', maxLength: 10 },
    { to: 'GoodsMovementType', const: '101' },
    { to: ['QuantityInEntryUnit', 'EntryUnit'], from: '/data/yield', as: 'sapQuantity' },
    { to: 'ManufacturingOrder', from: '/data/orderId', alpha: 'productionOrder' },
    { to: 'ManufacturingOrderItem', const: '1' },
    { to: 'InventoryStockType', const: '01' },
  ]),
];

const GOODS_MOVEMENTS: WriteVariant[] = [
  {
    eventType: 'mfg.material.consumed.v2',
    match: { [MOVEMENT_TYPE]: ['261'] },
    body: orderIssue('261'),
    notCarried: ['/data/movementId', '/data/operationId', '/data/sublot', '/data/finalIssue'],
  },
  {
    eventType: 'mfg.material.returned.v2',
    match: { [MOVEMENT_TYPE]: ['262'] },
    body: orderIssue('262'),
    notCarried: ['/data/movementId', '/data/operationId', '/data/sublot', '/data/reason'],
  },
  {
    eventType: 'mfg.inventory.moved.v2',
    match: { [MOVEMENT_TYPE]: ['311', { map: 'stockTransfers' }] },
    body: INVENTORY_MOVED,
    notCarried: ['/data/movementId', '/data/from/bin', '/data/to/bin', '/data/handlingUnit', '/data/reason'],
  },
  {
    eventType: 'mfg.production.confirmed.v1',
    match: { [MOVEMENT_TYPE]: ['101'] },
    body: PRODUCTION_RECEIPT,
    notCarried: ['/data/scrap', '/data/erpConfirmation', '/data/final'],
  },
];

// ---- production order ------------------------------------------------------------------------

const COMPONENT: FieldRule[] = [
  { from: '/material', to: 'Material', alpha: 'material' },
  { from: '/lot', to: 'Batch', empty: '' },
  { from: '/quantity', to: ['RequiredQuantity', 'BaseUnit'], as: 'sapQuantity' },
  { from: '/use', to: 'GoodsMovementType', map: 'materialUse' },
  { from: '/storageLocation', to: 'StorageLocation', empty: '', map: 'storageLocation' },
  { from: '/reservation/number', to: 'Reservation', empty: '', alpha: 'reservation' },
  { from: '/reservation/item', to: 'ReservationItem', empty: '' },
];

const OPERATION: FieldRule[] = [
  { from: '/operationId', to: 'ManufacturingOrderOperation' },
  { from: '/description', to: 'MfgOrderOperationText', empty: '' },
  { from: '/workCenter', to: 'WorkCenter' },
  { from: '/plannedStart', to: ['OpErlstSchedldExecStrtDte', 'OpErlstSchedldExecStrtTme'], as: 'sapDateTime', optional: true },
  { from: '/plannedEnd', to: ['OpErlstSchedldExecEndDte', 'OpErlstSchedldExecEndTme'], as: 'sapDateTime', optional: true },
  { from: '/quantity', to: ['OpPlannedTotalQuantity', 'OperationUnit'], as: 'sapQuantity', optional: true },
  {
    // Components hang off the order; each operation takes those assigned to it.
    from: '/materialRequirements',
    to: '$$/to_ProductionOrderComponent/results',
    where: 'ManufacturingOrderOperation = $parent.ManufacturingOrderOperation',
    optional: true,
    each: COMPONENT,
  },
];

const PRODUCTION_ORDER: FieldRule[] = [
  { from: '/orderId', to: 'ManufacturingOrder', as: 'string', alpha: 'productionOrder' },
  { from: '/revision', value: 0 },
  { from: '/material', to: 'Material', alpha: 'material' },
  { from: '/quantity', to: ['TotalQuantity', 'ProductionUnit'], as: 'sapQuantity' },
  // Planned dates are plant calendar days: the order starts at the day's start in plant time.
  { from: '/plannedStart', to: 'MfgOrderPlannedStartDate', as: 'sapPostingDate' },
  { from: '/plannedEnd', to: 'MfgOrderPlannedEndDate', as: 'sapPostingDate' },
  { from: '/site', to: 'ProductionPlant', map: 'plant' },
  { from: '/workCenter', to: 'WorkCenter', empty: '' },
  { from: '/state', flags: 'orderStatus' },
  { from: '/operations', to: 'to_ProductionOrderOperation/results', each: OPERATION },
  {
    // Components without an operation assignment belong to the order itself.
    from: '/materialRequirements',
    to: 'to_ProductionOrderComponent/results',
    where: "$not($exists(ManufacturingOrderOperation)) or ManufacturingOrderOperation = ''",
    optional: true,
    each: COMPONENT,
  },
];

/**
 * A component assigned to an operation the order does not have would silently vanish from the
 * canonical order. Components without an operation assignment ('' or absent) are valid: they
 * belong to the order itself (its materialRequirements).
 */
function unassignedComponents(order: unknown): { path: string; value: unknown; problem: string }[] {
  const ops = getPath(order, 'to_ProductionOrderOperation/results');
  const comps = getPath(order, 'to_ProductionOrderComponent/results');
  if (!Array.isArray(ops) || !Array.isArray(comps)) return [];
  const known = new Set(ops.map((o) => (o as Record<string, unknown>)?.ManufacturingOrderOperation));
  return comps.flatMap((c, i) => {
    const op = (c as Record<string, unknown>)?.ManufacturingOrderOperation;
    return op === undefined || op === null || op === '' || known.has(op) ? [] : [{
      path: `to_ProductionOrderComponent/results/${i}/ManufacturingOrderOperation`,
      value: op,
      problem: `component assigned to operation ${show(op)}, which the order does not have`,
    }];
  });
}

// ---- stock -----------------------------------------------------------------------------------

/** The stock $filter from the read's parameters, with SAP's material number and plant code. */
function stockFilter(params: unknown, ctx: RuleContext): string {
  const { material, site } = (params ?? {}) as { material?: unknown; site?: unknown };
  if (typeof material !== 'string') throw new FieldProblem('required', 'required value missing', material, { sub: '/material' });
  const matnr = String(placedAt('/material', () => alphaToInternal(material, ctx.alpha.material)));
  if (site === undefined) return `Material eq ${odataString(matnr)}`;
  const plant = String(placedAt('/site', () => new ValueMap('plant', ctx.valueMaps.plant).toVendor(site)));
  return `Material eq ${odataString(matnr)} and Plant eq ${odataString(plant)}`;
}

function placedAt<T>(sub: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw FieldProblem.from(e, { sub });
  }
}
const FILTER_VALUE = (field: string) => `($m := $match(\`$filter\`, /${field} eq '((?:[^']|'')*)'/); $m ? $replace($m.groups[0], "''", "'"))`;

const STOCK_ITEM: FieldRule[] = [
  { from: '/material', to: 'Material', alpha: 'material' },
  { from: '/site', to: 'Plant', map: 'plant' },
  { from: '/storageLocation', to: 'StorageLocation', map: 'storageLocation' },
  { from: '/lot', to: 'Batch', empty: '' },
  { from: '/stockType', to: 'InventoryStockType', map: 'stockType' },
  { from: '/quantity', to: ['MatlWrhsStkQtyInMatlBaseUnit', 'MaterialBaseUnit'], as: 'sapQuantity' },
];

const DOCUMENT: FieldRule[] = [
  { from: '/documentNumber', to: 'MaterialDocument' },
  { from: '/documentYear', to: 'MaterialDocumentYear' },
];

export const SAP_S4HANA: ProfileDefinition = {
  name: 'sap-s4hana',
  description: 'SAP S/4HANA OData v2: production orders, confirmations, goods movements, stock, usage decisions',
  units: SAP_UNITS,
  unitSystem: 'SAP',
  valueMaps: VALUE_MAPS,
  alpha: ALPHA,
  operations: {
    readProductionOrder: {
      kind: 'read',
      description: 'read a production order with its operations and components',
      system: 'ERP',
      method: 'GET',
      path: `${PO}/A_ProductionOrder_2({order})`,
      params: [{ to: 'order', from: '/orderId', as: 'odataString', alpha: 'productionOrder' }],
      query: [{ to: '$expand', const: 'to_ProductionOrderOperation,to_ProductionOrderComponent' }],
      // Services that ignore $expand: each navigation is then read from its own URL.
      navigations: ['to_ProductionOrderOperation', 'to_ProductionOrderComponent'],
      responseRoot: 'd',
      response: PRODUCTION_ORDER,
      verifyResponse: unassignedComponents,
    },
    releaseProductionOrder: {
      kind: 'write',
      description: 'release a production order',
      system: 'ERP',
      method: 'POST',
      path: `${PO}/ReleaseOrder`,
      params: [{ to: 'order', from: '/data/orderId', as: 'odataString', alpha: 'productionOrder' }],
      query: [{ to: 'ManufacturingOrder', from: '/data/orderId', as: 'odataString', alpha: 'productionOrder' }],
      etagFrom: `${PO}/A_ProductionOrder_2({order})`,
      // ReleaseOrder returns FunctionMessage (or, on some services, the order or nothing): the order is read afterwards.
      readAfter: `${PO}/A_ProductionOrder_2({order})`,
      // The order is its own key: a released order is the release done (also "already released").
      lookup: { by: 'ManufacturingOrder', path: `${PO}/A_ProductionOrder_2({order})`, when: { OrderIsReleased: true } },
      csrf: PO,
      repeatHeader: 'Repeatability-Request-ID',
      variants: [{
        eventType: 'mfg.productionorder.released.v1',
        notCarried: [
          '/data/revision', '/data/material', '/data/quantity', '/data/plannedStart', '/data/plannedEnd', '/data/site', '/data/area',
          '/data/workCenter', '/data/state', '/data/priority', '/data/operations', '/data/materialRequirements',
        ],
      }],
      responseRoot: 'd',
      response: [
        { from: '/documentNumber', to: 'ManufacturingOrder', alpha: 'productionOrder' },
        { from: '/released', to: 'OrderIsReleased', as: 'sapBoolean' },
        { from: '/etag', to: '__metadata/etag', optional: true },
      ],
    },
    confirmOperation: {
      kind: 'write',
      description: 'post an operation confirmation (yield, scrap, rework)',
      system: 'ERP',
      method: 'POST',
      path: `${CONF}/ProdnOrdConf2`,
      csrf: CONF,
      repeatHeader: 'Repeatability-Request-ID',
      externalKeyField: 'ExternalSystemConfirmation',
      lookup: { by: 'ExternalSystemConfirmation', path: `${CONF}/ProdnOrdConf2`, filter: { ExternalSystemConfirmation: 'ExternalSystemConfirmation' }, collection: true },
      variants: [{
        eventType: 'mfg.operation.completed.v3',
        notCarried: ['/data/confirmationId', '/data/workCenter', '/data/site', '/data/varianceReason/text'],
        body: [
          { to: 'OrderID', from: '/data/orderId', alpha: 'productionOrder' },
          { to: 'OrderOperation', from: '/data/operationId' },
          { to: 'Sequence', const: '0' },
          // One ConfirmationUnit for all three quantities: a unit conflict between them is an error.
          { to: ['ConfirmationYieldQuantity', 'ConfirmationUnit'], from: '/data/yield', as: 'sapQuantity' },
          { to: ['ConfirmationScrapQuantity', 'ConfirmationUnit'], from: '/data/scrap', as: 'sapQuantity' },
          // Absent rework is zero at the field's scale: SAP decimals always carry their 3 places.
          { to: ['ConfirmationReworkQuantity', 'ConfirmationUnit'], from: '/data/rework', as: 'sapQuantity', empty: '0.000' },
          { to: 'VarianceReasonCode', from: '/data/varianceReason/code', map: 'varianceReason', empty: '', maxLength: 4 },
          { to: 'FinalConfirmationType', from: '/data/confirmationType', map: 'confirmationType' },
          { to: 'IsFinalConfirmation', from: '/data/confirmationType', map: 'finalConfirmation', optional: true },
          { to: 'PostingDate', from: '/data/actualEnd', as: 'sapPostingDate', only: 'toVendor' },
          { to: ['ConfirmedExecutionStartDate', 'ConfirmedExecutionStartTime'], from: '/data/actualStart', as: 'sapDateTime' },
          { to: ['ConfirmedExecutionEndDate', 'ConfirmedExecutionEndTime'], from: '/data/actualEnd', as: 'sapDateTime' },
          { to: 'ConfirmationText', const: '' },
          { to: 'Personnel', from: '/data/personnel', empty: '', maxLength: 8 },
        ],
      }],
      responseRoot: 'd',
      response: [
        { from: '/documentNumber', to: 'ConfirmationGroup' },
        { from: '/confirmationCount', to: 'ConfirmationCount' },
      ],
    },
    goodsMovement: {
      kind: 'write',
      description: 'post a goods movement: consumption, return, transfer or goods receipt',
      system: 'ERP',
      method: 'POST',
      path: `${MDOC}/A_MaterialDocumentHeader`,
      csrf: MDOC,
      repeatHeader: 'Repeatability-Request-ID',
      // The header text (25 characters) carries a digest of the idempotency key: the document is found by it.
      externalKeyField: 'MaterialDocumentHeaderText',
      externalKeyLength: 25,
      lookup: {
        by: 'MaterialDocumentHeaderText', path: `${MDOC}/A_MaterialDocumentHeader`,
        filter: { MaterialDocumentHeaderText: 'MaterialDocumentHeaderText' }, collection: true,
      },
      variants: GOODS_MOVEMENTS,
      responseRoot: 'd',
      response: DOCUMENT,
    },
    usageDecision: {
      kind: 'write',
      description: 'record the usage decision of an inspection lot',
      system: 'ERP',
      method: 'POST',
      path: `${INSP}/A_InspLotUsageDecision`,
      // Only fills the lookup's path (an inspection lot has one usage decision, keyed by the lot).
      params: [{ to: 'lot', from: '/data/inspectionLot', as: 'odataString' }],
      csrf: INSP,
      repeatHeader: 'Repeatability-Request-ID',
      // A lot has at most one usage decision: one with the posted code is this posting's.
      lookup: { by: 'InspectionLot', path: `${INSP}/A_InspLotUsageDecision({lot})`, same: { InspLotUsageDecisionCode: 'InspLotUsageDecisionCode' } },
      variants: [{
        eventType: 'mfg.quality.disposition.changed.v1',
        notCarried: ['/data/lot', '/data/material', '/data/site', '/data/quantity', '/data/from', '/data/to', '/data/decisionCode', '/data/reason'],
        body: [
          { to: 'InspectionLot', from: '/data/inspectionLot' },
          { to: 'InspLotUsageDecisionCode', from: '/data/decision', map: 'usageDecisionCode' },
          { to: 'InspLotUsgeDcsnCodeGroup', from: '/data/decision', map: 'usageDecisionCodeGroup', only: 'toVendor' },
          { to: 'InspLotUsageDecisionValuation', from: '/data/decision', map: 'usageDecisionValuation', only: 'toVendor' },
          { to: 'InspLotUsageDecidedBy', from: '/data/decidedBy', maxLength: 12 },
          // The plant's calendar day and wall-clock time of the decision, as SAP keeps them (date + Edm.Time).
          { to: ['InspLotUsageDecidedOn', 'InspLotUsageDecisionTime'], from: '/data/decidedAt', as: 'sapDateTime' },
        ],
      }],
      responseRoot: 'd',
      response: [
        { from: '/documentNumber', to: 'InspectionLot' },
        { from: '/usageDecisionCode', to: 'InspLotUsageDecisionCode', optional: true },
      ],
    },
    readStock: {
      kind: 'read',
      description: 'read the stock of a material',
      system: 'ERP',
      method: 'GET',
      path: `${STCK}/A_MatlStkInAcctMod`,
      query: [
        // `from: ''`: the filter is built from all parameters; its problems carry their own pointer.
        { to: '$filter', from: '', fn: stockFilter },
        { from: '/material', read: FILTER_VALUE('Material'), alpha: 'material' },
        { from: '/site', read: FILTER_VALUE('Plant'), optional: true, map: 'plant' },
      ],
      responseRoot: 'd',
      response: [{ from: '/items', to: 'results', each: STOCK_ITEM }],
      resultAt: '/items',
    },
  },
};
