import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Delivery } from '../../lib/transport/consumer';
import Database from 'better-sqlite3';
import { LocalBus, type LocalBusOptions } from '../../lib/transport/local-bus';
import { topicMatcher } from '../../lib/transport/local-bus/topic';
import { HEADERS } from '../../lib/transport/message';
import { waitFor } from '../helpers/wait';

const TYPE = 'mfg.operation.completed.v2';

export function localEvent(i: number, over: Record<string, unknown> = {}): Record<string, unknown> & { id: string; type: string } {
  return {
    specversion: '1.0',
    id: `evt-${i}`,
    source: '/plants/P100/mes',
    type: TYPE,
    subject: `WO-${i % 10}`,
    time: new Date(Date.UTC(2025, 0, 1, 8, 0, i % 60)).toISOString(),
    correlationid: `WO-${i % 10}`,
    idempotencykey: `op-${i}`,
    siteid: 'P100',
    sequence: i,
    data: { order: `WO-${i % 10}`, yield: { value: i, uom: 'EA' } },
    ...over,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const idOf = (d: Delivery) => (d.event as { id: string }).id;

describe('transport: local bus', function () {
  this.timeout(60000);
  let dir: string;
  let file: string;
  const open: LocalBus[] = [];

  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-local-bus-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  beforeEach(() => (file = path.join(dir, `bus-${++n}.db`)));
  afterEach(async () => {
    for (const b of open.splice(0)) await b.close(1000);
  });

  function bus(options: LocalBusOptions = {}): LocalBus {
    const b = new LocalBus(file, { retryTiersMs: [50, 100], pollMs: 10, ...options });
    open.push(b);
    return b;
  }

  async function closeBus(b: LocalBus, timeoutMs = 1000): Promise<void> {
    open.splice(open.indexOf(b), 1);
    await b.close(timeoutMs);
  }

  it('matches AMQP topic binding keys', () => {
    const cases: Array<[string, string, boolean]> = [
      ['#', 'a.b.c', true],
      ['a.*', 'a.b', true],
      ['a.*', 'a.b.c', false],
      ['a.#', 'a', true],
      ['a.#', 'a.b.c', true],
      ['#.c', 'a.b.c', true],
      ['#.c', 'c', true],
      ['*.b.#', 'a.b', true],
      ['*.b.#', 'b', false],
      ['a.#.c.#.e', 'a.x.c.y.z.e', true],
      ['a.#.c', 'a.c.x', false],
      [`${TYPE}.*`, `${TYPE}.P100`, true],
      [`mfg.*.completed.*.P100`, `${TYPE}.P100`, true],
      [`mfg.*.completed.*.P100`, `${TYPE}.P200`, false],
    ];
    for (const [key, rk, expected] of cases) assert.equal(topicMatcher(key)(rk), expected, `${key} vs ${rk}`);
    assert.throws(() => topicMatcher('a..b'), { code: 'CONFIG_ERROR' });
  });

  it('routes by type and site with wildcards, one copy per matching group', async () => {
    const b = bus();
    await b.bind('p100-ops', [`${TYPE}.P100`]);
    await b.bind('all', ['#']);
    await b.bind('p200', ['mfg.*.*.*.P200']);
    await b.bind('orders', ['mfg.productionorder.#']);
    await b.publish(localEvent(1));
    await b.publish(localEvent(2, { siteid: 'P200' }));
    await b.publish(localEvent(3, { type: 'mfg.productionorder.released.v1', siteid: 'P200' }));
    await b.publish(localEvent(4, { siteid: undefined, type: 'mfg.productionorder.released.v1' }));
    assert.equal(b.stats('p100-ops').ready, 1);
    assert.equal(b.stats('all').ready, 4);
    assert.equal(b.stats('p200').ready, 2);
    assert.equal(b.stats('orders').ready, 2);

    const seen: Array<{ id: string; routingKey: string }> = [];
    const c = b.consume('orders', async (d) => void seen.push({ id: idOf(d), routingKey: d.fields.routingKey }));
    await waitFor(() => seen.length === 2, 5000, 'orders delivered');
    await c.close();
    assert.deepEqual(seen, [
      { id: 'evt-3', routingKey: 'mfg.productionorder.released.v1.P200' },
      { id: 'evt-4', routingKey: 'mfg.productionorder.released.v1.unknown' },
    ]);
    assert.deepEqual(b.groups()['p200'], ['mfg.*.*.*.P200']);
  });

  it('rejects a publish no group is bound for with UNROUTABLE, and keeps the others of the batch', async () => {
    const b = bus();
    await b.bind('p100', [`${TYPE}.P100`]);
    const results = await Promise.allSettled([b.publish(localEvent(1)), b.publish(localEvent(2, { siteid: 'P999' })), b.publish(localEvent(3))]);
    assert.equal(results[0].status, 'fulfilled');
    assert.equal(results[2].status, 'fulfilled');
    assert.equal(results[1].status, 'rejected');
    assert.equal((results[1] as PromiseRejectedResult).reason.code, 'UNROUTABLE');
    assert.equal(b.stats('p100').ready, 2);
    await assert.rejects(b.publish({ id: '', type: TYPE }), { code: 'INVALID_EVENT' });
  });

  it('handles 2000 events exactly once when every 10th fails once, retrying them with attempt 2 after the tier', async () => {
    const b = bus({ retryTiersMs: [100] });
    await b.bind('g', ['#']);
    const N = 2000;
    const firstFail = new Map<string, number>();
    const ok = new Map<string, number>();
    const retried: Array<{ id: string; attempt: number; waited: number; redelivered: boolean; lastError: unknown }> = [];
    let failures = 0;
    const c = b.consume('g', async (d) => {
      const id = idOf(d);
      const i = Number(id.split('-')[1]);
      if (i % 10 === 0 && d.attempt === 1) {
        failures++;
        firstFail.set(id, Date.now());
        throw Object.assign(new Error('target busy'), { code: 'HTTP_503' });
      }
      if (d.attempt > 1) retried.push({ id, attempt: d.attempt, waited: Date.now() - (firstFail.get(id) as number), redelivered: d.redelivered, lastError: d.headers[HEADERS.lastErrorCode] });
      ok.set(id, (ok.get(id) ?? 0) + 1);
    }, { prefetch: 50 });
    const started = Date.now();
    await Promise.all(Array.from({ length: N }, (_, i) => b.publish(localEvent(i))));
    await waitFor(() => ok.size === N, 30000, 'all events handled');
    const elapsed = Date.now() - started;
    // At quiescence every delivery is settled: nothing is left that could still arrive.
    await waitFor(() => c.stats().acked === N && c.stats().retried === N / 10 && c.stats().inFlight === 0, 10000, 'every delivery settled');
    assert.deepEqual(b.stats('g'), { ready: 0, inFlight: 0, delayed: 0, parked: 0 });
    await c.close();
    assert.equal(failures, N / 10);
    assert.equal(ok.size, N);
    for (const [id, count] of ok) assert.equal(count, 1, `${id} handled ${count} times`);
    assert.equal(retried.length, N / 10);
    for (const r of retried) {
      assert.equal(r.attempt, 2);
      assert.equal(r.redelivered, false);
      assert.equal(r.lastError, 'HTTP_503');
      assert.ok(r.waited >= 95, `${r.id} retried after ${r.waited} ms, before its tier`);
    }
    assert.deepEqual(b.stats('g'), { ready: 0, inFlight: 0, delayed: 0, parked: 0 });
    assert.deepEqual({ acked: c.stats().acked, retried: c.stats().retried, parked: c.stats().parked }, { acked: N, retried: N / 10, parked: 0 });
    // Publishing and consuming overlap here: a rough end-to-end figure, not a benchmark.
    console.log(`      (local bus: ${N} events + ${N / 10} retries in ${elapsed} ms)`);
  });

  it('parks a poison message with reason and attempts, and replay by type or correlation id brings it back once', async () => {
    const b = bus({ retryTiersMs: [20, 40] });
    await b.bind('g', ['#']);
    const attempts = new Map<string, number[]>();
    let healed = false;
    const handled: string[] = [];
    const c = b.consume('g', async (d) => {
      const id = idOf(d);
      attempts.set(id, [...(attempts.get(id) ?? []), d.attempt]);
      if (!healed && id !== 'evt-1') throw Object.assign(new Error(`cannot post ${id}`), { code: 'MAPPING_FAILED' });
      handled.push(id);
    }, { maxAttempts: 3 });
    await b.publish(localEvent(1));
    await b.publish(localEvent(2, { correlationid: 'LOT-9' }));
    await b.publish(localEvent(3, { type: 'mfg.quality.disposition.changed.v1' }));
    await waitFor(() => b.stats('g').parked === 2, 5000, 'two parked');
    assert.deepEqual(attempts.get('evt-2'), [1, 2, 3]);
    assert.deepEqual(handled, ['evt-1']);
    assert.equal(c.stats().parked, 2);
    healed = true;

    const r1 = await b.replayParked('g', { type: 'mfg.quality.disposition.changed.v1' });
    assert.deepEqual(r1, { examined: 2, replayed: 1, kept: 1 });
    await waitFor(() => handled.length === 2, 5000, 'replayed by type');
    assert.equal(handled[1], 'evt-3');
    assert.deepEqual(attempts.get('evt-3'), [1, 2, 3, 1]);

    const r2 = await b.replayParked('g', { correlationId: 'LOT-9' });
    assert.deepEqual(r2, { examined: 1, replayed: 1, kept: 0 });
    await waitFor(() => handled.length === 3, 5000, 'replayed by correlation id');
    assert.equal(handled[2], 'evt-2');
    assert.deepEqual(await b.replayParked('g', { all: true }), { examined: 0, replayed: 0, kept: 0 });
    await waitFor(() => c.stats().acked === 3 && c.stats().inFlight === 0, 5000, 'the three handlings acked');
    assert.deepEqual(b.stats('g'), { ready: 0, inFlight: 0, delayed: 0, parked: 0 });
    assert.deepEqual(handled, ['evt-1', 'evt-3', 'evt-2']);
    await c.close();
  });

  it('keeps the parking reason, attempt count and replay marks in the headers', async () => {
    const b = bus({ retryTiersMs: [10] });
    await b.bind('g', ['#']);
    const headers: Array<Record<string, unknown>> = [];
    let fail = true;
    const c = b.consume('g', async (d) => {
      headers.push(d.headers);
      if (fail) throw new Error('no such material');
    }, { maxAttempts: 2 });
    await b.publish(localEvent(7));
    await waitFor(() => b.stats('g').parked === 1, 5000, 'parked');
    fail = false;
    await b.replayParked('g', { from: Date.UTC(2025, 0, 1, 8, 0, 0), to: Date.UTC(2025, 0, 1, 8, 0, 10) });
    await waitFor(() => headers.length === 3, 5000, 'replayed');
    await c.close();
    const last = headers[2];
    assert.equal(last[HEADERS.parkedReason], 'HANDLER_FAILED');
    assert.equal(last[HEADERS.parkedMessage], 'no such material');
    assert.equal(last[HEADERS.attempts], 2);
    assert.equal(last[HEADERS.replayed], true);
    assert.equal(last[HEADERS.attempt], 1);
    assert.equal(last.idempotencykey, 'op-7');
  });

  it('settles by delivery.ack() / fail() like the core consumer, ignoring later settles', async () => {
    const b = bus({ retryTiersMs: [10] });
    await b.bind('g', ['#']);
    const seen: Array<[string, number]> = [];
    const c = b.consume('g', async (d) => {
      seen.push([idOf(d), d.attempt]);
      if (idOf(d) === 'evt-1' && d.attempt === 1) {
        await d.fail(new Error('explicit'));
        return; // resolving afterwards must not ack
      }
      await d.ack();
      throw new Error('ignored after ack');
    }, { maxAttempts: 2 });
    await b.publish(localEvent(1));
    await b.publish(localEvent(2));
    await waitFor(() => seen.length === 3, 5000, 'three deliveries');
    // Settled: evt-1 retried once then acked, evt-2 acked once, despite the settles that follow.
    await waitFor(() => c.stats().acked === 2 && c.stats().retried === 1 && c.stats().inFlight === 0, 5000, 'the deliveries settled');
    await c.close();
    assert.deepEqual(seen.sort(), [['evt-1', 1], ['evt-1', 2], ['evt-2', 1]]);
    assert.deepEqual(b.stats('g'), { ready: 0, inFlight: 0, delayed: 0, parked: 0 });
  });

  it('delivers later what was published while no consumer ran, across a reopen', async () => {
    let b = bus();
    await b.bind('late', [`${TYPE}.*`]);
    await Promise.all(Array.from({ length: 100 }, (_, i) => b.publish(localEvent(i))));
    await closeBus(b);
    b = bus();
    assert.equal(b.stats('late').ready, 100);
    const seen: string[] = [];
    const c = b.consume('late', async (d) => void seen.push(idOf(d)), { prefetch: 1 });
    await waitFor(() => seen.length === 100, 5000, 'backlog delivered');
    await c.close();
    // prefetch 1: strict publish order
    assert.deepEqual(seen, Array.from({ length: 100 }, (_, i) => `evt-${i}`));
  });

  it('loses nothing when closed mid-stream: unfinished deliveries come back after reopen with redelivered = true', async () => {
    let b = bus();
    await b.bind('g', ['#']);
    const N = 300;
    await Promise.all(Array.from({ length: N }, (_, i) => b.publish(localEvent(i))));
    const done = new Set<string>();
    const stuck = new Set<string>();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    b.consume('g', async (d) => {
      const i = Number(idOf(d).split('-')[1]);
      if (i >= 100) {
        stuck.add(idOf(d));
        await gate; // still running at close
        throw new Error('too late');
      }
      done.add(idOf(d));
    }, { prefetch: 20 });
    await waitFor(() => done.size === 100 && stuck.size === 20, 5000, 'first 100 done and 20 stuck');
    await closeBus(b, 100);
    release();

    b = bus();
    assert.deepEqual(b.stats('g'), { ready: N - 100, inFlight: 0, delayed: 0, parked: 0 });
    const second = new Map<string, boolean>();
    const c = b.consume('g', async (d) => void second.set(idOf(d), d.redelivered));
    await waitFor(() => second.size === N - 100, 5000, 'the rest delivered');
    await c.close();
    for (const id of done) assert.ok(!second.has(id), `${id} was acked yet delivered again`);
    for (let i = 100; i < N; i++) assert.equal(second.get(`evt-${i}`), stuck.has(`evt-${i}`), `evt-${i} redelivered flag`);
  });

  it('renews the lease of a slow handler, and close returns its delivery as redelivered', async () => {
    // The bus's clock is ours: the lease's expiry moves only with it, however slow the machine.
    let t = Date.now();
    const b = bus({ leaseMs: 150, now: () => t });
    await b.bind('g', ['#']);
    const stalled = b.consume('g', () => new Promise<void>(() => undefined), { prefetch: 1 });
    await b.publish(localEvent(1));
    await waitFor(() => stalled.stats().inFlight === 1, 5000, 'taken');
    const raw = new Database(file, { readonly: true });
    const leaseUntil = () => (raw.prepare('SELECT lease_until AS u FROM bus_messages WHERE state = 1').get() as { u: number } | undefined)?.u;
    try {
      // The lease is renewed while its consumer runs: four steps of 100 ms take the clock far past
      // the first lease, and after each one the stored expiry follows the clock.
      for (let step = 0; step < 4; step++) {
        t += 100;
        await waitFor(() => leaseUntil() === t + 150, 5000, `the lease renewed at +${(step + 1) * 100} ms`);
      }
    } finally {
      raw.close();
    }
    assert.equal(b.stats('g').inFlight, 1);
    void stalled.close(0);
    await waitFor(() => b.stats('g').ready === 1, 5000, 'released on close');
    const again: boolean[] = [];
    const c = b.consume('g', async (d) => void again.push(d.redelivered));
    await waitFor(() => again.length === 1, 5000, 'redelivered');
    await c.close();
    assert.deepEqual(again, [true]);
  });

  it('takes back a delivery whose lease expired (a stalled taker) and drops the taker\'s late settle', async () => {
    // The first bus runs 10 minutes behind: its leases look expired to the second one at once.
    const stale = bus({ leaseMs: 1000, now: () => Date.now() - 600000 });
    await stale.bind('g', ['#']);
    let finish!: () => void;
    const gate = new Promise<void>((r) => (finish = r));
    const slow = stale.consume('g', () => gate, { prefetch: 1 });
    await stale.publish(localEvent(1));
    await waitFor(() => slow.stats().inFlight === 1, 5000, 'taken by the stalled consumer');
    const b = bus();
    const again: boolean[] = [];
    const c = b.consume('g', async (d) => void again.push(d.redelivered));
    await waitFor(() => again.length === 1, 5000, 'taken back after the lease');
    finish();
    await waitFor(() => slow.stats().inFlight === 0, 5000, 'late settle');
    await c.close();
    await slow.close();
    assert.deepEqual(again, [true]);
    assert.equal(slow.stats().stale, 1);
    assert.equal(slow.stats().acked, 0);
    assert.deepEqual(b.stats('g'), { ready: 0, inFlight: 0, delayed: 0, parked: 0 });
  });

  it('keeps at most prefetch deliveries in flight', async () => {
    const b = bus();
    await b.bind('g', ['#']);
    let running = 0;
    let max = 0;
    let count = 0;
    const c = b.consume('g', async () => {
      running++;
      max = Math.max(max, running);
      await sleep(2);
      running--;
      count++;
    }, { prefetch: 7 });
    await Promise.all(Array.from({ length: 300 }, (_, i) => b.publish(localEvent(i))));
    await waitFor(() => count === 300, 10000, 'all handled');
    await c.close();
    assert.equal(max, 7);
    assert.ok(c.maxInFlight <= 7);
  });

  it('shares a group between two consumers without handling a message twice', async () => {
    const b = bus();
    await b.bind('g', ['#']);
    const seen = new Map<string, number>();
    const h = async (d: Delivery) => void seen.set(idOf(d), (seen.get(idOf(d)) ?? 0) + 1);
    const c1 = b.consume('g', h, { prefetch: 5 });
    const c2 = b.consume('g', h, { prefetch: 5 });
    await Promise.all(Array.from({ length: 500 }, (_, i) => b.publish(localEvent(i))));
    await waitFor(() => seen.size === 500, 10000, 'all handled');
    await waitFor(() => c1.stats().acked + c2.stats().acked === 500, 5000, 'every delivery acked');
    await c1.close();
    await c2.close();
    for (const [id, k] of seen) assert.equal(k, 1, `${id} handled ${k} times`);
    assert.ok(c1.stats().acked > 0 && c2.stats().acked > 0, 'both consumers took a share');
  });

  it('refuses work once closed', async () => {
    const b = bus();
    await b.bind('g', ['#']);
    await closeBus(b);
    await assert.rejects(b.publish(localEvent(1)), { code: 'BROKER_CLOSED' });
    assert.throws(() => b.consume('g', () => undefined), { code: 'BROKER_CLOSED' });
  });
});
