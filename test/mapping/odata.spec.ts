import * as assert from 'node:assert/strict';
import {
  formatSapDecimal, MappingError, normaliseTimestamp, odataDateTimeToTimestamp, odataDateToTimestamp, odataString, parseODataString,
  parseODataTime, parseSapBoolean, parseSapDecimal, parseSapFlag, timestampToODataCalendarDate, timestampToODataDate,
  timestampToODataDateTime, toSapFlag,
} from '../../lib/mapping';

function throwsMapping(fn: () => unknown, field: string, keyword: string): MappingError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof MappingError, `expected a MappingError, got ${String(caught)}`);
  assert.equal(caught.field, field);
  assert.equal(caught.details[0].keyword, keyword);
  assert.match(caught.message, new RegExp(`at ${field.replace(/[/$]/g, '\\$&')}`));
  return caught;
}

describe('mapping: OData v2 formats', () => {
  it('reads /Date(ms)/ as RFC 3339 UTC and writes it back to the millisecond', () => {
    assert.equal(odataDateToTimestamp('/Date(1795651200000)/'), '2026-11-26T00:00:00Z');
    assert.equal(odataDateToTimestamp('/Date(1795651200123+0060)/'), '2026-11-26T00:00:00.123Z', 'an offset suffix does not move the instant');
    assert.equal(timestampToODataDate('2026-11-26T01:00:00+01:00'), '/Date(1795651200000)/');
    assert.equal(timestampToODataDate('2026-11-26T00:00:00.123Z'), '/Date(1795651200123)/');
  });

  it('rejects a bad /Date()/ naming the field', () => {
    const e = throwsMapping(() => odataDateToTimestamp('/Date(abc)/', 'PostingDate'), 'PostingDate', 'date');
    assert.equal(e.value, '/Date(abc)/');
    assert.equal(e.direction, 'toCanonical');
    throwsMapping(() => odataDateToTimestamp('2026-11-26', 'PostingDate'), 'PostingDate', 'date');
    throwsMapping(() => odataDateToTimestamp(1795651200000, 'PostingDate'), 'PostingDate', 'date');
  });

  it('rejects timestamps without an offset or with impossible dates', () => {
    throwsMapping(() => timestampToODataDate('2026-11-26T06:00:00', '/data/actualStart'), '/data/actualStart', 'date');
    throwsMapping(() => timestampToODataDate('2026-02-30T06:00:00Z', '/data/actualStart'), '/data/actualStart', 'date');
    assert.equal(normaliseTimestamp('2026-11-26T07:00:00.000+01:00'), '2026-11-26T06:00:00Z');
  });

  it('splits an instant into a UTC date and a PT time, and joins them back', () => {
    assert.deepEqual(timestampToODataDateTime('2026-11-27T00:30:00+01:00'), { date: '/Date(1795651200000)/', time: 'PT23H30M00S' });
    assert.equal(odataDateTimeToTimestamp('/Date(1795651200000)/', 'PT23H30M00S'), '2026-11-26T23:30:00Z');
    assert.equal(odataDateTimeToTimestamp('/Date(1795651200000)/', 'PT6H5M'), '2026-11-26T06:05:00Z', 'SAP may leave out zero parts');
    assert.equal(parseODataTime('PT24H00M00S'), 86400, 'end of day');
  });

  it('rejects bad PT times naming the time field', () => {
    throwsMapping(() => odataDateTimeToTimestamp('/Date(1795651200000)/', 'PT25H00M00S', ['StartDate', 'StartTime']), 'StartTime', 'time');
    throwsMapping(() => parseODataTime('06:30:00', 'StartTime'), 'StartTime', 'time');
    throwsMapping(() => parseODataTime('PT', 'StartTime'), 'StartTime', 'time');
  });

  it('takes the posting date from the calendar day of the instant in the plant time zone, whatever offset the timestamp has', () => {
    assert.equal(timestampToODataCalendarDate('2026-11-27T00:30:00+01:00', 'timestamp', 'Europe/Berlin'), '/Date(1795737600000)/', 'the 27th in Berlin');
    assert.equal(timestampToODataCalendarDate('2026-11-27T00:30:00+01:00'), '/Date(1795651200000)/', 'still the 26th in a UTC plant');
  });

  it('reads decimal strings exactly and rejects non-numeric ones', () => {
    assert.equal(parseSapDecimal('95.000'), 95);
    assert.equal(parseSapDecimal(' 12.5 '), 12.5);
    assert.equal(parseSapDecimal(7), 7);
    const e = throwsMapping(() => parseSapDecimal('abc', 'ConfirmationYieldQuantity'), 'ConfirmationYieldQuantity', 'decimal');
    assert.match(e.message, /not a decimal number: 'abc' at ConfirmationYieldQuantity/);
    for (const bad of ['', '1e3', '12,5', 'NaN', null]) throwsMapping(() => parseSapDecimal(bad, 'Q'), 'Q', 'decimal');
  });

  it('writes decimal strings with SAP\'s 3 decimals, never an artefact, never a silently rounded quantity', () => {
    assert.equal(formatSapDecimal(95), '95.000');
    assert.equal(formatSapDecimal(0.1 + 0.2), '0.300');
    assert.equal(formatSapDecimal(1234567.5), '1234567.500');
    assert.equal(formatSapDecimal(1e12), '1000000000000.000');
    const e = throwsMapping(() => formatSapDecimal(0.0125, 'QuantityInEntryUnit'), 'QuantityInEntryUnit', 'precision');
    assert.equal(e.direction, 'toVendor');
  });

  it('reads SAP booleans and ABAP flags', () => {
    assert.equal(parseSapBoolean(true), true);
    assert.equal(parseSapBoolean('X'), true);
    assert.equal(parseSapBoolean(''), false);
    assert.equal(parseSapFlag('X'), true);
    assert.equal(parseSapFlag(''), false);
    assert.equal(toSapFlag(true), 'X');
    assert.equal(toSapFlag(false), '');
    throwsMapping(() => parseSapFlag('Y', 'FinalConfirmationType'), 'FinalConfirmationType', 'boolean');
    throwsMapping(() => parseSapBoolean('maybe', 'OrderIsReleased'), 'OrderIsReleased', 'boolean');
  });

  it('quotes OData string literals and reads them back', () => {
    assert.equal(odataString("O'Brien"), "'O''Brien'");
    assert.equal(parseODataString("'O''Brien'"), "O'Brien");
    throwsMapping(() => parseODataString('1000123', 'order'), 'order', 'string');
  });
});
