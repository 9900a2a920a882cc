import * as assert from 'node:assert/strict';
import {
  businessHash, CATALOGUE, catalogueKeyOf, eventTypeName, getByPointer, idempotencyKeyOf, keyOfPayload, PlantSyncError, type CanonicalEvent,
} from '../../lib';
import { loadEventFixture } from '../helpers/event-fixtures';

const current = (family: string) => loadEventFixture(eventTypeName(family, CATALOGUE.get(family)!.current)).valid[0] as unknown as CanonicalEvent<Record<string, unknown>>;
const withoutKey = <T extends CanonicalEvent>(e: T): T => {
  const copy = structuredClone(e);
  delete copy.idempotencykey;
  return copy;
};

function refusal(fn: () => unknown): PlantSyncError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PlantSyncError) return e;
    throw e;
  }
  assert.fail('expected a PlantSyncError');
}

describe('idempotency keys: one rule for every event', () => {
  for (const info of CATALOGUE.values()) {
    it(`${info.family}: keyed by its identity fields, not by the envelope's id or time`, () => {
      const event = withoutKey(current(info.family));
      assert.ok(info.key.length > 0, 'every family names its identity');
      assert.ok(info.key.every((p) => p.startsWith('/data/')), `identity lives in the data: ${info.key.join(', ')}`);
      const key = catalogueKeyOf(event);
      assert.equal(key, [info.family, ...info.key.map((p) => String(getByPointer(event, p)).replace(/%/g, '%25').replace(/:/g, '%3A'))].join(':'));
      assert.equal(catalogueKeyOf({ ...event, id: 'another-delivery', time: '2031-01-01T00:00:00Z' }), key, 'a resend with a new id and time');
    });
  }

  it('ignores the data beyond the identity: a corrected quantity keeps its key (and is a conflict by its hash)', () => {
    const event = withoutKey(current('mfg.operation.completed'));
    const corrected = { ...event, data: { ...event.data, yield: { value: 479, uom: 'EA' } } };
    assert.equal(catalogueKeyOf(corrected), catalogueKeyOf(event));
    assert.notEqual(businessHash(corrected), businessHash(event));
  });

  it('the producer\'s explicit idempotencykey wins', () => {
    const event = current('mfg.material.consumed');
    assert.equal(idempotencyKeyOf({ ...event, idempotencykey: 'mes:posting:881' }), 'mes:posting:881');
    assert.equal(idempotencyKeyOf({ ...event, idempotencykey: '' }), catalogueKeyOf(event), 'an empty key is no key');
  });

  it('refuses an event without its identity with INVALID_INPUT at the field\'s pointer', () => {
    const event = withoutKey(current('mfg.operation.completed'));
    delete (event.data as Record<string, unknown>).confirmationId;
    const err = refusal(() => idempotencyKeyOf(event));
    assert.equal(err.code, 'INVALID_INPUT');
    assert.deepEqual(err.details.map((d) => [d.pointer, d.keyword]), [['/data/confirmationId', 'identity']]);
    assert.match(err.message, /mfg\.operation\.completed\.v3 lacks \/data\/confirmationId/);
    const moved = withoutKey(current('mfg.inventory.moved'));
    delete (moved.data as Record<string, unknown>).movementId;
    assert.equal(refusal(() => idempotencyKeyOf(moved)).details[0].pointer, '/data/movementId');
  });

  it('keys an older version by the identity its upcast gets from the producer, and refuses it without one', () => {
    const v2 = loadEventFixture('mfg.operation.completed.v2').valid[1] as unknown as CanonicalEvent;
    assert.equal(idempotencyKeyOf(v2), v2.idempotencykey);
    const err = refusal(() => idempotencyKeyOf(withoutKey(v2)));
    assert.equal(err.code, 'INVALID_INPUT');
    assert.equal(err.details[0].pointer, '/data/confirmationId');
    const machine = withoutKey(loadEventFixture('mfg.equipment.state.changed.v1').valid[0] as unknown as CanonicalEvent);
    assert.equal(refusal(() => idempotencyKeyOf(machine)).details[0].pointer, '/data/changedAt', 'a v1 state change is never keyed by its time');
  });

  it('refuses a type outside the catalogue unless the producer keyed it', () => {
    const odd = { ...withoutKey(current('mfg.operation.completed')), type: 'mfg.widget.painted.v1' };
    assert.equal(refusal(() => idempotencyKeyOf(odd)).details[0].pointer, '/idempotencykey');
    assert.equal(idempotencyKeyOf({ ...odd, idempotencykey: 'w-1' }), 'w-1');
  });

  it('the guard\'s default key needs a canonical event', () => {
    assert.equal(keyOfPayload(current('mfg.production.confirmed')), catalogueKeyOf(current('mfg.production.confirmed')));
    assert.equal(refusal(() => keyOfPayload({ orderId: '1' })).details[0].pointer, '/idempotencykey');
  });

  it('hashes the business data only: a new id, time or version of the same fact hashes the same', () => {
    const event = current('mfg.operation.completed');
    assert.equal(businessHash({ ...event, id: 'x', time: '2031-01-01T00:00:00Z', sequence: 99 }), businessHash(event));
    const v1 = loadEventFixture('mfg.operation.completed.v1').valid[0] as unknown as CanonicalEvent<Record<string, unknown>>;
    const v2 = loadEventFixture('mfg.operation.completed.v2').valid[0] as unknown as CanonicalEvent<Record<string, unknown>>;
    assert.equal(businessHash({ ...v1, idempotencykey: 'K' }), businessHash({ ...v2, idempotencykey: 'K' }), 'an upcast v1 and its v2 twin are one fact');
    // An older event a flow keys itself (no identity to upcast with) still hashes, by its own data.
    assert.match(businessHash(withoutKey(v2)), /^[0-9a-f]{64}$/);
    assert.notEqual(businessHash(withoutKey(v2)), businessHash(withoutKey({ ...v2, data: { ...v2.data, scrap: { value: 1, uom: 'KG' } } })));
    assert.equal(businessHash({ any: 'payload' }), businessHash({ any: 'payload' }));
  });
});
