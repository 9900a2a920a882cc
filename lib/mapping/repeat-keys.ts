/**
 * The targets' own repeatability keys, derived from the event's idempotency key so that a retry,
 * a replay or a second PlantSync instance sends the same key for the same business fact. The
 * operation name is part of the digest: two different calls made for one event must not share a key.
 */
import { createHash } from 'node:crypto';

function digest(operation: string, idempotencyKey: string): Buffer {
  return createHash('sha256').update(`plantsync\n${operation}\n${idempotencyKey}`).digest();
}

/**
 * A UUID-shaped key (36 characters, version 8 "custom" bits) for Repeatability-Request-ID and
 * Idempotency-Key: within SAP's 64-character limit and accepted wherever a UUID is expected.
 */
export function repeatKeyFor(operation: string, idempotencyKey: string): string {
  const b = digest(operation, idempotencyKey).subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x80;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * An external key for a document field of `length` characters (at most 32): the repeat key without
 * its hyphens, in upper case, cut to the field's length, so the document and the request can be
 * matched in SAP and in the logs. SAP ExternalSystemConfirmation takes all 32; a material
 * document's MaterialDocumentHeaderText takes 25 (94 bits of the digest: the version and variant
 * bits of the UUID form are fixed).
 */
export function externalKeyFor(operation: string, idempotencyKey: string, length = 32): string {
  if (!Number.isInteger(length) || length < 16 || length > 32) throw new RangeError(`an external key has 16 to 32 characters, not ${length}`);
  return repeatKeyFor(operation, idempotencyKey).replace(/-/g, '').toUpperCase().slice(0, length);
}
