import { dataSchemaUri, eventTypeName } from './catalogue';
import type { CanonicalEvent, OperationCompletedV1Data, OperationCompletedV2Data } from './events';

/**
 * Turns an event of version N of a family into version N+1. An upcaster derives every field the
 * newer version requires from the older event alone, and never mutates its input.
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

/** Upcasters by the versioned type they read. */
export const UPCASTERS: ReadonlyMap<string, Upcaster> = new Map<string, Upcaster>([
  ['mfg.operation.completed.v1', operationCompletedV1toV2],
]);

/**
 * The event in its family's current version (a chain of upcasters; an event already current, or
 * of a type without upcasters, comes back as it is). Used wherever two versions of one business
 * fact must compare equal: idempotency keys and payload hashes.
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
