import { randomUUID } from 'node:crypto';
import { tryCatalogueKeyOf } from '../idempotency/keys';
import { dataSchemaUri, familyOf } from './catalogue';
import type { CanonicalEvent, EventDataByType, EventType } from './events';
import { getByPointer } from './json-pointer';

export interface CreateEventOptions<K extends string, T> {
  type: K;
  /** Emitting system and site as a URI reference, e.g. /plants/P100/mes. */
  source: string;
  data: T;
  /** Defaults to the catalogue's subject field of `data` (order number, lot, equipment). */
  subject?: string;
  siteid?: string;
  /** When it happened at the source; defaults to now (never part of the idempotency key). */
  time?: string | Date;
  id?: string;
  /** The event that caused this one: its id becomes `causationid`, its correlation is kept. */
  cause?: Partial<CanonicalEvent> | null;
  /** Used when there is no causing event with a correlation id. */
  correlationid?: string;
  /**
   * Defaults to the catalogue key from the source's identity fields (lib/idempotency/keys.ts);
   * left out when `data` lacks them, so validation reports the missing identity.
   */
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
  const key = options.idempotencykey ?? tryCatalogueKeyOf(event);
  if (key !== undefined) event.idempotencykey = key;
  return event;
}

/** The catalogue's subject field of the event, as a string ("" when the type or field is unknown). */
export function defaultSubject(event: Pick<CanonicalEvent, 'type' | 'data'>): string {
  const family = familyOf(event.type);
  const value = family ? getByPointer(event, family.subject) : undefined;
  return value === undefined || value === null ? '' : String(value);
}
