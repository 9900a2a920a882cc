import * as assert from 'node:assert/strict';

/** Small HTTP helpers for the simulator tests; every request is bounded by a timeout. */

export const REQUEST_TIMEOUT_MS = 5_000;
export const ODATA = '/sap/opu/odata/sap/';
export const PO = `${ODATA}API_PRODUCTION_ORDER_2_SRV`;
export const CONF = `${ODATA}API_PROD_ORDER_CONFIRMATION_2_SRV`;
export const MDOC = `${ODATA}API_MATERIAL_DOCUMENT_SRV`;
export const STCK = `${ODATA}API_MATERIAL_STOCK_SRV`;
export const INSP = `${ODATA}API_INSPECTIONLOT_SRV`;

export interface Res {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
  body: any;
}

export async function call(url: string, init: RequestInit = {}): Promise<Res> {
  const res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), ...init });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
}

export function jsonInit(method: string, body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) };
}

/** The /__sim control API. */
export function control(base: string) {
  return {
    ledger: async () => (await call(`${base}/__sim/ledger`)).body as Array<Record<string, unknown>>,
    postings: async () => (await call(`${base}/__sim/postings`)).body as Array<Record<string, unknown>>,
    faults: async (plan: unknown) => {
      const res = await call(`${base}/__sim/faults`, jsonInit('PUT', plan));
      assert.equal(res.status, 200, JSON.stringify(res.body));
    },
    config: async (config: unknown) => {
      const res = await call(`${base}/__sim/config`, jsonInit('PUT', config));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as Record<string, unknown>;
    },
    reset: async () => assert.equal((await call(`${base}/__sim/reset`, { method: 'POST' })).status, 200),
  };
}

export function repeatHeaders(id: string): Record<string, string> {
  return { 'repeatability-request-id': id, 'repeatability-first-sent': new Date().toUTCString() };
}

/** A client of the SAP gateway: optional Authorization, CSRF token and session cookie. */
export class SapClient {
  token?: string;
  cookie?: string;

  constructor(readonly base: string, readonly authorization?: string) {}

  private auth(): Record<string, string> {
    return this.authorization ? { authorization: this.authorization } : {};
  }

  async fetchCsrf(): Promise<Res> {
    const res = await call(`${this.base}${PO}/`, { headers: { ...this.auth(), 'x-csrf-token': 'Fetch', ...(this.cookie ? { cookie: this.cookie } : {}) } });
    this.token = res.headers.get('x-csrf-token') ?? undefined;
    const setCookie = res.headers.get('set-cookie');
    if (setCookie) this.cookie = setCookie.split(';')[0];
    return res;
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Res> {
    return call(`${this.base}${path}`, { headers: { ...this.auth(), ...headers } });
  }

  post(path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Res> {
    const session: Record<string, string> = {};
    if (this.token) session['x-csrf-token'] = this.token;
    if (this.cookie) session.cookie = this.cookie;
    const init = jsonInit('POST', body, { ...this.auth(), ...session, ...headers });
    return call(`${this.base}${path}`, signal ? { ...init, signal } : init);
  }

  /** GET the order and release it with its ETag. */
  async release(order: string): Promise<Res> {
    const got = await this.get(`${PO}/A_ProductionOrder_2('${order}')`);
    return this.post(`${PO}/ReleaseOrder?ManufacturingOrder='${order}'`, undefined, { 'if-match': got.headers.get('etag') ?? '' });
  }

  async stock(material: string, plant = 'P100'): Promise<Record<string, string>> {
    const res = await this.get(`${STCK}/A_MatlStkInAcctMod?$filter=${encodeURIComponent(`Material eq '${material}' and Plant eq '${plant}'`)}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const out: Record<string, string> = {};
    for (const r of res.body.d.results) out[`${r.StorageLocation}/${r.Batch}/${r.InventoryStockType}`] = r.MatlWrhsStkQtyInMatlBaseUnit;
    return out;
  }
}

export function confirmation(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    OrderID: '000001000123', OrderOperation: '0010', Sequence: '0', ConfirmationUnit: 'ST', ConfirmationYieldQuantity: '95', ConfirmationScrapQuantity: '5',
    ConfirmationReworkQuantity: '0', VarianceReasonCode: 'SCR1', FinalConfirmationType: '', IsFinalConfirmation: false, PostingDate: '/Date(1795651200000)/',
    ConfirmedExecutionStartDate: '/Date(1795651200000)/', ConfirmedExecutionStartTime: 'PT06H00M00S', ConfirmedExecutionEndDate: '/Date(1795651200000)/',
    ConfirmedExecutionEndTime: 'PT07H30M00S', ConfirmationText: '', Personnel: '', ...overrides,
  };
}

export function movement(items: Array<Record<string, unknown>>, code = '03'): Record<string, unknown> {
  return {
    GoodsMovementCode: code, PostingDate: '/Date(1795651200000)/', DocumentDate: '/Date(1795651200000)/', MaterialDocumentHeaderText: '',
    to_MaterialDocumentItem: { results: items.map((i) => ({ Plant: 'P100', StorageLocation: '0001', Batch: '', InventoryStockType: '01', ...i })) },
  };
}

export function steel(type: string, qty: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { Material: 'RM-100-STEEL', GoodsMovementType: type, EntryUnit: 'KG', QuantityInEntryUnit: qty, ...extra };
}
