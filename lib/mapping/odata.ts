/**
 * SAP OData v2 value formats and their canonical counterparts. Every parser names the field it
 * read in its MappingError, so a bad vendor value is found without reading code.
 */
import { MappingError, show, type Direction } from './errors';
import { instantOfWallClock, wallClock } from './plant-time';
import { roundDecimal } from './units';

const DAY_MS = 86_400_000;
const ODATA_DATE = /^\/Date\((-?\d{1,15})([+-]\d{4})?\)\/$/;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const PT_TIME = /^PT(?:(\d{1,2})H)?(?:(\d{1,2})M)?(?:(\d{1,2})(?:\.\d+)?S)?$/;
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

function fail(direction: Direction, field: string, value: unknown, keyword: string, problem: string): never {
  throw MappingError.single(direction, field, value, keyword, problem);
}

/** Epoch milliseconds of an RFC 3339 timestamp (offset required, as the canonical schemas say). */
export function parseTimestamp(value: unknown, field = 'timestamp', direction: Direction = 'toVendor'): number {
  const m = typeof value === 'string' ? RFC3339.exec(value) : null;
  const ms = m ? Date.parse(value as string) : NaN;
  // Date.parse rolls 2026-02-30 over to March: the calendar fields are checked on their own.
  const [y, mo, d, h, mi, s] = m ? m.slice(1, 7).map(Number) : [];
  const day = m ? new Date(Date.UTC(y, mo - 1, d)) : undefined;
  if (!m || Number.isNaN(ms) || !day || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    return fail(direction, field, value, 'date', `not an RFC 3339 timestamp: ${show(value)}`);
  }
  return ms;
}

/** RFC 3339 in UTC with "Z", milliseconds only when there are some. */
export function formatTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

/** A timestamp from any offset, rewritten in UTC. */
export function normaliseTimestamp(value: unknown, field = 'timestamp', direction: Direction = 'toVendor'): string {
  return formatTimestamp(parseTimestamp(value, field, direction));
}

/** Epoch ms of "/Date(1764136800000)/" (an offset suffix, "+0060", does not move the instant: ms are UTC). */
export function parseODataDate(value: unknown, field = 'date', direction: Direction = 'toCanonical'): number {
  const m = typeof value === 'string' ? ODATA_DATE.exec(value) : null;
  const ms = m ? Number(m[1]) : NaN;
  if (!m || !Number.isSafeInteger(ms) || Number.isNaN(new Date(ms).getTime())) {
    return fail(direction, field, value, 'date', `not an OData date "/Date(<ms>)/": ${show(value)}`);
  }
  return ms;
}

export function formatODataDate(ms: number): string {
  return `/Date(${Math.trunc(ms)})/`;
}

/** "/Date(ms)/" -> RFC 3339 UTC. */
export function odataDateToTimestamp(value: unknown, field = 'date'): string {
  return formatTimestamp(parseODataDate(value, field, 'toCanonical'));
}

/** RFC 3339 -> "/Date(ms)/", the instant kept to the millisecond. */
export function timestampToODataDate(value: unknown, field = 'timestamp'): string {
  return formatODataDate(parseTimestamp(value, field, 'toVendor'));
}

/**
 * The calendar day of an instant in the plant's time zone, as an SAP date (00:00 UTC of that day).
 * Posting dates follow the plant's calendar: 00:30 in Berlin on the 27th posts on the 27th, though
 * it is still the 26th in UTC. The timestamp's own offset does not matter, only its instant.
 */
export function timestampToODataCalendarDate(value: unknown, field = 'timestamp', timeZone = 'UTC'): string {
  return formatODataDate(wallClock(parseTimestamp(value, field, 'toVendor'), timeZone).dayMs);
}

/** An SAP date (its UTC calendar day) as the instant its day starts in the plant's time zone. */
export function odataCalendarDateToTimestamp(value: unknown, field = 'date', timeZone = 'UTC'): string {
  const day = Math.floor(parseODataDate(value, field, 'toCanonical') / DAY_MS) * DAY_MS;
  return formatTimestamp(instantOfWallClock(day, 0, timeZone));
}

/** Seconds of the day of "PT06H30M00S"; 24:00:00 is allowed as the end of a day. */
export function parseODataTime(value: unknown, field = 'time', direction: Direction = 'toCanonical'): number {
  const m = typeof value === 'string' && value !== 'PT' ? PT_TIME.exec(value) : null;
  const [h, mi, s] = m ? [m[1], m[2], m[3]].map((x) => Number(x ?? 0)) : [NaN, NaN, NaN];
  const seconds = h * 3600 + mi * 60 + s;
  if (!m || h > 24 || mi > 59 || s > 59 || seconds > DAY_MS / 1000) {
    return fail(direction, field, value, 'time', `not an OData time "PT<hh>H<mm>M<ss>S": ${show(value)}`);
  }
  return seconds;
}

export function formatODataTime(seconds: number): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `PT${two(Math.floor(seconds / 3600))}H${two(Math.floor((seconds % 3600) / 60))}M${two(Math.floor(seconds % 60))}S`;
}

/**
 * An instant as SAP's date + time pair, in the plant's wall-clock time (UTC unless the endpoint
 * names a zone). Sub-second precision is dropped: SAP times have whole seconds.
 */
export function timestampToODataDateTime(value: unknown, field = 'timestamp', timeZone = 'UTC'): { date: string; time: string } {
  const { dayMs, seconds } = wallClock(parseTimestamp(value, field, 'toVendor'), timeZone);
  return { date: formatODataDate(dayMs), time: formatODataTime(seconds) };
}

/**
 * SAP's date + time pair (plant wall-clock time) as one RFC 3339 instant in UTC. The date's time
 * of day is ignored. A time that happens twice on the day clocks go back is the first of the two.
 */
export function odataDateTimeToTimestamp(date: unknown, time: unknown, fields: [string, string] = ['date', 'time'], timeZone = 'UTC'): string {
  const day = Math.floor(parseODataDate(date, fields[0], 'toCanonical') / DAY_MS) * DAY_MS;
  return formatTimestamp(instantOfWallClock(day, parseODataTime(time, fields[1], 'toCanonical'), timeZone));
}

/** An SAP decimal string ("95.000") as a number; JSON numbers pass too. "abc", "", "1e3": MappingError. */
export function parseSapDecimal(value: unknown, field = 'decimal', direction: Direction = 'toCanonical'): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  const text = typeof value === 'string' ? value.trim() : undefined;
  if (text === undefined || !DECIMAL.test(text)) return fail(direction, field, value, 'decimal', `not a decimal number: ${show(value)}`);
  return Number(text);
}

/**
 * A number as an SAP decimal string with SAP's 3 decimals ("12.500"), never an exponent. A value
 * with more decimals is a MappingError rather than a silently rounded quantity (post it in a
 * smaller unit: a plant override of the unit table).
 */
export function formatSapDecimal(value: number, field = 'decimal', decimals = 3): string {
  const exact = roundDecimal(value);
  const fixed = exact.toFixed(decimals);
  if (Number(fixed) !== exact) {
    return fail('toVendor', field, value, 'precision', `${exact} has more than the ${decimals} decimals SAP keeps (use a smaller unit)`);
  }
  return fixed;
}

/** An Edm.Boolean; older services send ABAP flags, so "X" and "" are read too. */
export function parseSapBoolean(value: unknown, field = 'flag', direction: Direction = 'toCanonical'): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'X' || value === 'true') return true;
  if (value === '' || value === ' ' || value === 'false') return false;
  return fail(direction, field, value, 'boolean', `not a boolean: ${show(value)}`);
}

/** ABAP flag: "X" is true, "" (or a blank) false. */
export function parseSapFlag(value: unknown, field = 'flag', direction: Direction = 'toCanonical'): boolean {
  if (value === 'X') return true;
  if (value === '' || value === ' ') return false;
  return fail(direction, field, value, 'boolean', `not an SAP flag "X" or "": ${show(value)}`);
}

export function toSapFlag(value: boolean): 'X' | '' {
  return value ? 'X' : '';
}

/** An OData string literal for keys and $filter: quoted, with quotes doubled. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export function parseODataString(value: unknown, field = 'key', direction: Direction = 'toCanonical'): string {
  const m = typeof value === 'string' ? /^'((?:[^']|'')*)'$/.exec(value) : null;
  if (!m) return fail(direction, field, value, 'string', `not an OData string literal '...': ${show(value)}`);
  return m[1].replace(/''/g, "'");
}
