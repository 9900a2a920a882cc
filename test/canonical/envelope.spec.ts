import * as assert from 'node:assert/strict';
import { createEvent, dataSchemaUri, defaultRegistry, idempotencyKeyOf, isCanonicalEvent } from '../../lib';
import type { OperationCompletedV3Data, ProductionOrderCancelledData } from '../../lib';

const completed: OperationCompletedV3Data = {
  confirmationId: 'CNF-0004711',
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
    const event = createEvent({ type: 'mfg.operation.completed.v3', source: '/plants/P100/mes', siteid: 'P100', data: completed });
    assert.equal(event.specversion, '1.0');
    assert.match(event.id, /^[0-9a-f-]{36}$/);
    assert.equal(event.subject, '1000123', 'subject defaults to the order number');
    assert.equal(event.dataschema, dataSchemaUri('mfg.operation.completed.v3'));
    assert.ok(!Number.isNaN(Date.parse(event.time)));
    assert.match(event.correlationid!, /^[0-9a-f-]{36}$/, 'a new correlation id without a cause');
    assert.equal(event.causationid, undefined);
    const result = defaultRegistry().validate(event);
    assert.ok(result.valid, JSON.stringify(!result.valid && result.errors));
  });

  it('propagates correlation from the causing event and sets causation to its id', () => {
    const cause = createEvent({ type: 'mfg.operation.completed.v3', source: '/plants/P100/mes', data: completed, correlationid: 'order-1000123' });
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
    const a = createEvent({ type: 'mfg.operation.completed.v3', source: '/s', cause, data: completed });
    assert.equal(a.correlationid, 'evt-1');
    const b = createEvent({ type: 'mfg.operation.completed.v3', source: '/s', correlationid: 'lot-7', data: completed });
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

  it('keys a fact by its source identity, never by the time PlantSync defaults to now', () => {
    const a = createEvent({ type: 'mfg.operation.completed.v3', source: '/s', data: completed });
    const later = createEvent({ type: 'mfg.operation.completed.v3', source: '/s', time: '2030-01-01T00:00:00Z', data: completed });
    assert.equal(a.idempotencykey, 'mfg.operation.completed:P100:CNF-0004711');
    assert.equal(later.idempotencykey, a.idempotencykey, 'a resend later is the same fact');
    assert.equal(idempotencyKeyOf({ ...a, idempotencykey: undefined }), a.idempotencykey);
  });

  it('leaves the key out when the data lacks its identity, so validation names the missing field', () => {
    const { confirmationId, ...anonymous } = completed;
    assert.ok(confirmationId);
    const e = createEvent({ type: 'mfg.operation.completed.v3', source: '/s', data: anonymous });
    assert.equal('idempotencykey' in e, false);
    const result = defaultRegistry().validate(e);
    assert.ok(!result.valid && result.errors.some((p) => p.pointer === '/data/confirmationId' && p.keyword === 'required'), JSON.stringify(result));
  });

  it('keeps explicit subject, key, time, sequence and extension attributes', () => {
    const e = createEvent({
      type: 'mfg.operation.completed.v3', source: '/s', data: completed, subject: 'S', idempotencykey: 'K',
      time: new Date('2026-11-26T07:30:00Z'), sequence: 4, extensions: { traceparent: '00-abc-def-01' },
    });
    assert.equal(e.subject, 'S');
    assert.equal(e.idempotencykey, 'K');
    assert.equal(e.time, '2026-11-26T07:30:00.000Z');
    assert.equal(e.sequence, 4);
    assert.equal(e.traceparent, '00-abc-def-01');
  });

  it('recognises canonical events by shape', () => {
    assert.equal(isCanonicalEvent(createEvent({ type: 'mfg.operation.completed.v3', source: '/s', data: completed })), true);
    assert.equal(isCanonicalEvent({ id: 'x', type: 'y' }), false);
    assert.equal(isCanonicalEvent(null), false);
    assert.equal(isCanonicalEvent('{"specversion":"1.0"}'), false);
  });
});
