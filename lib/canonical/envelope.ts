import { randomUUID } from 'node:crypto';
import { dataSchemaUri, familyOf, parseEventType } from './catalogue';
import type { CanonicalEvent, EventDataByType, EventType } from './events';
import { getByPointer } from './json-pointer';
import { contentHash } from './stable-json';
import { toCurrentVersion } from './upcasters';

export interface CreateEventOptions<K extends string, T> {
  type: K;
  /** Emitting system and site as a URI reference, e.g. /plants/P100/mes. */
  source: string;
  data: T;
  /** Defaults to the catalogue's subject field of `data` (order number, lot, equipment). */
  subject?: string;
  siteid?: string;
  /** When it happened at the source; defaults to now. */
  time?: string | Date;
  id?: string;
  /** The event that caused this one: its id becomes `causationid`, its correlation is kept. */
  cause?: Partial<CanonicalEvent> | null;
  /** Used when there is no causing event with a correlation id. */
  correlationid?: string;
  /** Defaults to a deterministic key from the catalogue's key fields (or a hash of `data`). */
  idempotencykey?: string;
  sequence?: number;
  /** Further CloudEvents extension attributes. */
  extensions?: Record<string, string | number | boolean>;
}

/**
 * Builds a canonical event. Correlation follows the causing event (its `correlationid`, else
 * its `id`, since a process starts at its first event), then the explicit option, else a new id.
 * The result is not validated here: validation is the registry's job.
 */
export function createEvent<K extends EventType>(options: CreateEventOptions<K, EventDataByType[K]>): CanonicalEvent<EventDataByType[K], K>;
export function createEvent<K extends string, T>(options: CreateEventOptions<K, T>): CanonicalEvent<T, K>;
export function createEvent<K extends string, T>(options: CreateEventOptions<K, T>): CanonicalEvent<T, K> {
  const cause = options.cause ?? undefined;
  const time = options.time instanceof Date ? options.time.toISOString() : options.time ?? new Date().toISOString();
  const event: CanonicalEvent<T, K> = {
    ...options.extensions,
    specversion: '1.0',
    id: options.id ?? randomUUID(),
    source: options.source,
    type: options.type,
    subject: '',
    time,
    datacontenttype: 'application/json',
    dataschema: dataSchemaUri(options.type),
    correlationid: cause?.correlationid ?? cause?.id ?? options.correlationid ?? randomUUID(),
    data: options.data,
  };
  if (cause?.id !== undefined) event.causationid = cause.id;
  if (options.siteid !== undefined) event.siteid = options.siteid;
  if (options.sequence !== undefined) event.sequence = options.sequence;
  const subject = options.subject ?? defaultSubject(event);
  // Left out rather than empty when the data lacks its subject field, so validation reports it as missing.
  if (subject) event.subject = subject;
  else delete (event as Partial<CanonicalEvent>).subject;
  event.idempotencykey = options.idempotencykey ?? deriveIdempotencyKey(event);
  return event;
}

/** The catalogue's subject field of the event, as a string ("" when the type or field is unknown). */
export function defaultSubject(event: Pick<CanonicalEvent, 'type' | 'data'>): string {
  const family = familyOf(event.type);
  const value = family ? getByPointer(event, family.subject) : undefined;
  return value === undefined || value === null ? '' : String(value);
}

/**
 * A deterministic business key: `<family>:<value>:<value>...` from the catalogue's key fields, or
 * `<family>:<subject>:<hash of data and time>` for families whose facts have no natural key: a
 * redelivered or re-sent event (same data, same source time) gets the same key, while two real
 * goods issues of the same quantity at different times stay two facts. The version is left out
 * and the hash is taken of the current version's data: an upcast v1 event and its v2 twin are the
 * same business fact and get the same key.
 */
export function deriveIdempotencyKey(event: Pick<CanonicalEvent, 'type' | 'data' | 'subject'> & { time?: string }): string {
  const parsed = parseEventType(event.type);
  const familyName = parsed ? parsed.family : String(event.type);
  const family = familyOf(event.type);
  if (family && family.key.length > 0) {
    const parts = family.key.map((p) => {
      const v = getByPointer(event, p);
      return v === undefined || v === null ? '' : escapeKeyPart(String(v));
    });
    return [familyName, ...parts].join(':');
  }
  const current = toCurrentVersion(event as CanonicalEvent);
  return `${familyName}:${event.subject}:${contentHash({ data: current.data, time: event.time }).slice(0, 32)}`;
}

/** Keeps `:` unambiguous as the key separator whatever the identifiers contain. */
function escapeKeyPart(part: string): string {
  return part.replace(/%/g, '%25').replace(/:/g, '%3A');
}

/** True when a value has the shape of a canonical event (not a validation: a quick recognition). */
export function isCanonicalEvent(value: unknown): value is CanonicalEvent {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return v.specversion === '1.0' && typeof v.id === 'string' && typeof v.type === 'string' && 'data' in v;
}
