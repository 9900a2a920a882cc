import * as assert from 'node:assert/strict';
import { PlantSyncError, SchemaRegistry, UPCASTERS, type CanonicalEvent } from '../../lib';
import { loadEventFixture } from '../helpers/event-fixtures';

describe('schema version lifecycle', () => {
  const registry = new SchemaRegistry();
  const v1 = loadEventFixture('mfg.operation.completed.v1').valid[0] as unknown as CanonicalEvent<Record<string, unknown>>;

  it('knows current, accepted and retired versions per family', () => {
    assert.deepEqual(registry.lifecycle('mfg.operation.completed'), { family: 'mfg.operation.completed', current: 2, accepted: [1, 2], retired: [] });
    assert.equal(registry.statusOf('mfg.operation.completed.v1'), 'accepted');
    assert.equal(registry.statusOf('mfg.operation.completed.v2'), 'current');
    assert.equal(registry.lifecycle('mfg.no.such'), undefined);
  });

  it('upcasts an accepted v1 operation.completed to v2, deriving confirmationType from final', () => {
    for (const final of [true, false]) {
      const input = { ...v1, data: { ...v1.data, final } };
      const before = JSON.stringify(input);
      const result = registry.validate(input);
      assert.ok(result.valid, JSON.stringify(!result.valid && result.errors));
      assert.equal(result.type, 'mfg.operation.completed.v2');
      assert.equal(result.upcastFrom, 'mfg.operation.completed.v1');
      const data = result.event.data as Record<string, unknown>;
      assert.equal(data.confirmationType, final ? 'Final' : 'Partial');
      assert.equal('final' in data, false);
      assert.equal(result.event.dataschema, 'https://schemas.plantsync.dev/data/mfg.operation.completed.v2.json');
      assert.equal(result.event.id, v1.id, 'identity and correlation survive the upcast');
      assert.equal(result.event.idempotencykey, v1.idempotencykey);
      assert.equal(JSON.stringify(input), before, 'the input event is not mutated');
    }
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
    assert.deepEqual(strict.lifecycle('mfg.operation.completed'), { family: 'mfg.operation.completed', current: 2, accepted: [2], retired: [1] });
    const result = strict.validate(v1);
    assert.equal(result.valid, false);
    if (result.valid) return;
    assert.equal(result.code, 'RETIRED_EVENT_VERSION');
    assert.deepEqual(result.errors, [{
      pointer: '/type',
      keyword: 'lifecycle',
      message: 'mfg.operation.completed.v1 is retired; current is mfg.operation.completed.v2 (accepted: v2)',
    }]);
  });

  it('rejects superseded versions per call for consumers that finished migrating', () => {
    const result = registry.validate(v1, { rejectSuperseded: true });
    assert.equal(result.valid, false);
    assert.ok(!result.valid && result.code === 'RETIRED_EVENT_VERSION');
  });

  it('rejects unknown versions and unknown types distinctly', () => {
    const v3 = registry.validate({ ...v1, type: 'mfg.operation.completed.v3' });
    assert.ok(!v3.valid && v3.code === 'UNKNOWN_EVENT_VERSION');
    assert.ok(!v3.valid && v3.errors[0].message.includes('current is mfg.operation.completed.v2'));
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
    assert.throws(() => new SchemaRegistry({ retire: ['mfg.operation.completed.v2'] }), (e: unknown) => e instanceof PlantSyncError && e.code === 'CONFIG_ERROR');
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
