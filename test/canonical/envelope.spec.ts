import * as assert from 'node:assert/strict';
import { createEvent, dataSchemaUri, defaultRegistry, deriveIdempotencyKey, isCanonicalEvent, stableStringify } from '../../lib';
import type { OperationCompletedV2Data, ProductionOrderCancelledData } from '../../lib';

const completed: OperationCompletedV2Data = {
  orderId: '1000123',
  operationId: '0010',
  workCenter: 'WC-ASSY1',
  site: 'P100',
  actualStart: '2026-11-26T06:00:00Z',
  actualEnd: '2026-11-26T07:30:00Z',
  yield: { value: 95, uom: 'EA' },
  scrap: { value: 5, uom: 'EA' },
  confirmationType: 'Partial',
};

describe('canonical envelope: createEvent', () => {
  it('fills the CloudEvents attributes and PlantSync extensions, and the result validates', () => {
    const event = createEvent({ type: 'mfg.operation.completed.v2', source: '/plants/P100/mes', siteid: 'P100', data: completed });
    assert.equal(event.specversion, '1.0');
    assert.match(event.id, /^[0-9a-f-]{36}$/);
    assert.equal(event.subject, '1000123', 'subject defaults to the order number');
    assert.equal(event.dataschema, dataSchemaUri('mfg.operation.completed.v2'));
    assert.ok(!Number.isNaN(Date.parse(event.time)));
    assert.match(event.correlationid!, /^[0-9a-f-]{36}$/, 'a new correlation id without a cause');
    assert.equal(event.causationid, undefined);
    const result = defaultRegistry().validate(event);
    assert.ok(result.valid, JSON.stringify(!result.valid && result.errors));
  });

  it('propagates correlation from the causing event and sets causation to its id', () => {
    const cause = createEvent({ type: 'mfg.operation.completed.v2', source: '/plants/P100/mes', data: completed, correlationid: 'order-1000123' });
    const next = createEvent({
      type: 'mfg.production.confirmed.v1',
      source: '/plants/P100/erp',
      cause,
      correlationid: 'ignored-when-a-cause-has-one',
      data: { orderId: '1000123', site: 'P100', material: 'FG-4711', yield: { value: 95, uom: 'EA' }, scrap: { value: 5, uom: 'EA' }, erpConfirmation: '00004711', final: false },
    });
    assert.equal(next.correlationid, 'order-1000123');
    assert.equal(next.causationid, cause.id);
  });

  it('starts a correlation at a causing event that has none (its id), else takes the option', () => {
    const cause = { id: 'evt-1', specversion: '1.0' as const };
    const a = createEvent({ type: 'mfg.operation.completed.v2', source: '/s', cause, data: completed });
    assert.equal(a.correlationid, 'evt-1');
    const b = createEvent({ type: 'mfg.operation.completed.v2', source: '/s', correlationid: 'lot-7', data: completed });
    assert.equal(b.correlationid, 'lot-7');
  });

  it('derives a deterministic key from the catalogue key fields', () => {
    const data: ProductionOrderCancelledData = { orderId: '1000123', site: 'P100', reason: { code: 'PLAN' } };
    const a = createEvent({ type: 'mfg.productionorder.cancelled.v1', source: '/s', data });
    const b = createEvent({ type: 'mfg.productionorder.cancelled.v1', source: '/s', data });
    assert.notEqual(a.id, b.id);
    assert.equal(a.idempotencykey, 'mfg.productionorder.cancelled:1000123');
    assert.equal(a.idempotencykey, b.idempotencykey);
  });

  it('hashes data and source time for facts without a natural key: key order does not matter, content and time do', () => {
    const reordered = JSON.parse(stableStringify(completed)) as OperationCompletedV2Data;
    const time = '2026-11-26T07:30:05Z';
    const a = createEvent({ type: 'mfg.operation.completed.v2', source: '/s', time, data: completed });
    const b = createEvent({ type: 'mfg.operation.completed.v2', source: '/s', time, data: reordered });
    const c = createEvent({ type: 'mfg.operation.completed.v2', source: '/s', time, data: { ...completed, yield: { value: 96, uom: 'EA' } } });
    const later = createEvent({ type: 'mfg.operation.completed.v2', source: '/s', time: '2026-11-26T14:00:00Z', data: completed });
    assert.equal(a.idempotencykey, b.idempotencykey);
    assert.notEqual(a.idempotencykey, c.idempotencykey);
    assert.notEqual(a.idempotencykey, later.idempotencykey, 'the same quantity confirmed again later is another fact');
    assert.match(a.idempotencykey!, /^mfg\.operation\.completed:1000123:[0-9a-f]{32}$/);
    assert.equal(deriveIdempotencyKey(a), a.idempotencykey);
  });

  it('gives a v1 event and its v2 twin the same key', () => {
    const { confirmationType, ...rest } = completed;
    const time = '2026-11-26T07:30:05Z';
    const v1 = createEvent({ type: 'mfg.operation.completed.v1', source: '/s', time, data: { ...rest, final: confirmationType === 'Final' } });
    const v2 = createEvent({ type: 'mfg.operation.completed.v2', source: '/s', time, data: completed });
    assert.equal(v1.idempotencykey, v2.idempotencykey);
  });

  it('keeps explicit subject, key, time, sequence and extension attributes', () => {
    const e = createEvent({
      type: 'mfg.operation.completed.v2', source: '/s', data: completed, subject: 'S', idempotencykey: 'K',
      time: new Date('2026-11-26T07:30:00Z'), sequence: 4, extensions: { traceparent: '00-abc-def-01' },
    });
    assert.equal(e.subject, 'S');
    assert.equal(e.idempotencykey, 'K');
    assert.equal(e.time, '2026-11-26T07:30:00.000Z');
    assert.equal(e.sequence, 4);
    assert.equal(e.traceparent, '00-abc-def-01');
  });

  it('recognises canonical events by shape', () => {
    assert.equal(isCanonicalEvent(createEvent({ type: 'mfg.operation.completed.v2', source: '/s', data: completed })), true);
    assert.equal(isCanonicalEvent({ id: 'x', type: 'y' }), false);
    assert.equal(isCanonicalEvent(null), false);
    assert.equal(isCanonicalEvent('{"specversion":"1.0"}'), false);
  });
});
