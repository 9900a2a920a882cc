/**
 * Codecs: how one canonical value is written in one or more vendor fields, and read back.
 * toVendor returns one value per `to` field; toCanonical receives them in the same order.
 */
import type { Quantity } from '../canonical/events';
import { show } from './errors';
import {
  formatSapDecimal, normaliseTimestamp, odataDateTimeToTimestamp, odataDateToTimestamp, odataString,
  odataCalendarDateToTimestamp, parseODataDate, parseODataString, parseSapBoolean, parseSapDecimal, parseSapFlag, timestampToODataCalendarDate,
  timestampToODataDate, timestampToODataDateTime, toSapFlag,
} from './odata';
import { FieldProblem, placed } from './problem';
import type { CodecName } from './types';
import type { UnitConverter } from './units';

export interface CodecContext {
  units: UnitConverter;
  /** The plant's IANA time zone: SAP dates and times are its wall-clock time. */
  timeZone: string;
}

export interface Codec {
  /** Number of vendor fields it writes. */
  parts: number;
  toVendor(value: unknown, ctx: CodecContext): unknown[];
  toCanonical(parts: unknown[], ctx: CodecContext): unknown;
}

function expect(ok: boolean, keyword: string, problem: string, value: unknown): void {
  if (!ok) throw new FieldProblem(keyword, problem, value);
}

function canonicalQuantity(value: unknown): Quantity {
  const q = value as Quantity;
  expect(value !== null && typeof value === 'object' && !Array.isArray(value), 'type', `not a quantity {value, uom}: ${show(value)}`, value);
  if (!(typeof q.value === 'number' && Number.isFinite(q.value))) throw new FieldProblem('type', `not a number: ${show(q.value)}`, q.value, { sub: '/value' });
  if (q.value < 0) throw new FieldProblem('minimum', `negative quantity ${q.value}`, q.value, { sub: '/value' });
  return q;
}

function vendorAmount(value: number): number {
  if (value < 0) throw new FieldProblem('minimum', `negative quantity ${value}`, value, { part: 0 });
  return value;
}

const scalar = (type: 'string' | 'number' | 'boolean', label: string, check: (v: unknown) => boolean = () => true): Codec => {
  const verify = (value: unknown) => expect(typeof value === type && check(value), 'type', `not ${label}: ${show(value)}`, value);
  return {
    parts: 1,
    toVendor: (value) => (verify(value), [value]),
    toCanonical: ([value]) => (verify(value), value),
  };
};

export const CODECS: Readonly<Record<CodecName, Codec>> = {
  string: scalar('string', 'a string'),
  number: scalar('number', 'a number', (v) => Number.isFinite(v)),
  integer: scalar('number', 'an integer', (v) => Number.isSafeInteger(v)),
  boolean: scalar('boolean', 'a boolean'),
  /** Generic REST: ISO 8601 both ways, normalised to UTC "Z". */
  timestamp: {
    parts: 1,
    toVendor: (value) => [normaliseTimestamp(value)],
    toCanonical: ([value]) => normaliseTimestamp(value, 'timestamp', 'toCanonical'),
  },
  /** SAP decimal string ("95.000") <-> number. */
  sapDecimal: {
    parts: 1,
    toVendor(value) {
      expect(typeof value === 'number' && Number.isFinite(value), 'type', `not a number: ${show(value)}`, value);
      return [placed({}, () => formatSapDecimal(value as number))];
    },
    toCanonical: ([value]) => parseSapDecimal(value),
  },
  /** An instant as "/Date(ms)/". */
  sapDate: {
    parts: 1,
    toVendor: (value) => [timestampToODataDate(value)],
    toCanonical: ([value]) => odataDateToTimestamp(value),
  },
  /** A posting, document or planned date: the instant's calendar day in plant time (read back as the day's start there). */
  sapPostingDate: {
    parts: 1,
    toVendor: (value, { timeZone }) => [timestampToODataCalendarDate(value, 'timestamp', timeZone)],
    toCanonical: ([value], { timeZone }) => odataCalendarDateToTimestamp(value, 'date', timeZone),
  },
  /** An instant as SAP's date + "PT06H30M00S" pair in plant wall-clock time. */
  sapDateTime: {
    parts: 2,
    toVendor(value, { timeZone }) {
      const { date, time } = timestampToODataDateTime(value, 'timestamp', timeZone);
      return [date, time];
    },
    toCanonical([date, time], { timeZone }) {
      // Each part is checked on its own so a bad time is reported at the time field.
      placed({ part: 0 }, () => parseODataDate(date));
      return placed({ part: 1 }, () => odataDateTimeToTimestamp(date, time, ['date', 'time'], timeZone));
    },
  },
  /** boolean <-> ABAP flag "X" / "". */
  sapFlag: {
    parts: 1,
    toVendor(value) {
      expect(typeof value === 'boolean', 'type', `not a boolean: ${show(value)}`, value);
      return [toSapFlag(value as boolean)];
    },
    toCanonical: ([value]) => parseSapFlag(value),
  },
  /** boolean <-> Edm.Boolean, reading ABAP flags too. */
  sapBoolean: {
    parts: 1,
    toVendor(value) {
      expect(typeof value === 'boolean', 'type', `not a boolean: ${show(value)}`, value);
      return [value];
    },
    toCanonical: ([value]) => parseSapBoolean(value),
  },
  /** An OData key or function parameter literal: '1000123'. */
  odataString: {
    parts: 1,
    toVendor(value) {
      expect(typeof value === 'string', 'type', `not a string: ${show(value)}`, value);
      return [odataString(value as string)];
    },
    toCanonical: ([value]) => parseODataString(value),
  },
  /** Quantity <-> [SAP decimal string, SAP unit], converted with the profile's unit table. */
  sapQuantity: {
    parts: 2,
    toVendor(value, { units }) {
      const q = canonicalQuantity(value);
      const { amount, unit } = placed({ sub: '/uom' }, () => units.toVendor(q));
      return [placed({ sub: '/value' }, () => formatSapDecimal(amount)), unit];
    },
    toCanonical([amount, unit], { units }) {
      const n = vendorAmount(placed({ part: 0 }, () => parseSapDecimal(amount)));
      return placed({ part: 1 }, () => units.toCanonical(n, unit));
    },
  },
  /** Quantity <-> [number, unit] (generic REST {amount, unit}). */
  quantity: {
    parts: 2,
    toVendor(value, { units }) {
      const q = canonicalQuantity(value);
      const { amount, unit } = placed({ sub: '/uom' }, () => units.toVendor(q));
      return [amount, unit];
    },
    toCanonical([amount, unit], { units }) {
      if (!(typeof amount === 'number' && Number.isFinite(amount))) throw new FieldProblem('type', `not a number: ${show(amount)}`, amount, { part: 0 });
      return placed({ part: 1 }, () => units.toCanonical(vendorAmount(amount), unit));
    },
  },
};
