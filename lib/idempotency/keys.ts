/**
 * The one rule for the idempotency key of an event, used by every node and module that needs one
 * (the event node stamping `idempotencykey`, the guard's default key, the targets' repeat keys):
 *
 * 1. the producer's explicit `idempotencykey` wins;
 * 2. else the catalogue key of the family: `<family>:<value>:<value>...` of the family's key fields
 *    (the source's own identity of the fact, e.g. site and MES confirmation id) read from the
 *    event in its current version, so an upcast older event and its current twin share a key;
 * 3. else the event is refused (INVALID_INPUT naming the JSON pointer of the missing identity).
 *
 * A key is never made from a time or an id PlantSync generated (the envelope's `id`, a `time`
 * defaulted to now): a resend would get a new key and post the fact twice. The same identity with
 * different business data is a conflict, detected by `businessHash`.
 */
import { familyOf, parseEventType } from '../canonical/catalogue';
import { isCanonicalEvent, type CanonicalEvent } from '../canonical/events';
import { getByPointer } from '../canonical/json-pointer';
import { contentHash } from '../canonical/stable-json';
import { toCurrentVersion } from '../canonical/upcasters';
import { PlantSyncError } from '../errors';

type KeyedEvent = Pick<CanonicalEvent, 'type' | 'data'> & Partial<CanonicalEvent>;

/** The producer's explicit key, when it gave one. */
function explicitKey(event: KeyedEvent): string | undefined {
  return typeof event.idempotencykey === 'string' && event.idempotencykey !== '' ? event.idempotencykey : undefined;
}

/**
 * The catalogue key of an event from its family's identity fields, ignoring any explicit key.
 * Throws INVALID_INPUT when the type is not in the catalogue or an identity field is missing.
 */
export function catalogueKeyOf(event: KeyedEvent): string {
  const family = familyOf(event.type);
  if (!family || family.key.length === 0) {
    throw new PlantSyncError('INVALID_INPUT', `no idempotency key: ${String(event.type)} has no catalogue key; give the event an idempotencykey`, [
      { pointer: '/idempotencykey', message: `is required for ${String(event.type)}, which the catalogue gives no identity fields`, keyword: 'required' },
    ]);
  }
  // An older version gets its identity through the upcasters (which refuse when it has none).
  const current = toCurrentVersion(event as CanonicalEvent);
  const parts = family.key.map((pointer) => {
    const value = getByPointer(current, pointer);
    if (value === undefined || value === null || value === '') throw missingIdentity(current.type, pointer);
    return escapeKeyPart(String(value));
  });
  return [(parseEventType(event.type) as { family: string }).family, ...parts].join(':');
}

/** The key of an event: the producer's explicit `idempotencykey`, else its catalogue key. */
export function idempotencyKeyOf(event: KeyedEvent): string {
  return explicitKey(event) ?? catalogueKeyOf(event);
}

/** The catalogue key when the event has its identity, else undefined (for building an event). */
export function tryCatalogueKeyOf(event: KeyedEvent): string | undefined {
  try {
    return catalogueKeyOf(event);
  } catch (err) {
    if (err instanceof PlantSyncError && err.code === 'INVALID_INPUT') return undefined;
    throw err;
  }
}

/** The guard's default key of a message payload: it must be a canonical event. */
export function keyOfPayload(payload: unknown): string {
  if (isCanonicalEvent(payload)) return idempotencyKeyOf(payload);
  throw new PlantSyncError('INVALID_INPUT', 'no idempotency key: msg.payload is not a canonical event; configure the key', [
    { pointer: '/idempotencykey', message: 'is required when the key is derived from the event', keyword: 'required' },
  ]);
}

/**
 * The hash a key's claim is compared by: the business data of an event in its current version
 * (never the envelope: its `id` and a defaulted `time` are PlantSync's and differ per send, and
 * a v1 event and its upcast twin are one fact), else the whole payload. An older event that cannot
 * be upcast (no identity; keyed explicitly by the flow) hashes its own type and data.
 */
export function businessHash(payload: unknown): string {
  if (!isCanonicalEvent(payload)) return contentHash(payload);
  try {
    return contentHash(toCurrentVersion(payload).data);
  } catch (err) {
    if (err instanceof PlantSyncError && err.code === 'INVALID_INPUT') return contentHash({ type: payload.type, data: payload.data });
    throw err;
  }
}

function missingIdentity(type: string, pointer: string): PlantSyncError {
  return new PlantSyncError('INVALID_INPUT', `no idempotency key: ${type} lacks ${pointer}, the source's identity of the fact`, [{
    pointer,
    message: 'is required: the idempotency key derives from the source\'s own identity, never from a time or id PlantSync generated',
    keyword: 'identity',
  }]);
}

/** Keeps `:` unambiguous as the key separator whatever the identifiers contain. */
function escapeKeyPart(part: string): string {
  return part.replace(/%/g, '%25').replace(/:/g, '%3A');
}
