import * as assert from 'node:assert/strict';
import { CATALOGUE, eventTypeName, getByPointer, SchemaRegistry } from '../../lib';
import { applyPatch, loadEventFixtures } from '../helpers/event-fixtures';

describe('event catalogue: every type against its valid and invalid example documents', () => {
  const registry = new SchemaRegistry();
  const fixtures = loadEventFixtures();

  it('has a schema and a fixture file for every accepted version of every family', () => {
    const expected = [...CATALOGUE.values()].flatMap((f) => f.accepted.map((v) => eventTypeName(f.family, v))).sort();
    assert.deepEqual(registry.types(), expected);
    assert.deepEqual(fixtures.map((f) => f.type), expected);
    assert.equal(expected.length, 23);
  });

  for (const fixture of fixtures) {
    describe(fixture.type, () => {
      it('has at least one valid and three invalid documents', () => {
        assert.ok(fixture.valid.length >= 1);
        assert.ok(fixture.invalid.length >= 3, `${fixture.invalid.length} invalid cases`);
      });

      fixture.valid.forEach((event, i) => {
        it(`accepts valid document #${i}`, () => {
          assert.equal(event.type, fixture.type);
          const result = registry.validate(event);
          assert.ok(result.valid, JSON.stringify(!result.valid && result.errors));
          const family = CATALOGUE.get(fixture.type.replace(/\.v\d+$/, ''));
          assert.equal(event.subject, String(getByPointer(event, family!.subject)), 'subject is the catalogue subject field');
        });
      });

      for (const c of fixture.invalid) {
        it(`rejects: ${c.description}`, () => {
          const doc = applyPatch(fixture.valid[c.base], c.patch);
          const result = registry.validate(doc);
          assert.equal(result.valid, false, 'document should be invalid');
          if (result.valid) return;
          for (const e of c.expect) {
            assert.ok(
              result.errors.some((p) => p.pointer === e.pointer && p.keyword === e.keyword),
              `expected ${e.keyword} at ${e.pointer}, got ${JSON.stringify(result.errors)}`,
            );
          }
          for (const p of result.errors) {
            assert.equal(typeof p.message, 'string');
            assert.ok(p.pointer === '' || p.pointer.startsWith('/'), `pointer ${p.pointer}`);
          }
        });
      }
    });
  }
});
