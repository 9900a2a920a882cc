import { Checker, type Obj } from '../common/checks';
import { type Call, header, type Reply } from '../common/http';
import { pad } from '../common/ids';
import type { Outcome } from '../common/write-flow';
import type { SapOperation, SapOrder, SapState } from './data';
import { lookupKey, ORDER_LENGTH } from './keys';
import {
  CONF, convertUnit, dateMs, etagMatches, formatDecimal, isTime, keyValue, newEtag, odata, odataDate, parseDecimal, parseFilter, PO,
  SAP_UNITS, sapFail, serviceUri, SY_530, today,
} from './odata';

/** Production orders (API_PRODUCTION_ORDER_2_SRV) and their confirmations (API_PROD_ORDER_CONFIRMATION_2_SRV). */

const NAVS = ['to_ProductionOrderOperation', 'to_ProductionOrderComponent'] as const;
type Nav = (typeof NAVS)[number];

function operationEntity(o: SapOrder, op: SapOperation): Obj {
  return {
    ManufacturingOrder: o.ManufacturingOrder, ManufacturingOrderOperation: op.ManufacturingOrderOperation, MfgOrderOperationText: op.MfgOrderOperationText,
    WorkCenter: op.WorkCenter, OpPlannedTotalQuantity: formatDecimal(op.OpPlannedTotalQuantity), OperationUnit: op.OperationUnit,
    OpErlstSchedldExecStrtDte: odataDate(op.startMs), OpErlstSchedldExecStrtTme: op.startTime,
    OpErlstSchedldExecEndDte: odataDate(op.endMs), OpErlstSchedldExecEndTme: op.endTime,
  };
}

function navResults(o: SapOrder, nav: Nav): Obj[] {
  if (nav === 'to_ProductionOrderOperation') return o.operations.map((op) => operationEntity(o, op));
  return o.components.map((c) => ({
    Reservation: c.Reservation, ReservationItem: c.ReservationItem, ManufacturingOrder: o.ManufacturingOrder, ManufacturingOrderOperation: c.ManufacturingOrderOperation,
    Material: c.Material, Plant: c.Plant, StorageLocation: c.StorageLocation, Batch: c.Batch, RequiredQuantity: formatDecimal(c.RequiredQuantity),
    BaseUnit: c.BaseUnit, GoodsMovementType: c.GoodsMovementType, MatlCompIsMarkedForBackflush: c.MatlCompIsMarkedForBackflush,
  }));
}

function orderEntity(call: Call, o: SapOrder, expand: ReadonlySet<string>): Obj {
  const uri = `${serviceUri(call, PO)}/A_ProductionOrder_2('${o.ManufacturingOrder}')`;
  const entity: Obj = {
    __metadata: { id: uri, uri, type: `${PO}.A_ProductionOrder_2Type`, etag: o.etag },
    ManufacturingOrder: o.ManufacturingOrder, ManufacturingOrderType: o.ManufacturingOrderType, Material: o.Material, ProductionPlant: o.ProductionPlant,
    ProductionVersion: o.ProductionVersion, TotalQuantity: formatDecimal(o.TotalQuantity), ProductionUnit: o.ProductionUnit,
    MfgOrderPlannedStartDate: odataDate(o.startMs), MfgOrderPlannedEndDate: odataDate(o.endMs),
    OrderIsCreated: o.OrderIsCreated, OrderIsReleased: o.OrderIsReleased, OrderIsPartiallyConfirmed: o.OrderIsPartiallyConfirmed,
    OrderIsConfirmed: o.OrderIsConfirmed, OrderIsDeleted: o.OrderIsDeleted, OrderIsLocked: o.OrderIsLocked,
    WorkCenter: o.WorkCenter, MRPController: o.MRPController,
  };
  // Without $expand the gateway returns deferred links, so a client that forgets $expand sees no data.
  for (const nav of NAVS) entity[nav] = expand.has(nav) ? { results: navResults(o, nav) } : { __deferred: { uri: `${uri}/${nav}` } };
  return entity;
}

function findOrder(state: SapState, id: string): SapOrder {
  const o = state.orders.get(lookupKey(id, ORDER_LENGTH, state.internalKeysOnly));
  if (!o) throw sapFail('CO/004', `Order ${id} does not exist`, 404);
  return o;
}

/** How ReleaseOrder answers: the FunctionMessage its metadata declares, the order entity, or 204 no content. */
export type ReleaseAnswer = 'message' | 'entity' | 'none';

export interface OrderOptions {
  /** Answer as a service that ignores $expand: navigations stay deferred links. */
  ignoreExpand: boolean;
  releaseAnswer: ReleaseAnswer;
}

/** A FunctionMessage result, wrapped in a member named after the function import as OData v2 does for complex types. */
function functionMessage(type: 'S' | 'W' | 'I' | 'E' | 'A', number: string, text: string, order: string): Obj {
  return {
    ReleaseOrder: {
      __metadata: { type: `${PO}.FunctionMessage` },
      SystemMessageType: type, SystemMessageIdentification: 'CO', SystemMessageNumber: number, SystemMessageLongText: text,
      SystemMessageVariable1: order, SystemMessageVariable2: '', SystemMessageVariable3: '', SystemMessageVariable4: '',
    },
  };
}

/** GET A_ProductionOrder_2('<id>')[?$expand=...] and its navigation collections. */
export function readOrder(state: SapState, call: Call, predicate: string, nav: string | undefined, options: Pick<OrderOptions, 'ignoreExpand'>): Reply {
  const id = keyValue(predicate, 'ManufacturingOrder');
  if (id === undefined) throw sapFail('BAD_REQUEST', `Invalid key predicate (${predicate})`);
  const o = findOrder(state, id);
  if (nav !== undefined) {
    if (!(NAVS as readonly string[]).includes(nav)) throw sapFail('BAD_REQUEST', `Navigation property ${nav} not found`, 404);
    return odata(200, { results: navResults(o, nav as Nav) });
  }
  const expand = new Set((call.url.searchParams.get('$expand') ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  const unknown = [...expand].find((e) => !(NAVS as readonly string[]).includes(e));
  if (unknown) throw sapFail('BAD_REQUEST', `Property ${unknown} not found in type A_ProductionOrder_2Type`);
  return odata(200, orderEntity(call, o, options.ignoreExpand ? new Set() : expand), { etag: o.etag });
}

/**
 * POST ReleaseOrder?ManufacturingOrder='<id>' with If-Match; releasing a released order changes
 * nothing. The answer follows `releaseAnswer`: a FunctionMessage (S on release, E "already
 * released" on a repeat, as the action refuses a status it cannot set), the entity, or 204.
 */
export function releaseOrder(state: SapState, call: Call, answer: ReleaseAnswer): Outcome {
  const id = keyValue(call.url.searchParams.get('ManufacturingOrder') ?? '', '');
  if (id === undefined) throw sapFail('BAD_REQUEST', "Parameter ManufacturingOrder='<order>' is required");
  const o = findOrder(state, id);
  const ifMatch = header(call, 'if-match');
  if (ifMatch === undefined || ifMatch.trim() === '') throw sapFail('PRECONDITION_REQUIRED', 'If-Match header is required', 428);
  const reply = (posted: boolean): Outcome => {
    if (answer === 'none') return { status: 204, body: undefined, headers: { etag: o.etag }, posted };
    if (answer === 'entity') return { status: 200, body: { d: orderEntity(call, o, new Set()) }, headers: { etag: o.etag }, posted };
    const d = posted ? functionMessage('S', '093', `Order ${id} released`, id) : functionMessage('E', '094', `Order ${id} is already released`, id);
    return { status: 200, body: { d }, posted };
  };
  if (o.OrderIsReleased) return reply(false);
  if (!etagMatches(ifMatch, o.etag)) throw sapFail('PRECONDITION_FAILED', `ETag ${ifMatch} does not match the current version of order ${id}`, 412);
  o.OrderIsReleased = true;
  o.etag = newEtag();
  return reply(true);
}

const check = new Checker(SY_530);
const QTY_FIELDS = ['ConfirmationYieldQuantity', 'ConfirmationScrapQuantity', 'ConfirmationReworkQuantity'] as const;
const DATE_FIELDS = ['PostingDate', 'ConfirmedExecutionStartDate', 'ConfirmedExecutionEndDate'] as const;
const TIME_FIELDS = ['ConfirmedExecutionStartTime', 'ConfirmedExecutionEndTime'] as const;

function optDate(body: Obj, field: string): string | undefined {
  const v = check.optStr(body, field);
  if (v !== undefined && v !== '' && dateMs(v) === undefined) throw check.fail(`/${field}`, 'must be an Edm.DateTime "/Date(<ms>)/"');
  return v || undefined;
}

function optTime(body: Obj, field: string): string | undefined {
  const v = check.optStr(body, field);
  if (v !== undefined && v !== '' && !isTime(v)) throw check.fail(`/${field}`, 'must be an Edm.Time "PThhHmmMssS"');
  return v || undefined;
}

/** POST ProdnOrdConf2: a yield/scrap/rework confirmation of one operation of a released order. */
export function postConfirmation(state: SapState, call: Call, body: Obj, ignoreRepeatability: boolean): Outcome {
  const external = check.optStr(body, 'ExternalSystemConfirmation', '', { max: 32 }) || undefined;
  const first = external === undefined ? undefined : state.byExternalId.get(external);
  if (first && !ignoreRepeatability) return { status: first.status, body: first.body, posted: false, key: external, replayOf: first.seq };

  const orderId = check.str(body, 'OrderID');
  const opId = check.str(body, 'OrderOperation');
  const qty: Record<string, number> = {};
  for (const f of QTY_FIELDS) {
    const raw = body[f] ?? '0';
    const milli = typeof raw === 'string' ? parseDecimal(raw) : undefined;
    if (milli === undefined) throw check.fail(`/${f}`, 'must be a non-negative decimal string with at most 3 decimals');
    qty[f] = milli;
  }
  const unit = check.oneOf(body, 'ConfirmationUnit', SAP_UNITS);
  const finalType = check.optStr(body, 'FinalConfirmationType') ?? '';
  if (finalType !== '' && finalType !== 'X') throw check.fail('/FinalConfirmationType', "must be '' or 'X'");
  const isFinal = body.IsFinalConfirmation === undefined ? finalType === 'X' : check.bool(body, 'IsFinalConfirmation');
  const dates = Object.fromEntries(DATE_FIELDS.map((f) => [f, optDate(body, f)]));
  const times = Object.fromEntries(TIME_FIELDS.map((f) => [f, optTime(body, f)]));
  const text = { VarianceReasonCode: check.optStr(body, 'VarianceReasonCode', '', { max: 4 }) ?? '', ConfirmationText: check.optStr(body, 'ConfirmationText', '', { max: 40 }) ?? '', Personnel: check.optStr(body, 'Personnel', '', { max: 8 }) ?? '' };
  const sequence = check.optStr(body, 'Sequence') ?? '0';

  const o = state.orders.get(lookupKey(orderId, ORDER_LENGTH, state.internalKeysOnly));
  const op = o?.operations.find((x) => x.ManufacturingOrderOperation === opId);
  if (!o || !op) throw sapFail('RU/100', `Order ${orderId} operation ${opId} does not exist`);
  if (!o.OrderIsReleased) throw sapFail('RU/505', `Order ${orderId} is not released`);
  if (convertUnit(1000, unit, op.OperationUnit) === undefined) throw check.fail('/ConfirmationUnit', `${unit} cannot be converted to the operation unit ${op.OperationUnit}`);

  op.confirmationCount += 1;
  if (isFinal) op.finallyConfirmed = true;
  o.OrderIsPartiallyConfirmed = true;
  o.OrderIsConfirmed = o.operations.every((x) => x.finallyConfirmed);
  o.etag = newEtag();
  const count = pad(op.confirmationCount, 8);
  const uri = `${serviceUri(call, CONF)}/ProdnOrdConf2(ConfirmationGroup='${op.ConfirmationGroup}',ConfirmationCount='${count}')`;
  const d: Obj = {
    __metadata: { id: uri, uri, type: `${CONF}.ProdnOrdConf2Type` },
    ConfirmationGroup: op.ConfirmationGroup, ConfirmationCount: count, OrderID: o.ManufacturingOrder, OrderOperation: opId, Sequence: sequence,
    ConfirmationUnit: unit,
    ...Object.fromEntries(QTY_FIELDS.map((f) => [f, formatDecimal(qty[f])])),
    VarianceReasonCode: text.VarianceReasonCode, FinalConfirmationType: finalType, IsFinalConfirmation: isFinal,
    PostingDate: dates.PostingDate ?? today(),
    ConfirmedExecutionStartDate: dates.ConfirmedExecutionStartDate ?? null, ConfirmedExecutionStartTime: times.ConfirmedExecutionStartTime ?? 'PT00H00M00S',
    ConfirmedExecutionEndDate: dates.ConfirmedExecutionEndDate ?? null, ConfirmedExecutionEndTime: times.ConfirmedExecutionEndTime ?? 'PT00H00M00S',
    ConfirmationText: text.ConfirmationText, Personnel: text.Personnel, ExternalSystemConfirmation: external ?? '',
  };
  state.confirmations.push(d);
  return {
    status: 201, body: { d }, posted: true, key: external,
    onRecorded: (seq) => {
      if (external !== undefined && !state.byExternalId.has(external)) state.byExternalId.set(external, { status: 201, body: { d }, seq });
    },
  };
}

/** GET ProdnOrdConf2?$filter=...: lets an adapter look a confirmation up by its external id. */
export function listConfirmations(state: SapState, call: Call): Reply {
  const filter = parseFilter(call.url.searchParams.get('$filter'), ['OrderID', 'OrderOperation', 'ConfirmationGroup', 'ConfirmationCount', 'ExternalSystemConfirmation']);
  return odata(200, { results: state.confirmations.filter((c) => filter.every(([f, v]) => c[f] === v)) });
}
