/**
 * The declarative mapping engine: createProfile compiles a profile definition (field rules, value
 * maps, unit table, JSONata expressions) once, with a plant's overrides, into operations that map
 * canonical events to vendor requests and vendor documents back to canonical data.
 */
import jsonata from 'jsonata';
import { UPCASTERS } from '../canonical/upcasters';
import type { EventType } from '../canonical/events';
import { PlantSyncError } from '../errors';
import { type AlphaDef, checkAlphaLength } from './alpha';
import { CODECS } from './codecs';
import { show } from './errors';
import { CompiledRead, CompiledWrite } from './operations';
import { templateParams } from './paths';
import { RuleRunner, toList } from './rules';
import type { FieldRule, MappingOperation, OperationSpec, ProfileDefinition, ProfileOverrides, RuleContext, WriteOperation } from './types';
import { timeZoneProblem } from './plant-time';
import { mergeUnits, UnitConverter } from './units';
import { mergeValueMaps, ValueMap } from './value-maps';

/** A compiled profile: its (merged) tables and its operations by name. */
export interface MappingProfile {
  readonly name: string;
  readonly definition: ProfileDefinition;
  readonly context: RuleContext;
  readonly operations: Readonly<Record<string, MappingOperation>>;
  /** The write operation that takes this canonical event type, if any. */
  writeFor(eventType: string): WriteOperation | undefined;
  /** Every canonical event type a write operation takes. */
  writableEventTypes(): EventType[];
  operation<T extends MappingOperation = MappingOperation>(name: string): T;
}

/**
 * Compiles a profile. `base` is a definition or an already compiled profile (overrides stack);
 * overrides merge value-map entries and units without code. Definition mistakes (unknown map or
 * codec, bad JSONata, inconsistent units) are CONFIG_ERRORs here, never on the message path.
 */
export function createProfile(base: ProfileDefinition | MappingProfile, overrides: ProfileOverrides = {}): MappingProfile {
  const source = 'definition' in base ? base.definition : base;
  const timeZone = overrides.timeZone ?? source.timeZone ?? 'UTC';
  const zoneProblem = timeZoneProblem(timeZone);
  if (zoneProblem) throw new PlantSyncError('CONFIG_ERROR', `${source.name}: ${zoneProblem}`);
  const definition: ProfileDefinition = {
    ...source,
    units: mergeUnits(source.units, overrides.units),
    valueMaps: mergeValueMaps(source.valueMaps, overrides.valueMaps),
    alpha: mergeAlpha(source.name, source.alpha ?? {}, overrides.alpha),
    timeZone,
  };
  const maps = Object.fromEntries(Object.entries(definition.valueMaps).map(([n, d]) => [n, new ValueMap(n, d)]));
  const expressions = new Map<string, jsonata.Expression>();
  const alpha = definition.alpha ?? {};
  const context: RuleContext = { profile: definition.name, valueMaps: definition.valueMaps, units: definition.units, alpha, timeZone };
  const runner = new RuleRunner({
    ctx: context,
    maps,
    units: new UnitConverter(definition.units, definition.unitSystem),
    expression: (s) => expressions.get(s) as jsonata.Expression,
  });
  const check = (rules: readonly FieldRule[] | undefined, where: string) => checkRules(rules, `${definition.name} ${where}`, { maps, alpha }, expressions);
  const operations: Record<string, MappingOperation> = {};
  for (const [name, spec] of Object.entries(definition.operations)) {
    for (const rules of [spec.params, spec.query, spec.response]) check(rules, name);
    checkTemplate(definition.name, name, spec);
    if (spec.kind === 'write') {
      for (const v of spec.variants) check(v.body, `${name} ${v.eventType}`);
      operations[name] = new CompiledWrite(definition.name, name, spec, runner, maps);
    } else {
      operations[name] = new CompiledRead(definition.name, name, spec, runner);
    }
  }
  const writes = new Map<string, WriteOperation>();
  for (const op of Object.values(operations)) {
    if (op.kind !== 'write') continue;
    for (const t of op.eventTypes) {
      if (writes.has(t)) throw new PlantSyncError('CONFIG_ERROR', `${definition.name}: ${t} is written by both ${writes.get(t)?.name} and ${op.name}`);
      writes.set(t, op);
    }
  }
  return {
    name: definition.name,
    definition,
    context,
    operations,
    writeFor(eventType) {
      let type = eventType;
      // An accepted older version (operation.completed.v1) is written by its current version's operation.
      while (!writes.has(type) && UPCASTERS.has(type)) type = type.replace(/\.v(\d+)$/, (_, v: string) => `.v${Number(v) + 1}`);
      return writes.get(type);
    },
    writableEventTypes: () => [...writes.keys()] as EventType[],
    operation<T extends MappingOperation>(name: string): T {
      const op = operations[name];
      if (!op) throw new PlantSyncError('CONFIG_ERROR', `${definition.name} has no operation ${name} (has: ${Object.keys(operations).join(', ')})`);
      return op as T;
    },
  };
}

/** The profile's ALPHA lengths with a plant's; a kind the profile does not have is a typo. */
function mergeAlpha(profile: string, base: Readonly<Record<string, AlphaDef>>, overrides: Readonly<Record<string, number>> = {}): Record<string, AlphaDef> {
  const merged = { ...base };
  for (const [name, length] of Object.entries(overrides)) {
    if (!base[name]) throw new PlantSyncError('CONFIG_ERROR', `${profile}: alpha override ${name}: the profile has no such key (has: ${Object.keys(base).join(', ') || 'none'})`);
    const problem = checkAlphaLength(length);
    if (problem) throw new PlantSyncError('CONFIG_ERROR', `${profile}: alpha override ${name}: ${problem}`);
    merged[name] = { ...base[name], length };
  }
  return merged;
}

interface Tables {
  maps: Record<string, ValueMap>;
  alpha: Readonly<Record<string, AlphaDef>>;
}

function checkRules(rules: readonly FieldRule[] | undefined, where: string, tables: Tables, expressions: Map<string, jsonata.Expression>): void {
  const { maps, alpha } = tables;
  for (const rule of rules ?? []) {
    const label = `${where}: rule ${rule.from ?? toList(rule.to).join('+')}`;
    const fail = (why: string) => { throw new PlantSyncError('CONFIG_ERROR', `${label}: ${why}`); };
    for (const name of [rule.map, rule.flags]) if (name !== undefined && !maps[name]) fail(`no value map ${name}`);
    if (rule.alpha !== undefined && !alpha[rule.alpha]) fail(`no alpha key ${rule.alpha}`);
    if (rule.as !== undefined) {
      const codec = CODECS[rule.as];
      if (!codec) fail(`no codec ${rule.as}`);
      else if (rule.read === undefined && !rule.readFn && toList(rule.to).length !== codec.parts) fail(`codec ${rule.as} needs ${codec.parts} vendor field(s)`);
    }
    if (rule.from === undefined && toList(rule.to).length === 0) fail('needs from or to');
    for (const source of [rule.expr, rule.read, rule.where]) {
      if (source === undefined || expressions.has(source)) continue;
      try {
        expressions.set(source, jsonata(source));
      } catch (e) {
        fail(`JSONata ${show(source)}: ${(e as Error).message}`);
      }
    }
    if (rule.each) checkRules(rule.each, `${label}[]`, tables, expressions);
  }
}

function checkTemplate(profile: string, name: string, spec: OperationSpec): void {
  const filled = new Set((spec.params ?? []).flatMap((r) => toList(r.to)));
  for (const template of [spec.path, spec.kind === 'write' ? spec.etagFrom : undefined]) {
    for (const p of template ? templateParams(template) : []) {
      if (!filled.has(p)) throw new PlantSyncError('CONFIG_ERROR', `${profile} ${name}: no params rule fills {${p}} of ${template}`);
    }
  }
}
