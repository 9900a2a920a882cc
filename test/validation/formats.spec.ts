import * as assert from 'node:assert/strict';
import { createEvent, defaultRegistry } from '../../lib';
import { isRfc3339DateTime } from '../../lib/validation/formats';

describe('strict RFC 3339 timestamps and unambiguous keys', () => {
  it('accepts RFC 3339 date-times with Z or a colon offset, fractions and leap seconds', () => {
    for (const ok of ['2026-11-26T07:30:00Z', '2026-11-26T07:30:00.123+01:00', '2024-02-29T23:59:60-05:30', '2026-01-01T00:00:00.123456789Z']) {
      assert.equal(isRfc3339DateTime(ok), true, ok);
    }
  });

  it('rejects what ajv-formats lets through and impossible dates', () => {
    for (const bad of ['2026-11-26 07:30:00Z', '2026-11-26T07:30:00+0100', '2026-11-26T07:30:00+01', '2026-11-26T07:30:00',
      '2025-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2026-13-01T00:00:00Z', '2026-11-26T24:00:00Z', '2026-11-26T07:30:00+24:00', '26-11-2026']) {
      assert.equal(isRfc3339DateTime(bad), false, bad);
    }
  });

  it('applies the strict format to event timestamps', () => {
    const event = createEvent({
      type: 'mfg.equipment.state.changed.v1', source: '/plants/P100/opcua', siteid: 'P100', time: '2026-11-26T07:30:00+0100',
      data: { equipmentId: 'PRESS-01', level: 'WorkUnit', site: 'P100', state: 'Down' },
    });
    const result = defaultRegistry().validate(event);
    assert.ok(!result.valid && result.errors.some((e) => e.pointer === '/time' && e.keyword === 'format'));
  });

  it('escapes the key separator inside key parts', () => {
    const a = createEvent({ type: 'mfg.productionorder.cancelled.v1', source: '/s', siteid: 'P100', data: { orderId: '1000:126', site: 'P100', reason: { code: 'X' } } });
    assert.equal(a.idempotencykey, 'mfg.productionorder.cancelled:1000%3A126');
  });
});
