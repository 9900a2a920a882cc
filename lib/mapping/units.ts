import { PlantSyncError } from '../errors';
import type { Quantity } from '../canonical/events';
import { MappingError, show, type Direction } from './errors';

/** canonical value = vendor value × factor, in canonical unit `uom`. */
export interface UnitRule {
  uom: string;
  factor: number;
}

/**
 * One side's units: how each vendor unit reads canonically, and which vendor unit to write for a
 * canonical unit (its factor comes from `toCanonical`, so the two directions cannot disagree).
 */
export interface UnitTable {
  toCanonical: Readonly<Record<string, UnitRule>>;
  toVendor: Readonly<Record<string, string>>;
}

export type UnitOverrides = { toCanonical?: Record<string, UnitRule>; toVendor?: Record<string, string> };

/** Decimals kept after a conversion: enough for grams in tonnes, few enough to drop 0.1+0.2 artefacts. */
export const UNIT_DECIMALS = 6;

/**
 * Rounds away binary floating-point artefacts: first to 15 significant digits (what a double holds
 * exactly), then to `decimals` places, so 0.3 / 0.001 gives 300 and not 299.99999999999994.
 */
export function roundDecimal(value: number, decimals = UNIT_DECIMALS): number {
  const rounded = Number(Number(value.toPrecision(15)).toFixed(decimals));
  return Object.is(rounded, -0) ? 0 : rounded;
}

/**
 * Units a canonical event may carry, normalised before they go out: PlantSync writes EA, KG, MTR,
 * LTR, but producers also use the UN/ECE codes (KGM, PCE, C62, H87, GRM), which mean the same.
 */
export const CANONICAL_UNITS: Readonly<Record<string, UnitRule>> = Object.freeze({
  EA: { uom: 'EA', factor: 1 },
  PCE: { uom: 'EA', factor: 1 },
  C62: { uom: 'EA', factor: 1 },
  H87: { uom: 'EA', factor: 1 },
  KG: { uom: 'KG', factor: 1 },
  KGM: { uom: 'KG', factor: 1 },
  GRM: { uom: 'KG', factor: 0.001 },
  MTR: { uom: 'MTR', factor: 1 },
  LTR: { uom: 'LTR', factor: 1 },
});

/** SAP internal units (ST = Stück, piece). */
export const SAP_UNITS: UnitTable = Object.freeze({
  toCanonical: Object.freeze({
    ST: { uom: 'EA', factor: 1 },
    KG: { uom: 'KG', factor: 1 },
    G: { uom: 'KG', factor: 0.001 },
    M: { uom: 'MTR', factor: 1 },
    L: { uom: 'LTR', factor: 1 },
  }),
  toVendor: Object.freeze({ EA: 'ST', KG: 'KG', MTR: 'M', LTR: 'L' }),
});

/** UN/ECE Recommendation 20 codes as the generic MES / WMS / QMS use them. */
export const GENERIC_UNITS: UnitTable = Object.freeze({
  toCanonical: Object.freeze({
    PCE: { uom: 'EA', factor: 1 },
    C62: { uom: 'EA', factor: 1 },
    KGM: { uom: 'KG', factor: 1 },
    GRM: { uom: 'KG', factor: 0.001 },
    MTR: { uom: 'MTR', factor: 1 },
    LTR: { uom: 'LTR', factor: 1 },
  }),
  toVendor: Object.freeze({ EA: 'PCE', KG: 'KGM', MTR: 'MTR', LTR: 'LTR' }),
});

/** A plant's table: the base with the plant's entries on top, checked for consistency. */
export function mergeUnits(base: UnitTable, overrides?: UnitOverrides): UnitTable {
  const table: UnitTable = {
    toCanonical: { ...base.toCanonical, ...overrides?.toCanonical },
    toVendor: { ...base.toVendor, ...overrides?.toVendor },
  };
  checkUnits(table);
  return table;
}

function checkUnits(table: UnitTable): void {
  for (const [unit, rule] of Object.entries(table.toCanonical)) {
    if (!rule || typeof rule.uom !== 'string' || !(Number.isFinite(rule.factor) && rule.factor > 0)) {
      throw new PlantSyncError('CONFIG_ERROR', `unit ${unit}: needs a canonical uom and a positive factor`);
    }
  }
  for (const [canonical, vendor] of Object.entries(table.toVendor)) {
    const back = table.toCanonical[vendor];
    if (!back || back.uom !== canonical) {
      throw new PlantSyncError('CONFIG_ERROR', `unit ${canonical} is written as ${vendor}, but ${vendor} does not read back as ${canonical}`);
    }
  }
}

/** Converts quantities between one vendor's units and the canonical ones, with exact decimals. */
export class UnitConverter {
  constructor(readonly table: UnitTable, readonly system = 'vendor') {
    checkUnits(table);
  }

  /** A vendor amount and unit as a canonical quantity; unknown unit: MappingError naming `field`. */
  toCanonical(amount: number, unit: unknown, field = 'unit'): Quantity {
    const rule = typeof unit === 'string' && Object.hasOwn(this.table.toCanonical, unit) ? this.table.toCanonical[unit] : undefined;
    if (!rule) throw unitError('toCanonical', field, unit, `unknown ${this.system} unit ${show(unit)}`);
    return { value: roundDecimal(amount * rule.factor), uom: rule.uom };
  }

  /** A canonical quantity (any code of CANONICAL_UNITS) in the vendor's unit. */
  toVendor(quantity: Quantity, field = '/uom'): { amount: number; unit: string } {
    const normal = typeof quantity.uom === 'string' && Object.hasOwn(CANONICAL_UNITS, quantity.uom) ? CANONICAL_UNITS[quantity.uom] : undefined;
    if (!normal) throw unitError('toVendor', field, quantity.uom, `unknown canonical unit ${show(quantity.uom)}`);
    const unit = Object.hasOwn(this.table.toVendor, normal.uom) ? this.table.toVendor[normal.uom] : undefined;
    if (unit === undefined) throw unitError('toVendor', field, quantity.uom, `no ${this.system} unit for canonical unit ${show(quantity.uom)}`);
    // Rounded, because the factors are binary fractions: 0.7 / 0.001 is 699.9999999999999.
    const amount = quantity.value * normal.factor / this.table.toCanonical[unit].factor;
    return { amount: roundDecimal(amount), unit };
  }
}

function unitError(direction: Direction, field: string, value: unknown, problem: string): MappingError {
  return MappingError.single(direction, field, value, 'unit', problem);
}
