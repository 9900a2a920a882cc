import { PlantSyncError } from '../errors';
import { dataSchemaUri, eventTypeName } from './catalogue';
import type { CanonicalEvent, OperationCompletedV1Data, OperationCompletedV2Data } from './events';
import { contentHash } from './stable-json';

/**
 * Turns an event of version N of a family into version N+1. An upcaster derives every field the
 * newer version requires from the older event alone, and never mutates its input; when the older
 * event cannot give a required field it throws a PlantSyncError naming the field's JSON pointer.
 */
export type Upcaster = (event: CanonicalEvent) => CanonicalEvent;

/** Re-types an event to the next version with new data; every other attribute is kept. */
function toNextVersion(event: CanonicalEvent, family: string, version: number, data: unknown): CanonicalEvent {
  const type = eventTypeName(family, version);
  return { ...event, type, dataschema: dataSchemaUri(type), data };
}

/**
 * operation.completed v1 -> v2: the boolean `final` became the required enumeration
 * `confirmationType` (Partial | Final), leaving room for further confirmation kinds.
 */
function operationCompletedV1toV2(event: CanonicalEvent): CanonicalEvent {
  const { final, ...rest } = event.data as OperationCompletedV1Data;
  const data: OperationCompletedV2Data = { ...rest, confirmationType: final ? 'Final' : 'Partial' };
  return toNextVersion(event, 'mfg.operation.completed', 2, data);
}

/**
 * The older version of a family without a natural key had no identity of the source's own; the
 * newer one requires it (the idempotency key derives from it). The only identity an older event
 * can carry is the producer's explicit `idempotencykey`; without one the event is refused, since
 * PlantSync never makes an identity from its id or time.
 */
function producerIdentity(event: CanonicalEvent, pointer: string, next: string): string {
  if (typeof event.idempotencykey === 'string' && event.idempotencykey !== '') return event.idempotencykey;
  throw new PlantSyncError('INVALID_INPUT', `${event.type} has no identity of its source: send ${next} with ${pointer}, or give the event an idempotencykey`, [{
    pointer,
    message: `is required from ${next} on (the source's own identity of the fact); an older event needs the producer's idempotencykey instead`,
    keyword: 'identity',
  }]);
}

/** The schemas' business identifier (common.json#/$defs/identifier). */
const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9_.:/#-]{0,63}$/;

/**
 * Adds the identity field the next version requires, taken from the producer's key: as it is
 * when it is a valid identifier, else a digest of it (still the producer's, and deterministic).
 */
function withIdentity(family: string, version: number, field: string): Upcaster {
  const next = eventTypeName(family, version);
  return (event) => {
    const key = producerIdentity(event, `/data/${field}`, next);
    const identity = IDENTIFIER.test(key) ? key : `key-${contentHash(key).slice(0, 40)}`;
    return toNextVersion(event, family, version, { [field]: identity, ...(event.data as object) });
  };
}

/**
 * equipment.state.changed v1 -> v2: `changedAt` is the source's time stamp. A v1 event keyed by
 * its producer (the only v1 that upcasts) stamped `time` itself, so that time is taken.
 */
function equipmentStateV1toV2(event: CanonicalEvent): CanonicalEvent {
  producerIdentity(event, '/data/changedAt', 'mfg.equipment.state.changed.v2');
  return toNextVersion(event, 'mfg.equipment.state.changed', 2, { changedAt: event.time, ...(event.data as object) });
}

/** Upcasters by the versioned type they read. */
export const UPCASTERS: ReadonlyMap<string, Upcaster> = new Map<string, Upcaster>([
  ['mfg.operation.completed.v1', operationCompletedV1toV2],
  ['mfg.operation.completed.v2', withIdentity('mfg.operation.completed', 3, 'confirmationId')],
  ['mfg.material.consumed.v1', withIdentity('mfg.material.consumed', 2, 'movementId')],
  ['mfg.material.returned.v1', withIdentity('mfg.material.returned', 2, 'movementId')],
  ['mfg.inventory.moved.v1', withIdentity('mfg.inventory.moved', 2, 'movementId')],
  ['mfg.equipment.state.changed.v1', equipmentStateV1toV2],
]);

/**
 * The event in its family's current version (a chain of upcasters; an event already current, or
 * of a type without upcasters, comes back as it is). Used wherever two versions of one business
 * fact must compare equal: idempotency keys and payload hashes. Throws the upcaster's
 * PlantSyncError when an older event lacks what the current version requires.
 */
export function toCurrentVersion(event: CanonicalEvent): CanonicalEvent {
  let current = event;
  for (let i = 0; i < 16; i++) {
    const up = UPCASTERS.get(current.type);
    if (!up) return current;
    current = up(current);
  }
  return current;
}
