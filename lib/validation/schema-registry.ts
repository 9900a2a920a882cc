import type { ValidateFunction } from 'ajv';
import { CATALOGUE, SCHEMA_BASE_URI, dataSchemaUri, eventTypeName, parseEventType, type FamilyInfo } from '../canonical/catalogue';
import type { CanonicalEvent } from '../canonical/events';
import { listDataSchemaFiles, readSchemaFile } from '../canonical/schema-files';
import { UPCASTERS, type Upcaster } from '../canonical/upcasters';
import { PlantSyncError, type ErrorCode, type Problem } from '../errors';
import { createAjv } from './ajv-factory';
import { summarise, toProblems } from './problems';

export type VersionStatus = 'current' | 'accepted' | 'retired';

export interface RegistryOptions {
  /**
   * Versioned types to retire on top of the catalogue, e.g. ['mfg.operation.completed.v1'] once
   * every producer of a plant emits v2. A current version cannot be retired.
   */
  retire?: readonly string[];
}

export interface ValidateOptions {
  /** Treat accepted-but-older versions as retired (strict consumers). Default false. */
  rejectSuperseded?: boolean;
  /** Upcast accepted older versions to the current one. Default true. */
  upcast?: boolean;
}

export type ValidationResult =
  | { valid: true; event: CanonicalEvent; type: string; upcastFrom?: string }
  | { valid: false; code: ErrorCode; message: string; errors: Problem[] };

interface TypeEntry {
  type: string;
  family: Readonly<FamilyInfo>;
  version: number;
  status: VersionStatus;
  validate: ValidateFunction;
  upcaster?: Upcaster;
}

export interface Lifecycle {
  family: string;
  current: number;
  accepted: number[];
  retired: number[];
}

const ENVELOPE_ID = `${SCHEMA_BASE_URI}envelope.json`;

/**
 * Knows every event type and version, with a validator per versioned type compiled once, here,
 * at construction (never on the message path), and the lifecycle rules: current versions pass,
 * accepted older versions pass and are upcast, retired and unknown versions are rejected.
 */
export class SchemaRegistry {
  private readonly entries = new Map<string, TypeEntry>();
  private readonly validateEnvelope: ValidateFunction;

  constructor(options: RegistryOptions = {}) {
    const ajv = createAjv();
    ajv.addSchema(readSchemaFile('common.json'));
    ajv.addSchema(readSchemaFile('envelope.json'));
    const retire = new Set(options.retire ?? []);
    for (const file of listDataSchemaFiles()) {
      const type = file.replace(/\.json$/, '');
      const parsed = parseEventType(type);
      const family = parsed ? CATALOGUE.get(parsed.family) : undefined;
      if (!parsed || !family) {
        throw new PlantSyncError('CONFIG_ERROR', `schema file ${file} does not name a catalogue event type`);
      }
      const dataSchema = readSchemaFile(`data/${file}`);
      if (dataSchema.$id !== dataSchemaUri(type)) {
        throw new PlantSyncError('CONFIG_ERROR', `schema ${file} has $id ${String(dataSchema.$id)}, expected ${dataSchemaUri(type)}`);
      }
      ajv.addSchema(dataSchema);
      this.entries.set(type, {
        type,
        family,
        version: parsed.version,
        status: versionStatus(family, parsed.version, retire.has(type)),
        validate: ajv.compile(eventSchema(type)),
        upcaster: UPCASTERS.get(type),
      });
    }
    for (const t of retire) {
      const entry = this.entries.get(t);
      if (!entry) throw new PlantSyncError('CONFIG_ERROR', `cannot retire ${t}: no such event type`);
      if (entry.status === 'current') throw new PlantSyncError('CONFIG_ERROR', `cannot retire ${t}: it is the current version`);
    }
    for (const family of CATALOGUE.values()) {
      for (const v of family.accepted) {
        if (!this.entries.has(eventTypeName(family.family, v))) {
          throw new PlantSyncError('CONFIG_ERROR', `${eventTypeName(family.family, v)} is accepted but has no schema`);
        }
      }
    }
    this.validateEnvelope = ajv.getSchema(ENVELOPE_ID) as ValidateFunction;
  }

  /** Every versioned type with a schema, sorted. */
  types(): string[] {
    return [...this.entries.keys()].sort();
  }

  statusOf(type: string): VersionStatus | undefined {
    return this.entries.get(type)?.status;
  }

  lifecycle(family: string): Lifecycle | undefined {
    const info = CATALOGUE.get(family);
    if (!info) return undefined;
    const versions = [...this.entries.values()].filter((e) => e.family.family === family);
    const pick = (s: VersionStatus) => versions.filter((e) => e.status === s).map((e) => e.version).sort((a, b) => a - b);
    return { family, current: info.current, accepted: [...pick('current'), ...pick('accepted')].sort((a, b) => a - b), retired: pick('retired') };
  }

  /** The compiled validator of one versioned type, for callers that validate in bulk. */
  validatorFor(type: string): ValidateFunction | undefined {
    return this.entries.get(type)?.validate;
  }

  /**
   * Validates a parsed event against the envelope and its type's data schema, then upcasts an
   * accepted older version. Every problem is listed; nothing here throws for bad input.
   */
  validate(input: unknown, options: ValidateOptions = {}): ValidationResult {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      return failure('NOT_AN_EVENT', [{ pointer: '', message: 'must be a JSON object (a CloudEvents structured event)', keyword: 'type' }]);
    }
    const event = input as CanonicalEvent;
    const entry = this.entries.get(event.type);
    if (!entry) return this.unknownType(event);
    if (entry.status === 'retired' || (options.rejectSuperseded && entry.status === 'accepted')) {
      const life = this.lifecycle(entry.family.family) as Lifecycle;
      return failure('RETIRED_EVENT_VERSION', [{
        pointer: '/type',
        message: `${entry.type} is retired; current is ${eventTypeName(life.family, life.current)} (accepted: ${
          acceptedList(life, options)})`,
        keyword: 'lifecycle',
      }]);
    }
    if (!entry.validate(event)) {
      return failure('SCHEMA_INVALID', toProblems(entry.validate.errors), entry.type);
    }
    if (entry.status === 'current' || options.upcast === false) return { valid: true, event, type: entry.type };
    return this.upcast(entry, event);
  }

  private upcast(first: TypeEntry, original: CanonicalEvent): ValidationResult {
    let entry = first;
    let event = original;
    while (entry.status !== 'current') {
      if (!entry.upcaster) {
        return failure('UPCAST_FAILED', [{ pointer: '/type', message: `no upcaster from ${entry.type}`, keyword: 'lifecycle' }]);
      }
      try {
        event = entry.upcaster(event);
      } catch (err) {
        // An older event without what the current version requires (the source's identity).
        if (err instanceof PlantSyncError) return failure(err.code, err.details, entry.type);
        throw err;
      }
      const next = this.entries.get(event.type);
      if (!next || next.version <= entry.version) {
        return failure('UPCAST_FAILED', [{ pointer: '/type', message: `upcaster of ${entry.type} produced ${event.type}`, keyword: 'lifecycle' }]);
      }
      entry = next;
    }
    // The upcast result is checked too: an upcaster bug must not let an invalid event through.
    if (!entry.validate(event)) {
      return failure('UPCAST_FAILED', toProblems(entry.validate.errors), entry.type);
    }
    return { valid: true, event, type: entry.type, upcastFrom: first.type };
  }

  private unknownType(event: CanonicalEvent): ValidationResult {
    const problems = this.validateEnvelope(event) ? [] : toProblems(this.validateEnvelope.errors);
    const parsed = parseEventType(event.type);
    if (!parsed) {
      if (!problems.some((p) => p.pointer === '/type')) {
        problems.push({ pointer: '/type', message: 'must be an event type such as mfg.operation.completed.v3', keyword: 'pattern' });
      }
      return failure('SCHEMA_INVALID', problems);
    }
    const life = this.lifecycle(parsed.family);
    if (!life) {
      problems.unshift({ pointer: '/type', message: `${event.type} is not in the PlantSync event catalogue`, keyword: 'catalogue' });
      return failure('UNKNOWN_EVENT_TYPE', problems);
    }
    problems.unshift({
      pointer: '/type',
      message: `${event.type} is not a known version; current is ${eventTypeName(life.family, life.current)} (accepted: ${acceptedList(life, {})})`,
      keyword: 'lifecycle',
    });
    return failure('UNKNOWN_EVENT_VERSION', problems);
  }
}

function versionStatus(family: FamilyInfo, version: number, retired: boolean): VersionStatus {
  if (version === family.current) return 'current';
  return family.accepted.includes(version) && !retired ? 'accepted' : 'retired';
}

function acceptedList(life: Lifecycle, options: ValidateOptions): string {
  const versions = options.rejectSuperseded ? [life.current] : life.accepted;
  return versions.map((v) => `v${v}`).join(', ');
}

function failure(code: ErrorCode, errors: Problem[], type?: string): ValidationResult {
  const what = type ? `${type} event` : 'event';
  return { valid: false, code, errors, message: `invalid ${what}: ${summarise(errors)}` };
}

/**
 * The schema of a whole event of one type, assembled from the envelope and the type's data schema
 * (the data schemas are the published source; this keeps the envelope in one place).
 */
export function eventSchema(type: string): Record<string, unknown> {
  return {
    $id: `${SCHEMA_BASE_URI}events/${type}.json`,
    type: 'object',
    allOf: [{ $ref: ENVELOPE_ID }],
    properties: {
      type: { const: type },
      dataschema: { const: dataSchemaUri(type) },
      data: { $ref: dataSchemaUri(type) },
    },
  };
}

let shared: SchemaRegistry | undefined;

/** The process-wide registry with the catalogue's lifecycle, compiled on first use (at node load). */
export function defaultRegistry(): SchemaRegistry {
  shared ??= new SchemaRegistry();
  return shared;
}
