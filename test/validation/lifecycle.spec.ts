import * as assert from 'node:assert/strict';
import { PlantSyncError, SchemaRegistry, UPCASTERS, type CanonicalEvent } from '../../lib';
import { loadEventFixture } from '../helpers/event-fixtures';

describe('schema version lifecycle', () => {
  const registry = new SchemaRegistry();
  const v1 = loadEventFixture('mfg.operation.completed.v1').valid[0] as unknown as CanonicalEvent<Record<string, unknown>>;

  it('knows current, accepted and retired versions per family', () => {
    assert.deepEqual(registry.lifecycle('mfg.operation.completed'), { family: 'mfg.operation.completed', current: 3, accepted: [1, 2, 3], retired: [] });
    assert.equal(registry.statusOf('mfg.operation.completed.v1'), 'accepted');
    assert.equal(registry.statusOf('mfg.operation.completed.v2'), 'accepted');
    assert.equal(registry.statusOf('mfg.operation.completed.v3'), 'current');
    assert.equal(registry.lifecycle('mfg.no.such'), undefined);
  });

  it('upcasts an accepted v1 operation.completed to v3, deriving confirmationType from final and the identity from the producer key', () => {
    for (const final of [true, false]) {
      const input = { ...v1, data: { ...v1.data, final } };
      const before = JSON.stringify(input);
      const result = registry.validate(input);
      assert.ok(result.valid, JSON.stringify(!result.valid && result.errors));
      assert.equal(result.type, 'mfg.operation.completed.v3');
      assert.equal(result.upcastFrom, 'mfg.operation.completed.v1');
      const data = result.event.data as Record<string, unknown>;
      assert.equal(data.confirmationType, final ? 'Final' : 'Partial');
      assert.equal('final' in data, false);
      // The fixture's key is longer than an identifier: its digest stands in, the same every time.
      assert.match(String(data.confirmationId), /^key-[0-9a-f]{40}$/);
      assert.equal(result.event.dataschema, 'https://schemas.plantsync.dev/data/mfg.operation.completed.v3.json');
      assert.equal(result.event.id, v1.id, 'identity and correlation survive the upcast');
      assert.equal(result.event.idempotencykey, v1.idempotencykey);
      assert.equal(JSON.stringify(input), before, 'the input event is not mutated');
    }
  });

  it('takes an older event\'s identity from the producer\'s idempotencykey, and refuses one without it (never a time or id PlantSync made)', () => {
    const v2 = loadEventFixture('mfg.operation.completed.v2').valid[1] as unknown as CanonicalEvent<Record<string, unknown>>;
    const keyed = registry.validate({ ...v2, idempotencykey: 'MES-CNF-88' });
    assert.ok(keyed.valid, JSON.stringify(!keyed.valid && keyed.errors));
    assert.equal((keyed.event.data as Record<string, unknown>).confirmationId, 'MES-CNF-88');
    assert.equal(keyed.event.idempotencykey, 'MES-CNF-88');

    const { idempotencykey, ...unkeyed } = v2;
    assert.ok(idempotencykey);
    const refused = registry.validate(unkeyed);
    assert.equal(refused.valid, false);
    if (refused.valid) return;
    assert.equal(refused.code, 'INVALID_INPUT');
    assert.deepEqual(refused.errors.map((e) => [e.pointer, e.keyword]), [['/data/confirmationId', 'identity']]);
    assert.match(refused.message, /idempotencykey/);

    const machine = loadEventFixture('mfg.equipment.state.changed.v1').valid[1] as unknown as CanonicalEvent<Record<string, unknown>>;
    const up = registry.validate(machine);
    assert.ok(up.valid && (up.event.data as Record<string, unknown>).changedAt === machine.time, 'a producer-keyed v1 state change keeps its own time');
    const { idempotencykey: k, ...anonymousMachine } = machine;
    assert.ok(k);
    const noKey = registry.validate(anonymousMachine);
    assert.ok(!noKey.valid && noKey.errors[0].pointer === '/data/changedAt');
  });

  it('can validate an old version without upcasting it', () => {
    const result = registry.validate(v1, { upcast: false });
    assert.ok(result.valid);
    assert.equal(result.type, 'mfg.operation.completed.v1');
    assert.equal(result.upcastFrom, undefined);
  });

  it('still validates v1 against the v1 schema before upcasting', () => {
    const result = registry.validate({ ...v1, data: { ...v1.data, final: 'yes' } });
    assert.equal(result.valid, false);
    assert.ok(!result.valid && result.errors.some((e) => e.pointer === '/data/final' && e.keyword === 'type'));
  });

  it('rejects a retired version with a clear error naming the current one', () => {
    const strict = new SchemaRegistry({ retire: ['mfg.operation.completed.v1'] });
    assert.deepEqual(strict.lifecycle('mfg.operation.completed'), { family: 'mfg.operation.completed', current: 3, accepted: [2, 3], retired: [1] });
    const result = strict.validate(v1);
    assert.equal(result.valid, false);
    if (result.valid) return;
    assert.equal(result.code, 'RETIRED_EVENT_VERSION');
    assert.deepEqual(result.errors, [{
      pointer: '/type',
      keyword: 'lifecycle',
      message: 'mfg.operation.completed.v1 is retired; current is mfg.operation.completed.v3 (accepted: v2, v3)',
    }]);
  });

  it('rejects superseded versions per call for consumers that finished migrating', () => {
    const result = registry.validate(v1, { rejectSuperseded: true });
    assert.equal(result.valid, false);
    assert.ok(!result.valid && result.code === 'RETIRED_EVENT_VERSION');
  });

  it('rejects unknown versions and unknown types distinctly', () => {
    const v9 = registry.validate({ ...v1, type: 'mfg.operation.completed.v9' });
    assert.ok(!v9.valid && v9.code === 'UNKNOWN_EVENT_VERSION');
    assert.ok(!v9.valid && v9.errors[0].message.includes('current is mfg.operation.completed.v3'));
    const unknown = registry.validate({ ...v1, type: 'mfg.widget.painted.v1' });
    assert.ok(!unknown.valid && unknown.code === 'UNKNOWN_EVENT_TYPE');
    assert.ok(!unknown.valid && unknown.errors[0].pointer === '/type');
    const malformed = registry.validate({ ...v1, type: 'OperationCompleted' });
    assert.ok(!malformed.valid && malformed.code === 'SCHEMA_INVALID');
    assert.ok(!malformed.valid && malformed.errors.some((e) => e.pointer === '/type' && e.keyword === 'pattern'));
  });

  it('reports envelope problems of an unknown type too', () => {
    const { id, ...noId } = v1;
    assert.ok(id);
    const result = registry.validate({ ...noId, type: 'mfg.widget.painted.v1' });
    assert.ok(!result.valid && result.errors.some((e) => e.pointer === '/id' && e.keyword === 'required'));
  });

  it('refuses a lifecycle that would retire a current version or an unknown type', () => {
    assert.throws(() => new SchemaRegistry({ retire: ['mfg.operation.completed.v3'] }), (e: unknown) => e instanceof PlantSyncError && e.code === 'CONFIG_ERROR');
    assert.throws(() => new SchemaRegistry({ retire: ['mfg.operation.completed.v9'] }), /no such event type/);
  });

  it('checks the upcast result, so an upcaster bug cannot pass an invalid event', () => {
    const upcasters = UPCASTERS as Map<string, (e: CanonicalEvent) => CanonicalEvent>;
    const real = upcasters.get('mfg.operation.completed.v1')!;
    upcasters.set('mfg.operation.completed.v1', (e) => ({ ...real(e), data: { ...(real(e).data as object), confirmationType: 'Maybe' } }));
    try {
      const result = new SchemaRegistry().validate(v1);
      assert.ok(!result.valid && result.code === 'UPCAST_FAILED');
      assert.ok(!result.valid && result.errors.some((e) => e.pointer === '/data/confirmationType'));
    } finally {
      upcasters.set('mfg.operation.completed.v1', real);
    }
  });
});
