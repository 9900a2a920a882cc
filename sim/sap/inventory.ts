import { Checker, isObj, type Obj } from '../common/checks';
import type { Call, Reply } from '../common/http';
import type { Outcome } from '../common/write-flow';
import { MATERIALS, type SapState, type StockRow, type StockType } from './data';
import { lookupKey, ORDER_LENGTH, RESERVATION_LENGTH } from './keys';
import {
  convertUnit, dateMs, formatDecimal, INSP, isTime, keyValue, MDOC, newEtag, odata, parseDecimal, parseFilter, SAP_UNITS, sapFail,
  serviceUri, STCK, SY_530, today,
} from './odata';

/** Material documents, stock (API_MATERIAL_STOCK_SRV) and inspection lots with usage decisions. */

const check = new Checker(SY_530);
const MOVEMENT_CODE: Record<string, string> = { 261: '03', 262: '03', 101: '02', 311: '04', 343: '04', 344: '04' };
const STOCK_TYPES: StockType[] = ['01', '02', '07'];
const STOCK_TYPE_TEXT: Record<StockType, string> = { '01': 'Unrestricted-use', '02': 'Qual. inspection', '07': 'Blocked stock' };

type Place = Omit<StockRow, 'qty' | 'unit'>;

/** Stock changes applied to a copy, so a deficit in any item leaves the stock untouched. */
class StockDraft {
  readonly rows: StockRow[];

  constructor(rows: StockRow[]) {
    this.rows = rows.map((r) => ({ ...r }));
  }

  private find(p: Place): StockRow | undefined {
    return this.rows.find((r) => r.Material === p.Material && r.Plant === p.Plant && r.StorageLocation === p.StorageLocation && r.Batch === p.Batch && r.InventoryStockType === p.InventoryStockType);
  }

  take(p: Place, milli: number, unit: string): void {
    const row = this.find(p);
    const available = row?.qty ?? 0;
    if (available < milli) {
      const prefix = p.Batch ? 'BA' : 'SL';
      throw sapFail('M7/021', `Deficit of ${prefix} ${STOCK_TYPE_TEXT[p.InventoryStockType]} ${formatDecimal(milli - available)} ${unit} : ${p.Material} ${p.Plant} ${p.StorageLocation}`);
    }
    (row as StockRow).qty -= milli;
  }

  add(p: Place, milli: number, unit: string): void {
    const row = this.find(p);
    if (row) row.qty += milli;
    else this.rows.push({ ...p, qty: milli, unit });
  }
}

function stockType(item: Obj, at: string): StockType {
  const v = check.optStr(item, 'InventoryStockType', at) || '01';
  if (!(STOCK_TYPES as string[]).includes(v)) throw check.fail(`${at}/InventoryStockType`, "must be '01', '02' or '07'");
  return v as StockType;
}

/** Validates one item and applies its stock effect to the draft; returns the echoed item. */
function applyItem(state: SapState, draft: StockDraft, code: string, raw: unknown, i: number): Obj {
  const at = `/to_MaterialDocumentItem/results/${i}`;
  if (!isObj(raw)) throw check.fail(at, 'must be an object');
  const type = check.str(raw, 'GoodsMovementType', at);
  if (MOVEMENT_CODE[type] === undefined) throw sapFail('M7/001', `Movement type ${type} is not defined`);
  if (MOVEMENT_CODE[type] !== code) throw check.fail(`${at}/GoodsMovementType`, `${type} is not allowed with GoodsMovementCode ${code}`);
  const material = check.str(raw, 'Material', at);
  const plant = check.str(raw, 'Plant', at);
  const sloc = check.str(raw, 'StorageLocation', at);
  const batch = check.optStr(raw, 'Batch', at, { max: 10 }) ?? '';
  const entryUnit = check.oneOf(raw, 'EntryUnit', SAP_UNITS, at);
  const rawQty = check.str(raw, 'QuantityInEntryUnit', at);
  const entryQty = parseDecimal(rawQty);
  if (entryQty === undefined || entryQty === 0) throw check.fail(`${at}/QuantityInEntryUnit`, 'must be a positive decimal string with at most 3 decimals');
  const master = MATERIALS[material];
  const baseUnit = master?.baseUnit ?? entryUnit;
  const qty = convertUnit(entryQty, entryUnit, baseUnit);
  if (qty === undefined) throw check.fail(`${at}/EntryUnit`, `${entryUnit} cannot be converted to the base unit ${baseUnit} of ${material}`);
  if (master?.batchManaged && batch === '') throw check.fail(`${at}/Batch`, `is required: ${material} is batch-managed`);
  const order = check.optStr(raw, 'ManufacturingOrder', at) || undefined;
  const orderKey = order === undefined ? undefined : lookupKey(order, ORDER_LENGTH, state.internalKeysOnly);
  if (orderKey !== undefined && !state.orders.has(orderKey)) throw sapFail('CO/004', `Order ${order} does not exist`);
  const reservation = check.optStr(raw, 'Reservation', at) || undefined;
  if (reservation !== undefined) {
    const key = lookupKey(reservation, RESERVATION_LENGTH, state.internalKeysOnly);
    const orders = orderKey ? [state.orders.get(orderKey)] : [...state.orders.values()];
    if (!orders.some((o) => o?.components.some((c) => c.Reservation === key))) throw sapFail('M7/056', `Reservation ${reservation} does not exist`);
  }

  const here: Place = { Material: material, Plant: plant, StorageLocation: sloc, Batch: batch, InventoryStockType: '01' };
  switch (type) {
    case '261': draft.take(here, qty, baseUnit); break;
    case '262': draft.add(here, qty, baseUnit); break;
    case '101': draft.add({ ...here, InventoryStockType: stockType(raw, at) }, qty, baseUnit); break;
    case '344': draft.take(here, qty, baseUnit); draft.add({ ...here, InventoryStockType: '07' }, qty, baseUnit); break;
    case '343': draft.take({ ...here, InventoryStockType: '07' }, qty, baseUnit); draft.add(here, qty, baseUnit); break;
    case '311': {
      const kind = stockType(raw, at);
      const target: Place = {
        Material: material,
        Plant: check.optStr(raw, 'IssuingOrReceivingPlant', at) || plant,
        StorageLocation: check.str(raw, 'IssuingOrReceivingStorageLoc', at),
        Batch: check.optStr(raw, 'IssgOrRcvgBatch', at) || batch,
        InventoryStockType: kind,
      };
      draft.take({ ...here, InventoryStockType: kind }, qty, baseUnit);
      draft.add(target, qty, baseUnit);
      break;
    }
  }
  return { ...raw, Batch: batch, QuantityInEntryUnit: formatDecimal(entryQty) };
}

/** POST A_MaterialDocumentHeader: all items post together or none does. */
export function postGoodsMovement(state: SapState, call: Call, body: Obj): Outcome {
  const code = check.oneOf(body, 'GoodsMovementCode', ['02', '03', '04'] as const);
  for (const f of ['PostingDate', 'DocumentDate']) {
    const v = check.optStr(body, f);
    if (v && dateMs(v) === undefined) throw check.fail(`/${f}`, 'must be an Edm.DateTime "/Date(<ms>)/"');
  }
  const headerText = check.optStr(body, 'MaterialDocumentHeaderText', '', { max: 25 }) ?? '';
  const items = check.arr(check.obj(body, 'to_MaterialDocumentItem'), 'results', '/to_MaterialDocumentItem');
  if (items.length === 0) throw check.fail('/to_MaterialDocumentItem/results', 'must not be empty');
  const draft = new StockDraft(state.stock);
  const echoed = items.map((item, i) => applyItem(state, draft, code, item, i));
  state.stock = draft.rows;

  const postingDate = (body.PostingDate as string | undefined) || today();
  const doc = String(state.materialDocuments.next());
  const year = String(new Date(dateMs(postingDate) as number).getUTCFullYear());
  const uri = `${serviceUri(call, MDOC)}/A_MaterialDocumentHeader(MaterialDocumentYear='${year}',MaterialDocument='${doc}')`;
  const d: Obj = {
    __metadata: { id: uri, uri, type: `${MDOC}.A_MaterialDocumentHeaderType` },
    MaterialDocument: doc, MaterialDocumentYear: year, GoodsMovementCode: code, PostingDate: postingDate,
    DocumentDate: (body.DocumentDate as string | undefined) || postingDate, MaterialDocumentHeaderText: headerText,
    to_MaterialDocumentItem: {
      results: echoed.map((item, i) => ({ MaterialDocument: doc, MaterialDocumentYear: year, MaterialDocumentItem: String(i + 1), ...item })),
    },
  };
  state.materialDocumentHeaders.push(d);
  return { status: 201, body: { d }, posted: true };
}

const HEADER_FIELDS = ['MaterialDocument', 'MaterialDocumentYear', 'GoodsMovementCode', 'MaterialDocumentHeaderText'] as const;

/**
 * GET A_MaterialDocumentHeader?$filter=MaterialDocumentHeaderText eq '...': the posted headers
 * matching, their items deferred as the gateway answers without $expand.
 */
export function listMaterialDocuments(state: SapState, call: Call): Reply {
  const filter = parseFilter(call.url.searchParams.get('$filter'), HEADER_FIELDS);
  const results = state.materialDocumentHeaders.filter((h) => filter.every(([f, v]) => h[f] === v)).map((h) => {
    const uri = (h.__metadata as { uri: string }).uri;
    return { ...h, to_MaterialDocumentItem: { __deferred: { uri: `${uri}/to_MaterialDocumentItem` } } };
  });
  return odata(200, { results });
}

const STOCK_FIELDS = ['Material', 'Plant', 'StorageLocation', 'Batch', 'InventoryStockType'] as const;

/** GET A_MatlStkInAcctMod?$filter=Material eq '...' and Plant eq '...'. */
export function readStock(state: SapState, call: Call): Reply {
  const filter = parseFilter(call.url.searchParams.get('$filter'), STOCK_FIELDS);
  const base = serviceUri(call, STCK);
  const results = state.stock.filter((r) => filter.every(([f, v]) => r[f as (typeof STOCK_FIELDS)[number]] === v)).map((r) => {
    const uri = `${base}/A_MatlStkInAcctMod(Material='${r.Material}',Plant='${r.Plant}',StorageLocation='${r.StorageLocation}',Batch='${r.Batch}',InventoryStockType='${r.InventoryStockType}')`;
    return {
      __metadata: { id: uri, uri, type: `${STCK}.A_MatlStkInAcctModType` },
      Material: r.Material, Plant: r.Plant, StorageLocation: r.StorageLocation, Batch: r.Batch, InventoryStockType: r.InventoryStockType,
      MatlWrhsStkQtyInMatlBaseUnit: formatDecimal(r.qty), MaterialBaseUnit: r.unit,
    };
  });
  return odata(200, { results });
}

function findLot(state: SapState, id: string, status: number) {
  const lot = state.lots.get(id);
  if (!lot) throw sapFail('QA/100', `Inspection lot ${id} does not exist`, status);
  return lot;
}

/** GET A_InspectionLot('<lot>'). */
export function readInspectionLot(state: SapState, call: Call, predicate: string): Reply {
  const id = keyValue(predicate, 'InspectionLot');
  if (id === undefined) throw sapFail('BAD_REQUEST', `Invalid key predicate (${predicate})`);
  const lot = findLot(state, id, 404);
  const uri = `${serviceUri(call, INSP)}/A_InspectionLot('${lot.InspectionLot}')`;
  return odata(200, {
    __metadata: { id: uri, uri, type: `${INSP}.A_InspectionLotType`, etag: lot.etag },
    InspectionLot: lot.InspectionLot, Material: lot.Material, Batch: lot.Batch, Plant: lot.Plant,
    InspectionLotQuantity: formatDecimal(lot.qty), InspectionLotQuantityUnit: lot.unit,
    InspLotUsageDecisionCode: lot.InspLotUsageDecisionCode, InspectionLotType: lot.InspectionLotType,
  }, { etag: lot.etag });
}

/** POST A_InspLotUsageDecision: accept moves the lot's quality stock to unrestricted, reject/rework to blocked. */
export function postUsageDecision(state: SapState, call: Call, body: Obj): Outcome {
  const id = check.str(body, 'InspectionLot');
  const code = check.oneOf(body, 'InspLotUsageDecisionCode', ['A', 'R', 'R2'] as const);
  const valuation = check.optStr(body, 'InspLotUsageDecisionValuation') || (code === 'A' ? 'A' : 'R');
  if (valuation !== 'A' && valuation !== 'R') throw check.fail('/InspLotUsageDecisionValuation', "must be 'A' or 'R'");
  const decidedOn = check.optStr(body, 'InspLotUsageDecidedOn');
  if (decidedOn && dateMs(decidedOn) === undefined) throw check.fail('/InspLotUsageDecidedOn', 'must be an Edm.DateTime "/Date(<ms>)/"');
  const decidedAt = check.optStr(body, 'InspLotUsageDecisionTime');
  if (decidedAt && !isTime(decidedAt)) throw check.fail('/InspLotUsageDecisionTime', 'must be an Edm.Time "PThhHmmMssS"');
  const group = check.optStr(body, 'InspLotUsgeDcsnCodeGroup') ?? '';
  const decidedBy = check.optStr(body, 'InspLotUsageDecidedBy', '', { max: 12 }) ?? '';
  const lot = findLot(state, id, 400);
  if (lot.InspLotUsageDecisionCode !== '') throw sapFail('QA/101', `Usage decision for inspection lot ${id} has already been made`);

  const draft = new StockDraft(state.stock);
  const here: Place = { Material: lot.Material, Plant: lot.Plant, StorageLocation: lot.StorageLocation, Batch: lot.Batch, InventoryStockType: '02' };
  draft.take(here, lot.qty, lot.unit);
  draft.add({ ...here, InventoryStockType: code === 'A' ? '01' : '07' }, lot.qty, lot.unit);
  state.stock = draft.rows;
  lot.InspLotUsageDecisionCode = code;
  lot.etag = newEtag();

  const uri = `${serviceUri(call, INSP)}/A_InspLotUsageDecision('${id}')`;
  const d: Obj = {
    __metadata: { id: uri, uri, type: `${INSP}.A_InspLotUsageDecisionType` },
    InspectionLot: id, InspLotUsageDecisionCode: code, InspLotUsgeDcsnCodeGroup: group, InspLotUsageDecisionValuation: valuation,
    InspLotUsageDecidedBy: decidedBy, InspLotUsageDecidedOn: decidedOn || today(), InspLotUsageDecisionTime: decidedAt || 'PT00H00M00S',
  };
  lot.usageDecision = d;
  return { status: 201, body: { d }, posted: true };
}

/** GET A_InspLotUsageDecision('<lot>'): the lot's usage decision; 404 while none was made. */
export function readUsageDecision(state: SapState, predicate: string): Reply {
  const id = keyValue(predicate, 'InspectionLot');
  if (id === undefined) throw sapFail('BAD_REQUEST', `Invalid key predicate (${predicate})`);
  const lot = findLot(state, id, 404);
  if (!lot.usageDecision) throw sapFail('QA/102', `No usage decision has been made for inspection lot ${id}`, 404);
  return odata(200, lot.usageDecision);
}
