import { randomBytes } from 'node:crypto';
import { Fail } from '../common/fail';
import type { Call, Reply } from '../common/http';

/** OData v2 conventions of an S/4HANA gateway: error bodies, /Date()/ values, decimal strings, keys. */

export const ODATA_PREFIX = '/sap/opu/odata/sap/';
export const PO = 'API_PRODUCTION_ORDER_2_SRV';
export const CONF = 'API_PROD_ORDER_CONFIRMATION_2_SRV';
export const MDOC = 'API_MATERIAL_DOCUMENT_SRV';
export const STCK = 'API_MATERIAL_STOCK_SRV';
export const INSP = 'API_INSPECTIONLOT_SRV';
export const SERVICES = [PO, CONF, MDOC, STCK, INSP] as const;

/** Field-level validation failures (bad decimal, unit, date, missing field) all use this code. */
export const SY_530 = 'SY/530';

const ODATA_HEADERS = { dataserviceversion: '2.0' };

function gatewayTimestamp(): string {
  return new Date().toISOString().replace(/[-:T]/g, '').replace('Z', '') + '0000';
}

export function odataError(status: number, code: string, message: string, headers: Record<string, string | string[]> = {}): Reply {
  return {
    status,
    headers: { ...ODATA_HEADERS, ...headers },
    body: {
      error: {
        code,
        message: { lang: 'en', value: message },
        innererror: {
          transactionid: randomBytes(16).toString('hex').toUpperCase(),
          timestamp: gatewayTimestamp(),
          errordetails: [{ code, message, propertyref: '', severity: 'error', target: '' }],
        },
      },
    },
  };
}

export function failReply(err: Fail): Reply {
  return odataError(err.status, err.code, err.message);
}

export function odata(status: number, d: unknown, headers: Record<string, string> = {}): Reply {
  return { status, headers: { ...ODATA_HEADERS, ...headers }, body: { d } };
}

export function sapFail(code: string, message: string, status = 400): Fail {
  return new Fail(status, code, message);
}

/** Absolute URIs in __metadata are built from the Host the client used, as the gateway does. */
export function serviceUri(call: Call, service: string): string {
  return `http://${call.headers.host ?? '127.0.0.1'}${ODATA_PREFIX}${service}`;
}

// Dates: Edm.DateTime "/Date(<ms>)/" (optionally with an offset suffix) and Edm.Time "PT06H30M00S".
const DATE_RE = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/;
const TIME_RE = /^PT([01]\d|2[0-3])H[0-5]\dM[0-5]\dS$/;

export function odataDate(ms: number): string {
  return `/Date(${ms})/`;
}

export function today(): string {
  const now = new Date();
  return odataDate(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

export function dateMs(value: string): number | undefined {
  const m = DATE_RE.exec(value);
  return m ? Number(m[1]) : undefined;
}

export function isTime(value: string): boolean {
  return TIME_RE.test(value);
}

export function timeOfDay(hours: number, minutes = 0): string {
  return `PT${String(hours).padStart(2, '0')}H${String(minutes).padStart(2, '0')}M00S`;
}

// Quantities travel as decimal strings and are held as integer thousandths (3 decimals, no float drift).
const DECIMAL_RE = /^\d{1,13}(\.\d{1,3})?$/;

export function parseDecimal(value: string): number | undefined {
  if (!DECIMAL_RE.test(value)) return undefined;
  const [int, frac = ''] = value.split('.');
  return Number(int) * 1000 + Number(frac.padEnd(3, '0'));
}

export function formatDecimal(milli: number): string {
  const sign = milli < 0 ? '-' : '';
  const abs = Math.abs(milli);
  return `${sign}${Math.trunc(abs / 1000)}.${String(abs % 1000).padStart(3, '0')}`;
}

// SAP internal units: ST piece, KG, G, M metre, L litre.
const UNIT_BASE: Record<string, [string, number]> = { ST: ['ST', 1], KG: ['KG', 1000], G: ['KG', 1], M: ['M', 1], L: ['L', 1] };
export const SAP_UNITS = Object.keys(UNIT_BASE);

/** Thousandths of `from` expressed in `to`, or undefined when the dimensions differ. */
export function convertUnit(milli: number, from: string, to: string): number | undefined {
  const f = UNIT_BASE[from];
  const t = UNIT_BASE[to];
  if (!f || !t || f[0] !== t[0]) return undefined;
  return Math.round((milli * f[1]) / t[1]);
}

/** The key of an entity path segment: ('1000123') or (ManufacturingOrder='1000123'). */
export function keyValue(predicate: string, keyName: string): string | undefined {
  const m = new RegExp(`^(?:${keyName}=)?'((?:[^']|'')*)'$`).exec(predicate.trim());
  return m ? m[1].replace(/''/g, "'") : undefined;
}

/** A $filter of `Field eq 'value'` clauses joined by `and`, the only form the simulator supports. */
export function parseFilter(filter: string | null, fields: readonly string[]): Array<[string, string]> {
  if (filter === null || filter.trim() === '') return [];
  return filter.split(/\s+and\s+/i).map((clause) => {
    const m = /^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$/.exec(clause);
    if (!m || !fields.includes(m[1])) {
      throw sapFail('BAD_REQUEST', `Unsupported $filter clause "${clause}" (use <Field> eq '<value>' joined by and; fields ${fields.join(', ')})`);
    }
    return [m[1], m[2].replace(/''/g, "'")];
  });
}

export function etagMatches(ifMatch: string, etag: string): boolean {
  const strip = (t: string) => t.trim().replace(/^W\//, '');
  return ifMatch.split(',').some((t) => t.trim() === '*' || strip(t) === strip(etag));
}

let etagSeq = 0;

/** Process-wide, so an ETag from before a reset can never match again. */
export function newEtag(): string {
  etagSeq += 1;
  return `W/"${etagSeq}"`;
}
