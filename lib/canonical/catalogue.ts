import { readSchemaFile } from './schema-files';

/** What the catalogue says about one event family (a type without its version suffix). */
export interface FamilyInfo {
  family: string;
  /** The major version producers must emit. */
  current: number;
  /** Versions consumers still take; older accepted ones are upcast to `current`. */
  accepted: number[];
  /** JSON pointer into the event for the CloudEvents `subject`. */
  subject: string;
  /** JSON pointers whose values make the idempotency key; empty: a hash of `data`. */
  key: string[];
  isa95: string;
}

interface CatalogueFile {
  baseUri: string;
  families: Record<string, Omit<FamilyInfo, 'family'>>;
}

export interface ParsedEventType {
  family: string;
  version: number;
}

const TYPE_PATTERN = /^(mfg(?:\.[a-z][a-z0-9]*){2,3})\.v([1-9][0-9]{0,2})$/;

/** Splits `mfg.operation.completed.v2` into family and major version; null when malformed. */
export function parseEventType(type: unknown): ParsedEventType | null {
  if (typeof type !== 'string') return null;
  const m = TYPE_PATTERN.exec(type);
  return m ? { family: m[1], version: Number(m[2]) } : null;
}

export function eventTypeName(family: string, version: number): string {
  return `${family}.v${version}`;
}

const file = readSchemaFile('catalogue.json') as unknown as CatalogueFile;

export const SCHEMA_BASE_URI: string = file.baseUri;

export const CATALOGUE: ReadonlyMap<string, Readonly<FamilyInfo>> = new Map(
  Object.entries(file.families).map(([family, info]) => [family, Object.freeze({ family, ...info })]),
);

/** `$id` of the data schema of one type, also the value of the event's `dataschema`. */
export function dataSchemaUri(type: string): string {
  return `${SCHEMA_BASE_URI}data/${type}.json`;
}

/** The types producers emit today: every family at its current version. */
export function currentEventTypes(): string[] {
  return [...CATALOGUE.values()].map((f) => eventTypeName(f.family, f.current));
}

export function familyOf(type: string): Readonly<FamilyInfo> | undefined {
  const parsed = parseEventType(type);
  return parsed ? CATALOGUE.get(parsed.family) : undefined;
}
