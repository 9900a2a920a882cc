import { PlantSyncError } from '../errors';
import { show } from './errors';
import { FieldProblem } from './problem';
import type { ValueMapDef, ValueMapOverride, VendorScalar } from './types';

/** A value map with its inverse built once, at profile construction. */
export class ValueMap {
  private readonly forward = new Map<string, VendorScalar>();
  private readonly inverse = new Map<VendorScalar, string>();
  private readonly ambiguous = new Map<VendorScalar, string[]>();

  constructor(readonly name: string, readonly def: ValueMapDef) {
    for (const [canonical, vendor] of Object.entries(def.toVendor)) {
      if (!['string', 'number', 'boolean'].includes(typeof vendor)) {
        throw new PlantSyncError('CONFIG_ERROR', `value map ${name}: ${canonical} maps to ${show(vendor)}, not a string, number or boolean`);
      }
      this.forward.set(canonical, vendor);
      const seen = this.ambiguous.get(vendor) ?? [];
      this.ambiguous.set(vendor, [...seen, canonical]);
      if (!this.inverse.has(vendor)) this.inverse.set(vendor, canonical);
    }
    for (const [vendor, list] of this.ambiguous) if (list.length < 2) this.ambiguous.delete(vendor);
    for (const [vendor, canonical] of Object.entries(def.toCanonical ?? {})) {
      // Explicit inverse entries are keyed by text; they apply to a vendor value of the same text.
      const key = [...this.forward.values()].find((v) => String(v) === vendor) ?? vendor;
      this.inverse.set(key, canonical);
      this.ambiguous.delete(key);
    }
  }

  toVendor(value: unknown): VendorScalar {
    const key = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
    if (key !== undefined && this.forward.has(key)) return this.forward.get(key) as VendorScalar;
    if (key !== undefined && this.def.unsupported && Object.hasOwn(this.def.unsupported, key)) {
      throw new FieldProblem('unsupported', `${this.def.label} ${show(value)} has no vendor value: ${this.def.unsupported[key]}`, value);
    }
    const otherwise = this.otherwise();
    if (otherwise === 'passThrough' && key !== undefined) return value as VendorScalar;
    if (typeof otherwise === 'object' && otherwise.vendor !== undefined) return otherwise.vendor;
    throw new FieldProblem('valueMap', `unknown ${this.def.label} ${show(value)}${this.known([...this.forward.keys()])}`, value);
  }

  toCanonical(value: unknown): string {
    const key = value as VendorScalar;
    if (this.ambiguous.has(key)) {
      throw new FieldProblem('valueMap', `${this.def.label} ${show(value)} is ambiguous (${this.ambiguous.get(key)?.join(', ')})`, value);
    }
    if (this.inverse.has(key)) return this.inverse.get(key) as string;
    const otherwise = this.otherwise();
    if (otherwise === 'passThrough' && (typeof value === 'string' || typeof value === 'number')) return String(value);
    if (typeof otherwise === 'object' && otherwise.canonical !== undefined) return otherwise.canonical;
    throw new FieldProblem('valueMap', `unknown ${this.def.label} ${show(value)}${this.known([...this.inverse.keys()].map(String))}`, value);
  }

  /** A map that is 'passThroughUntilSet' passes values through only while it has no entries. */
  private otherwise(): ValueMapDef['otherwise'] {
    const otherwise = this.def.otherwise ?? 'error';
    if (otherwise !== 'passThroughUntilSet') return otherwise;
    return this.forward.size === 0 ? 'passThrough' : 'error';
  }

  /** For a map a plant sets: which values it does map, so the message says what to add. */
  private known(values: string[]): string {
    return this.def.otherwise === 'passThroughUntilSet' ? ` (the endpoint's overrides map only ${values.join(', ')} in valueMaps.${this.name})` : '';
  }

  /** Canonical values in the map's order (precedence for status flags). */
  entries(): [string, VendorScalar][] {
    return [...this.forward.entries()];
  }
}

/** The base maps with a plant's entries merged in; a map the base does not have is a typo, not a new map. */
export function mergeValueMaps(
  base: Readonly<Record<string, ValueMapDef>>,
  overrides: Readonly<Record<string, ValueMapOverride>> = {},
): Record<string, ValueMapDef> {
  const merged: Record<string, ValueMapDef> = { ...base };
  for (const [name, o] of Object.entries(overrides)) {
    const b = base[name];
    if (!b) throw new PlantSyncError('CONFIG_ERROR', `value map override ${name}: the profile has no such map (has: ${Object.keys(base).join(', ')})`);
    merged[name] = {
      label: o.label ?? b.label,
      toVendor: { ...b.toVendor, ...o.toVendor },
      toCanonical: { ...b.toCanonical, ...o.toCanonical },
      unsupported: { ...b.unsupported, ...o.unsupported },
      otherwise: o.otherwise ?? b.otherwise,
    };
    // A value the plant maps is no longer unsupported.
    for (const k of Object.keys(o.toVendor ?? {})) delete (merged[name].unsupported as Record<string, string>)[k];
  }
  return merged;
}
