import * as assert from 'node:assert/strict';
import { PlantSyncError } from '../../lib';
import { GENERIC_UNITS, MappingError, mergeUnits, roundDecimal, SAP_UNITS, UnitConverter } from '../../lib/mapping';

describe('mapping: units of measure', () => {
  const sap = new UnitConverter(SAP_UNITS, 'SAP');
  const generic = new UnitConverter(GENERIC_UNITS, 'generic');

  it('converts SAP units to canonical ones with their factors', () => {
    assert.deepEqual(sap.toCanonical(95, 'ST'), { value: 95, uom: 'EA' });
    assert.deepEqual(sap.toCanonical(12500, 'G'), { value: 12.5, uom: 'KG' });
    assert.deepEqual(sap.toCanonical(3, 'M'), { value: 3, uom: 'MTR' });
    assert.deepEqual(sap.toCanonical(2.5, 'L'), { value: 2.5, uom: 'LTR' });
    assert.deepEqual(sap.toVendor({ value: 95, uom: 'EA' }), { amount: 95, unit: 'ST' });
    assert.deepEqual(sap.toVendor({ value: 3, uom: 'MTR' }), { amount: 3, unit: 'M' });
  });

  it('converts generic UN/ECE units both ways, C62 read as pieces', () => {
    assert.deepEqual(generic.toCanonical(1250, 'GRM'), { value: 1.25, uom: 'KG' });
    assert.deepEqual(generic.toCanonical(4, 'C62'), { value: 4, uom: 'EA' });
    assert.deepEqual(generic.toCanonical(4, 'KGM'), { value: 4, uom: 'KG' });
    assert.deepEqual(generic.toVendor({ value: 4, uom: 'EA' }), { amount: 4, unit: 'PCE' });
    assert.deepEqual(generic.toVendor({ value: 4, uom: 'KG' }), { amount: 4, unit: 'KGM' });
    assert.deepEqual(generic.toVendor({ value: 2, uom: 'LTR' }), { amount: 2, unit: 'LTR' });
  });

  it('normalises UN/ECE codes in canonical events before converting (KGM, GRM, PCE)', () => {
    assert.deepEqual(sap.toVendor({ value: 250, uom: 'KGM' }), { amount: 250, unit: 'KG' });
    assert.deepEqual(sap.toVendor({ value: 1500, uom: 'GRM' }), { amount: 1.5, unit: 'KG' });
    assert.deepEqual(sap.toVendor({ value: 7, uom: 'PCE' }), { amount: 7, unit: 'ST' });
  });

  it('keeps decimals exact: no 0.1 + 0.2 artefacts, six places kept', () => {
    const grams = new UnitConverter(mergeUnits(SAP_UNITS, { toVendor: { KG: 'G' } }), 'SAP');
    assert.deepEqual(grams.toVendor({ value: 0.7, uom: 'KG' }), { amount: 700, unit: 'G' }, '0.7 / 0.001 is 699.9999999999999 in binary');
    assert.deepEqual(grams.toVendor({ value: 0.1 + 0.2, uom: 'KG' }), { amount: 300, unit: 'G' });
    assert.deepEqual(sap.toCanonical(1, 'G'), { value: 0.001, uom: 'KG' });
    assert.deepEqual(sap.toCanonical(0.4, 'G'), { value: 0.0004, uom: 'KG' });
    assert.equal(roundDecimal(1.23456789), 1.234568);
    assert.equal(roundDecimal(-0.0000001), 0);
  });

  it('names the field of an unknown unit', () => {
    assert.throws(() => sap.toCanonical(1, 'XYZ', 'BaseUnit'), (e: unknown) =>
      e instanceof MappingError && e.field === 'BaseUnit' && e.value === 'XYZ' && e.details[0].keyword === 'unit' && /unknown SAP unit 'XYZ' at BaseUnit/.test(e.message));
    assert.throws(() => sap.toCanonical(1, 'PCE', 'BaseUnit'), (e: unknown) => e instanceof MappingError && e.value === 'PCE', 'PCE is generic, not SAP');
    assert.throws(() => sap.toVendor({ value: 1, uom: 'BOX' }, '/data/quantity/uom'), (e: unknown) =>
      e instanceof MappingError && e.field === '/data/quantity/uom' && e.direction === 'toVendor');
  });

  it('merges plant units and rejects a table whose directions disagree', () => {
    const plant = mergeUnits(SAP_UNITS, { toCanonical: { PC: { uom: 'EA', factor: 1 } }, toVendor: { EA: 'PC' } });
    const c = new UnitConverter(plant, 'SAP');
    assert.deepEqual(c.toVendor({ value: 3, uom: 'EA' }), { amount: 3, unit: 'PC' });
    assert.deepEqual(c.toCanonical(3, 'ST'), { value: 3, uom: 'EA' }, 'the base units still read');
    assert.equal(SAP_UNITS.toVendor.EA, 'ST', 'the base table is untouched');
    assert.throws(() => mergeUnits(SAP_UNITS, { toVendor: { EA: 'PC' } }), (e: unknown) => e instanceof PlantSyncError && e.code === 'CONFIG_ERROR');
    assert.throws(() => mergeUnits(SAP_UNITS, { toCanonical: { PAL: { uom: 'EA', factor: 0 } } }), PlantSyncError);
  });
});
