/**
 * Generic REST profile for a plain-JSON MES, WMS and QMS (ISO 8601 times, numeric quantities,
 * UN/ECE units, Idempotency-Key on writes), written to the PlantSync vendor API contract.
 */
import type { FieldRule, ProfileDefinition, RuleContext, ValueMapDef } from '../types';
import { GENERIC_UNITS } from '../units';

const VALUE_MAPS: Record<string, ValueMapDef> = {
  orderStatus: {
    label: 'status code',
    toVendor: {
      Forecast: 'NEW', Waiting: 'NEW', Released: 'RELEASED', Ready: 'RELEASED', Running: 'IN_PROGRESS',
      Completed: 'COMPLETED', Aborted: 'CANCELLED', Held: 'ON_HOLD',
    },
    toCanonical: { NEW: 'Waiting', RELEASED: 'Released' },
  },
  materialUse: {
    label: 'material use',
    toVendor: { Consumed: 'CONSUME', Consumable: 'CONSUME', Produced: 'PRODUCE' },
    toCanonical: { CONSUME: 'Consumed' },
  },
  confirmationType: { label: 'final flag', toVendor: { Final: true, Partial: false } },
  varianceReason: { label: 'reason code', toVendor: {}, otherwise: 'passThrough' },
  stockType: { label: 'stock status', toVendor: { Unrestricted: 'AVAILABLE', QualityInspection: 'QC', Blocked: 'BLOCKED' } },
  decision: { label: 'decision', toVendor: { Hold: 'HOLD', Release: 'RELEASE', Reject: 'REJECT', Rework: 'REWORK' } },
  /** QMS lot status -> B2MML lot disposition (hold and rework are both restricted). */
  lotDisposition: {
    label: 'lot status',
    toVendor: { Unrestricted: 'RELEASED', Restricted: 'ON_HOLD', Blocked: 'REJECTED', Closed: 'CLOSED' },
    toCanonical: { REWORK: 'Restricted' },
  },
};

const QUANTITY = ['quantity/amount', 'quantity/unit'];

const MATERIAL: FieldRule[] = [
  { to: 'material', from: '/material' },
  { to: 'lot', from: '/lot', optional: true },
  { to: QUANTITY, from: '/quantity', as: 'quantity' },
  { to: 'use', from: '/use', map: 'materialUse' },
];

const OPERATION: FieldRule[] = [
  { to: 'sequence', from: '/operationId' },
  { to: 'description', from: '/description', optional: true },
  { to: 'workCenter', from: '/workCenter' },
  { to: QUANTITY, from: '/quantity', as: 'quantity', optional: true },
  { to: 'materials', from: '/materialRequirements', optional: true, each: MATERIAL },
];

/** The MES order body; `at` is where the order sits on the canonical side ('/data' in an event). */
function order(at: '/data' | ''): FieldRule[] {
  return [
    { to: 'orderId', from: `${at}/orderId` },
    { to: 'material', from: `${at}/material` },
    { to: QUANTITY, from: `${at}/quantity`, as: 'quantity' },
    { to: 'plannedStart', from: `${at}/plannedStart`, as: 'timestamp' },
    { to: 'plannedEnd', from: `${at}/plannedEnd`, as: 'timestamp' },
    { to: 'site', from: `${at}/site` },
    { to: 'workCenter', from: `${at}/workCenter`, optional: true },
    { to: 'revision', from: `${at}/revision`, as: 'integer' },
    { to: 'operations', from: `${at}/operations`, each: OPERATION },
  ];
}

const ORDER_NOT_CARRIED = [
  '/data/area', '/data/priority', '/data/operations/*/plannedStart', '/data/operations/*/plannedEnd',
  '/data/operations/*/materialRequirements/*/storageLocation', '/data/operations/*/materialRequirements/*/reservation',
  '/data/materialRequirements',
];

const LOCATION = (side: 'from' | 'to'): FieldRule[] => [
  { to: `${side}/site`, from: `/data/${side}/site` },
  { to: `${side}/location`, from: `/data/${side}/storageLocation` },
  { to: `${side}/status`, from: `/data/${side}/stockType`, map: 'stockType' },
];

/** The event's decision code, else the QMS decision value (from the plant's map). */
function decisionCode(event: unknown, ctx: RuleContext): unknown {
  const data = (event as { data?: { decision?: string; decisionCode?: string } }).data;
  return data?.decisionCode ?? (data?.decision === undefined ? undefined : ctx.valueMaps.decision.toVendor[data.decision]);
}

function decisionCodeOf(body: unknown): unknown {
  const b = body as { code?: unknown; decision?: unknown };
  return b?.code === b?.decision ? undefined : b?.code;
}

const ORDER_ID: FieldRule[] = [{ to: 'orderId', from: '/data/orderId' }];

export const GENERIC_REST: ProfileDefinition = {
  name: 'generic-rest',
  description: 'Generic REST MES / WMS / QMS: orders, confirmations, consumptions, movements, stock, lot dispositions',
  units: GENERIC_UNITS,
  unitSystem: 'generic',
  valueMaps: VALUE_MAPS,
  operations: {
    dispatchOrder: {
      kind: 'write',
      description: 'MES: dispatch a released order',
      system: 'MES',
      method: 'POST',
      path: '/api/v1/orders',
      repeatHeader: 'Idempotency-Key',
      variants: [{
        eventType: 'mfg.productionorder.released.v1',
        // The contract's dispatch body has no status: dispatching is releasing.
        body: [...order('/data'), { from: '/data/state', value: 'Released' }],
        notCarried: ORDER_NOT_CARRIED,
      }],
      response: [
        { from: '/documentNumber', to: 'orderId' },
        { from: '/status', to: 'status', optional: true },
      ],
    },
    reviseOrder: {
      kind: 'write',
      description: 'MES: revise a dispatched order',
      system: 'MES',
      method: 'PUT',
      path: '/api/v1/orders/{orderId}',
      params: ORDER_ID,
      repeatHeader: 'Idempotency-Key',
      variants: [{
        eventType: 'mfg.productionorder.revised.v1',
        body: [...order('/data'), { to: 'status', from: '/data/state', map: 'orderStatus' }],
        notCarried: [...ORDER_NOT_CARRIED, '/data/changeReason'],
      }],
      // The contract gives no PUT response body: the order's id when the MES echoes the order.
      response: [
        { from: '/documentNumber', to: 'orderId', optional: true },
        { from: '/status', to: 'status', optional: true },
      ],
    },
    readOrder: {
      kind: 'read',
      description: 'MES: read an order',
      system: 'MES',
      method: 'GET',
      path: '/api/v1/orders/{orderId}',
      params: [{ to: 'orderId', from: '/orderId' }],
      response: [...order(''), { from: '/state', to: 'status', map: 'orderStatus' }],
    },
    confirmOperation: {
      kind: 'write',
      description: 'MES: confirm an operation',
      system: 'MES',
      method: 'POST',
      path: '/api/v1/orders/{orderId}/operations/{sequence}/confirmations',
      params: [...ORDER_ID, { to: 'sequence', from: '/data/operationId' }],
      repeatHeader: 'Idempotency-Key',
      variants: [{
        eventType: 'mfg.operation.completed.v3',
        notCarried: ['/data/confirmationId', '/data/workCenter', '/data/site', '/data/varianceReason/text'],
        body: [
          { to: ['goodQuantity', 'unit'], from: '/data/yield', as: 'quantity' },
          { to: ['scrapQuantity', 'unit'], from: '/data/scrap', as: 'quantity' },
          // reworkQuantity is not optional in the contract: no rework is 0.
          { to: ['reworkQuantity', 'unit'], from: '/data/rework', as: 'quantity', empty: 0 },
          { to: 'startedAt', from: '/data/actualStart', as: 'timestamp' },
          { to: 'finishedAt', from: '/data/actualEnd', as: 'timestamp' },
          { to: 'final', from: '/data/confirmationType', map: 'confirmationType' },
          { to: 'reasonCode', from: '/data/varianceReason/code', map: 'varianceReason', optional: true },
          { to: 'operator', from: '/data/personnel', optional: true },
        ],
      }],
      response: [
        { from: '/documentNumber', to: 'confirmationId' },
        { from: '/orderId', to: 'orderId', optional: true },
        { from: '/sequence', to: 'sequence', optional: true },
      ],
    },
    consumeMaterial: {
      kind: 'write',
      description: 'MES: record a material consumption',
      system: 'MES',
      method: 'POST',
      path: '/api/v1/orders/{orderId}/consumptions',
      params: ORDER_ID,
      repeatHeader: 'Idempotency-Key',
      variants: [{
        eventType: 'mfg.material.consumed.v2',
        notCarried: ['/data/movementId', '/data/site', '/data/sublot', '/data/reservation', '/data/finalIssue'],
        body: [
          { to: 'material', from: '/data/material' },
          { to: 'lot', from: '/data/lot', optional: true },
          { to: QUANTITY, from: '/data/quantity', as: 'quantity' },
          { to: 'location', from: '/data/storageLocation' },
          { to: 'sequence', from: '/data/operationId', optional: true },
        ],
      }],
      response: [{ from: '/documentNumber', to: 'consumptionId' }],
    },
    moveInventory: {
      kind: 'write',
      description: 'WMS: move inventory',
      system: 'WMS',
      method: 'POST',
      path: '/api/v1/movements',
      repeatHeader: 'Idempotency-Key',
      variants: [{
        eventType: 'mfg.inventory.moved.v2',
        notCarried: ['/data/movementId', '/data/from/bin', '/data/to/bin', '/data/handlingUnit', '/data/reason/text'],
        body: [
          { to: 'material', from: '/data/material' },
          { to: 'lot', from: '/data/lot', optional: true },
          { to: QUANTITY, from: '/data/quantity', as: 'quantity' },
          ...LOCATION('from'),
          ...LOCATION('to'),
          { to: 'reason', from: '/data/reason/code', optional: true },
        ],
      }],
      response: [{ from: '/documentNumber', to: 'movementId' }],
    },
    readStock: {
      kind: 'read',
      description: 'WMS: read the stock of a material',
      system: 'WMS',
      method: 'GET',
      path: '/api/v1/stock',
      query: [
        { to: 'material', from: '/material' },
        { to: 'site', from: '/site', optional: true },
      ],
      response: [{
        from: '/items',
        to: '',
        each: [
          { from: '/material', to: 'material' },
          { from: '/lot', to: 'lot', optional: true },
          { from: '/site', to: 'site' },
          { from: '/storageLocation', to: 'location' },
          { from: '/stockType', to: 'status', map: 'stockType' },
          { from: '/quantity', to: QUANTITY, as: 'quantity' },
        ],
      }],
      resultAt: '/items',
    },
    changeDisposition: {
      kind: 'write',
      description: 'QMS: change the disposition of a lot',
      system: 'QMS',
      method: 'POST',
      path: '/api/v1/lots/{lot}/dispositions',
      params: [{ to: 'lot', from: '/data/lot' }],
      repeatHeader: 'Idempotency-Key',
      variants: [{
        eventType: 'mfg.quality.disposition.changed.v1',
        notCarried: ['/data/material', '/data/site', '/data/quantity', '/data/from', '/data/to', '/data/inspectionLot', '/data/reason'],
        body: [
          { to: 'decision', from: '/data/decision', map: 'decision' },
          // The QMS requires a non-empty code: without a decision code, the decision itself, read back as none.
          { to: 'code', from: '/data/decisionCode', fn: decisionCode, readFn: decisionCodeOf, optional: true },
          { to: 'decidedBy', from: '/data/decidedBy' },
          { to: 'decidedAt', from: '/data/decidedAt', as: 'timestamp' },
        ],
      }],
      response: [
        { from: '/documentNumber', to: 'dispositionId' },
        { from: '/lot', to: 'lot', optional: true },
        { from: '/status', to: 'status', optional: true },
      ],
    },
    readLot: {
      kind: 'read',
      description: 'QMS: read a lot',
      system: 'QMS',
      method: 'GET',
      path: '/api/v1/lots/{lot}',
      params: [{ to: 'lot', from: '/lot' }],
      response: [
        { from: '/lot', to: 'lot' },
        { from: '/material', to: 'material' },
        { from: '/site', to: 'site' },
        { from: '/disposition', to: 'status', map: 'lotDisposition' },
        { from: '/quantity', to: QUANTITY, as: 'quantity', optional: true },
      ],
    },
  },
};
