import * as assert from 'node:assert/strict';
import {
  deliveryActionAfterClaim, deliveryHandleOf, settleActionForFailure, SettlementRegistry, type DeliveryHandle, type SettleAction, type SettleTimers,
} from '../../lib/delivery/settlement';

/** Hand-driven timers: a settle timeout fires only when the test advances the clock past it. */
function fakeTimers() {
  let now = 0;
  let next = 0;
  const due = new Map<number, { at: number; fn: () => void }>();
  const timers: SettleTimers = {
    set: (fn, ms) => {
      due.set(++next, { at: now + ms, fn });
      return next;
    },
    clear: (t) => void due.delete(t as number),
  };
  const advance = (ms: number) => {
    now += ms;
    for (const [id, t] of [...due]) {
      if (t.at <= now) {
        due.delete(id);
        t.fn();
      }
    }
  };
  return { timers, advance, pending: () => due.size };
}

/** A transport delivery that records how it was settled. */
function transport() {
  const settled: Array<{ action: SettleAction; error?: unknown }> = [];
  let release: () => void = () => undefined;
  const slow = new Promise<void>((r) => (release = r));
  return {
    settled,
    fast: async (action: SettleAction, error?: unknown) => void settled.push({ action, error }),
    /** Settles only when `release()` is called, as a confirmed publish to a retry queue does. */
    slow: async (action: SettleAction, error?: unknown) => {
      settled.push({ action, error });
      await slow;
    },
    release: () => release(),
  };
}

/** Resolves once `cond` holds (checked on each turn of the event loop). */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(cond(), 'condition not reached');
}

describe('delivery: settlement of consumed deliveries', () => {
  let clock: ReturnType<typeof fakeTimers>;
  let registry: SettlementRegistry;
  beforeEach(() => {
    clock = fakeTimers();
    registry = new SettlementRegistry();
  });
  const open = (consumer = 'con', settleTimeoutMs = 1000) => registry.open(consumer, { settleTimeoutMs, timers: clock.timers, timeoutHint: 'wire a settle node' });

  it('a handle is plain data that survives a clone, and settles the delivery it names', async () => {
    const ledger = open();
    const t = transport();
    const handle = ledger.track(t.fast);
    assert.deepEqual(Object.keys(handle).sort(), ['consumer', 'id']);
    assert.equal(handle.consumer, 'con');
    const clone = structuredClone(handle);
    assert.deepEqual(deliveryHandleOf(JSON.parse(JSON.stringify(handle))), handle);
    assert.equal(ledger.size, 1);
    assert.equal(await registry.ack(clone), 'acked');
    assert.equal(clone.settled, 'acked');
    assert.deepEqual(t.settled, [{ action: 'ack', error: undefined }]);
    assert.equal(ledger.size, 0);
    assert.equal(clock.pending(), 0, 'the settle timeout is cleared');
  });

  it('deliveryHandleOf accepts only {consumer, id} strings', () => {
    assert.deepEqual(deliveryHandleOf({ consumer: 'c', id: '1' }), { consumer: 'c', id: '1' });
    for (const bad of [undefined, null, 'c:1', { consumer: 'c' }, { consumer: 1, id: '1' }]) assert.equal(deliveryHandleOf(bad), undefined, JSON.stringify(bad));
  });

  it('first settle wins: a later settle through a copy learns how the first went and settles nothing', async () => {
    const ledger = open();
    const t = transport();
    const handle = ledger.track(t.fast);
    const copy: DeliveryHandle = { ...handle };
    assert.equal(await registry.fail(handle, new Error('boom')), 'failed');
    assert.equal(await registry.ack(copy), 'already-failed');
    assert.equal(copy.settled, 'already-failed');
    assert.equal(t.settled.length, 1);

    const parked = ledger.track(t.fast);
    const other = { ...parked };
    assert.equal(await registry.park(parked, new Error('conflict')), 'parked');
    assert.equal(await registry.fail(other, new Error('late')), 'already-parked');
    assert.deepEqual(t.settled.map((s) => s.action), ['fail', 'park']);
  });

  it('first settle wins while the first is still being carried out by the transport', async () => {
    const ledger = open();
    const t = transport();
    const handle = ledger.track(t.slow);
    const first = registry.ack(handle);
    const second = await registry.fail({ ...handle }, new Error('late branch'));
    assert.equal(second, 'already-acked', 'decided before the transport finished');
    t.release();
    assert.equal(await first, 'acked');
    assert.deepEqual(t.settled.map((s) => s.action), ['ack']);
  });

  it('a message that settled its delivery keeps its outcome: settling it again calls nothing', async () => {
    const ledger = open();
    const t = transport();
    const handle = ledger.track(t.fast);
    await registry.ack(handle);
    assert.equal(await registry.fail(handle, new Error('x')), 'acked');
    assert.equal(t.settled.length, 1);
  });

  it('fail and park hand the error to the transport; ack never does', async () => {
    const ledger = open();
    const t = transport();
    const error = new Error('ERP said 503');
    await registry.fail(ledger.track(t.fast), error);
    await registry.park(ledger.track(t.fast), error);
    await registry.settle(ledger.track(t.fast), 'ack', error);
    assert.deepEqual(t.settled, [{ action: 'fail', error }, { action: 'park', error }, { action: 'ack', error: undefined }]);
  });

  it('a delivery nobody settles is failed with SETTLE_TIMEOUT after the timeout, not before', async () => {
    const ledger = open('con', 5000);
    const t = transport();
    const handle = ledger.track(t.fast);
    clock.advance(4999);
    assert.equal(t.settled.length, 0);
    clock.advance(1);
    await until(() => t.settled.length === 1);
    const { action, error } = t.settled[0];
    assert.equal(action, 'fail');
    assert.equal((error as { code: string }).code, 'SETTLE_TIMEOUT');
    assert.match((error as Error).message, /not settled within 5 s: wire a settle node/);
    assert.equal((error as { retryable: boolean }).retryable, true);
    assert.equal(await registry.ack(handle), 'already-failed', 'a settle after the timeout learns it was failed');
    assert.equal(ledger.size, 0);
  });

  it('close fails what is pending, forgets the consumer, and later settles learn unknown', async () => {
    const ledger = open();
    const t = transport();
    const handle = ledger.track(t.fast);
    assert.equal(registry.consumers, 1);
    ledger.close();
    await until(() => t.settled.length === 1);
    assert.equal((t.settled[0].error as { code: string }).code, 'CONSUMER_CLOSED');
    assert.equal(registry.consumers, 0);
    assert.equal(clock.pending(), 0);
    assert.equal(await registry.ack({ ...handle }), 'unknown');
    assert.throws(() => ledger.track(t.fast), /closed/);
  });

  it('a consumer stays reachable until its close is done, also beside its redeployed successor of the same id', async () => {
    const old = open('con');
    const t = transport();
    const inFlight = old.track(t.fast);
    // The redeployed node opens its ledger while the old one still waits for work in flight.
    const successor = open('con');
    const fresh = successor.track(t.fast);
    assert.equal(await registry.ack(inFlight), 'acked', 'the closing consumer settles its own delivery');
    old.close();
    assert.equal(await registry.ack(fresh), 'acked');
    assert.equal(await registry.ack({ consumer: 'con', id: 'never-handed-out' }), 'unknown');
    successor.close();
    assert.equal(registry.consumers, 0);
  });

  it('an unknown consumer is unknown', async () => {
    assert.equal(await registry.ack({ consumer: 'gone', id: '1' }), 'unknown');
  });

  it('remembers a bounded number of settled ids', async () => {
    const ledger = registry.open('con', { settleTimeoutMs: 1000, timers: clock.timers, remember: 2 });
    const t = transport();
    const handles = [ledger.track(t.fast), ledger.track(t.fast), ledger.track(t.fast)];
    for (const h of handles) await registry.ack(h);
    assert.equal(await registry.ack({ ...handles[0], settled: undefined }), 'unknown', 'the oldest is forgotten');
    assert.equal(await registry.ack({ ...handles[2], settled: undefined }), 'already-acked');
  });

  it('a failed transport settle reaches its caller, and the delivery still counts as settled', async () => {
    const ledger = open();
    const handle = ledger.track(async () => {
      throw new Error('channel closed');
    });
    await assert.rejects(registry.ack(handle), /channel closed/);
    assert.equal(await registry.ack({ consumer: handle.consumer, id: handle.id }), 'already-acked');
  });

  it('a failure is retried when retryable and parked when permanent', () => {
    assert.equal(settleActionForFailure({ code: 'ECONNRESET' }), 'fail');
    assert.equal(settleActionForFailure({ status: 503 }), 'fail');
    assert.equal(settleActionForFailure({ code: 'SCHEMA_INVALID' }), 'park');
    assert.equal(settleActionForFailure({ status: 422 }), 'park');
    assert.equal(settleActionForFailure({ code: 'WHATEVER', retryable: false }), 'park');
  });
  it('deliveryActionAfterClaim: complete acks; a settled claim sends the delivery to the retry tier; without a claim, as settle delivery (permanent parked)', () => {
    const permanent = { code: 'SCHEMA_INVALID', retryable: false };
    const retryable = { code: 'TARGET_UNAVAILABLE', retryable: true };
    assert.equal(deliveryActionAfterClaim('complete', true, {}), 'ack');
    assert.equal(deliveryActionAfterClaim('complete', false, {}), 'ack');
    for (const action of ['failure', 'fail', 'release'] as const) assert.equal(deliveryActionAfterClaim(action, true, permanent), 'fail', action);
    assert.equal(deliveryActionAfterClaim('failure', false, permanent), 'park');
    assert.equal(deliveryActionAfterClaim('failure', false, retryable), 'fail');
    assert.equal(deliveryActionAfterClaim('fail', false, retryable), 'park');
    assert.equal(deliveryActionAfterClaim('release', false, permanent), 'fail');
  });
});
