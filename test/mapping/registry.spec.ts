import * as assert from 'node:assert/strict';
import { createEvent, PlantSyncError } from '../../lib';
import { createProfile, externalKeyFor, operationFor, PROFILES, repeatKeyFor, type WriteOperation } from '../../lib/mapping';
import { confirmation, consumption, event, mappingError } from './fixtures';

describe('mapping: registry and repeat keys', () => {
  it('picks the write operation for each canonical event type', () => {
    const expected: Record<string, Record<string, string | undefined>> = {
      'sap-s4hana': {
        'mfg.productionorder.released.v1': 'releaseProductionOrder',
        'mfg.operation.completed.v3': 'confirmOperation',
        'mfg.operation.completed.v2': 'confirmOperation',
        'mfg.operation.completed.v1': 'confirmOperation',
        'mfg.material.consumed.v2': 'goodsMovement',
        'mfg.material.consumed.v1': 'goodsMovement',
        'mfg.material.returned.v2': 'goodsMovement',
        'mfg.inventory.moved.v2': 'goodsMovement',
        'mfg.inventory.moved.v1': 'goodsMovement',
        'mfg.production.confirmed.v1': 'goodsMovement',
        'mfg.quality.disposition.changed.v1': 'usageDecision',
      },
      'generic-rest': {
        'mfg.productionorder.released.v1': 'dispatchOrder',
        'mfg.productionorder.revised.v1': 'reviseOrder',
        'mfg.operation.completed.v3': 'confirmOperation',
        'mfg.operation.completed.v2': 'confirmOperation',
        'mfg.operation.completed.v1': 'confirmOperation',
        'mfg.material.consumed.v2': 'consumeMaterial',
        'mfg.material.consumed.v1': 'consumeMaterial',
        'mfg.inventory.moved.v2': 'moveInventory',
        'mfg.inventory.moved.v1': 'moveInventory',
        'mfg.quality.disposition.changed.v1': 'changeDisposition',
      },
    };
    for (const [profile, types] of Object.entries(expected)) {
      for (const [type, op] of Object.entries(types)) assert.equal(operationFor(profile, type).name, op, `${profile} ${type}`);
    }
    assert.deepEqual(PROFILES['generic-rest'].writableEventTypes().sort(), Object.keys(expected['generic-rest']).filter((t) => !/(completed\.v[12]|consumed\.v1|moved\.v1)$/.test(t)).sort());
  });

  it('an event type the profile does not write is a MappingError on /type; an unknown profile a CONFIG_ERROR', async () => {
    const err = await mappingError(() => operationFor('generic-rest', 'mfg.material.returned.v2'));
    assert.equal(err.field, '/type');
    assert.equal(err.value, 'mfg.material.returned.v2');
    assert.match(err.message, /generic-rest has no write operation for 'mfg\.material\.returned\.v2' \(writes /);
    assert.throws(() => operationFor('oracle-ebs', 'mfg.material.consumed.v1'), (e: unknown) => e instanceof PlantSyncError && e.code === 'CONFIG_ERROR');
    assert.equal(operationFor(createProfile(PROFILES['sap-s4hana']), 'mfg.material.consumed.v1').name, 'goodsMovement', 'takes a compiled profile too');
  });

  it('maps an accepted older version (operation.completed.v1) by upcasting it, keyed by its producer', async () => {
    const { confirmationType: _, confirmationId, ...v1 } = confirmation;
    const e = createEvent({ type: 'mfg.operation.completed.v1', source: '/plants/P100/mes', siteid: 'P100', data: { ...v1, final: true }, idempotencykey: confirmationId });
    const request = await operationFor('sap-s4hana', e.type).toVendor(e);
    assert.equal((request.body as Record<string, unknown>).FinalConfirmationType, 'X');
    const v3 = event('mfg.operation.completed.v3', confirmation, { idempotencykey: e.idempotencykey });
    assert.equal((await operationFor('sap-s4hana', v3.type).toVendor(v3)).repeatKey, request.repeatKey, 'the same business fact, the same key');
    // Without the producer's key an older event has no identity: refused, never keyed by PlantSync's id or time.
    const anonymous = createEvent({ type: 'mfg.operation.completed.v1', source: '/plants/P100/mes', siteid: 'P100', data: { ...v1, final: true } });
    await assert.rejects(operationFor('sap-s4hana', anonymous.type).toVendor(anonymous), (err: unknown) =>
      err instanceof PlantSyncError && err.code === 'INVALID_INPUT' && err.details[0].pointer === '/data/confirmationId');
  });

  it('repeat keys are deterministic per idempotency key, distinct otherwise, within the targets\' limits', async () => {
    const sap = operationFor('sap-s4hana', 'mfg.operation.completed.v3');
    const a1 = await sap.toVendor(event('mfg.operation.completed.v3', confirmation, { idempotencykey: 'mfg.operation.completed:1000123:a' }));
    const a2 = await sap.toVendor(event('mfg.operation.completed.v3', { ...confirmation }, { idempotencykey: 'mfg.operation.completed:1000123:a' }));
    const b = await sap.toVendor(event('mfg.operation.completed.v3', confirmation, { idempotencykey: 'mfg.operation.completed:1000123:b' }));
    const esc = (r: typeof a1) => (r.body as Record<string, string>).ExternalSystemConfirmation;
    assert.equal(a1.repeatKey, a2.repeatKey, 'a re-sent event (new id, same key) repeats');
    assert.equal(esc(a1), esc(a2));
    assert.notEqual(a1.repeatKey, b.repeatKey);
    assert.notEqual(esc(a1), esc(b));
    assert.ok(esc(a1).length <= 32, 'SAP ExternalSystemConfirmation has 32 characters');
    assert.match(a1.repeatKey, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'UUID-shaped, within 64');
    assert.equal(esc(a1), a1.repeatKey.replace(/-/g, '').toUpperCase(), 'the two SAP keys can be matched');
    assert.equal(repeatKeyFor('confirmOperation', 'k'), repeatKeyFor('confirmOperation', 'k'));
    assert.notEqual(repeatKeyFor('confirmOperation', 'k'), repeatKeyFor('goodsMovement', 'k'), 'two calls for one event do not share a key');
    assert.equal(externalKeyFor('confirmOperation', 'k').length, 32);
  });

  it('derives the key from the source identity when the event has no idempotencykey, and generic writes carry Idempotency-Key', async () => {
    const op: WriteOperation = operationFor('generic-rest', 'mfg.material.consumed.v2');
    const e1 = event('mfg.material.consumed.v2', consumption);
    const e2 = event('mfg.material.consumed.v2', consumption, { time: '2026-11-26T18:00:00Z' });
    delete e1.idempotencykey;
    delete e2.idempotencykey;
    const [r1, r2] = [await op.toVendor(e1), await op.toVendor(e2)];
    assert.equal(r1.repeatHeader, 'Idempotency-Key');
    assert.equal(r1.repeatKey, r2.repeatKey, 'a resend at another time repeats');
    const r3 = await op.toVendor({ ...e1, data: { ...consumption, quantity: { value: 13, uom: 'KG' } } });
    assert.equal(r3.repeatKey, r1.repeatKey, 'a corrected quantity is the same movement: the target sees a repeat, the guard a conflict');
    const r4 = await op.toVendor({ ...e1, data: { ...consumption, movementId: 'MV-0000999' } });
    assert.notEqual(r4.repeatKey, r1.repeatKey, 'another movement, another key');
  });
});
