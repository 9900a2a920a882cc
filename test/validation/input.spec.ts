import * as assert from 'node:assert/strict';
import { defaultRegistry, parseEventInput, summarise } from '../../lib';
import { loadEventFixture } from '../helpers/event-fixtures';

describe('validation input: parsing, size bounds and problem reports', () => {
  const released = loadEventFixture('mfg.productionorder.released.v1').valid[0];

  it('parses JSON strings and buffers, and passes objects through', () => {
    const text = JSON.stringify(released);
    for (const input of [text, Buffer.from(text)]) {
      const parsed = parseEventInput(input);
      assert.ok(parsed.ok);
      assert.deepEqual(parsed.ok && parsed.value, released);
    }
    const same = parseEventInput(released);
    assert.ok(same.ok && same.value === released);
  });

  it('refuses serialized input above the byte limit before parsing it', () => {
    const parsed = parseEventInput('x'.repeat(2000), 1000);
    assert.ok(!parsed.ok);
    assert.equal(!parsed.ok && parsed.code, 'PAYLOAD_TOO_LARGE');
    assert.deepEqual(!parsed.ok && parsed.errors[0].pointer, '');
  });

  it('reports malformed JSON with the parser message', () => {
    const parsed = parseEventInput('{"specversion": "1.0",');
    assert.ok(!parsed.ok && parsed.code === 'INVALID_JSON');
    assert.ok(!parsed.ok && /not valid JSON/.test(parsed.message));
  });

  it('bounds object documents through the schemas: too many operations are rejected', () => {
    const data = released.data as { operations: unknown[] };
    const huge = { ...released, data: { ...data, operations: Array.from({ length: 101 }, () => data.operations[0]) } };
    const result = defaultRegistry().validate(huge);
    assert.ok(!result.valid && result.errors.some((e) => e.pointer === '/data/operations' && e.keyword === 'maxItems'));
  });

  it('rejects non-objects as NOT_AN_EVENT', () => {
    for (const input of [null, 42, 'text', [released]]) {
      const result = defaultRegistry().validate(input);
      assert.ok(!result.valid && result.code === 'NOT_AN_EVENT');
    }
  });

  it('lists every problem, each with a pointer, and summarises them in one line', () => {
    const result = defaultRegistry().validate({ ...released, id: '', time: 'now', data: { ...(released.data as object), orderId: undefined, colour: 'red' } });
    assert.ok(!result.valid);
    if (result.valid) return;
    const pointers = [...new Set(result.errors.map((e) => e.pointer))].sort();
    assert.deepEqual(pointers, ['/data/colour', '/data/orderId', '/id', '/time']);
    assert.match(result.message, /^invalid mfg\.productionorder\.released\.v1 event: 4 problems: /);
    assert.match(summarise(result.errors, 1), /; and 3 more$/);
  });
});
