import * as assert from 'node:assert/strict';
import type { BrokerConnection } from '../../lib/transport/broker-connection';
import { Consumer, type Delivery, type DeliveryHandler } from '../../lib/transport/consumer';
import { HEADERS } from '../../lib/transport/message';
import { Publisher } from '../../lib/transport/publisher';
import { queuesOf, resolveTopology, type Topology } from '../../lib/transport/topology';
import { sharedRabbit, uniqueName } from '../helpers/rabbitmq';
import { Admin, fastBroker, makeEvent, waitFor } from './util';
import { pause } from '../helpers/wait';

describe('transport: consumer', function () {
  this.timeout(60000);
  let url: string;
  let admin: Admin;
  const open: Array<{ broker: BrokerConnection; topology: Topology; consumers: Consumer[]; publisher: Publisher }> = [];

  before(async () => {
    url = (await sharedRabbit()).url;
    admin = await Admin.open(url);
  });
  afterEach(async () => {
    for (const o of open.splice(0)) {
      for (const c of o.consumers) await c.close(2000);
      await o.publisher.close();
      await o.broker.close();
      await admin.deleteTopology(o.topology);
      await admin.ch.deleteExchange(o.topology.exchange).catch(() => undefined);
    }
  });
  after(async () => admin?.close());

  function setup(handler: DeliveryHandler, opts: { tiers?: number[]; maxAttempts?: number; prefetch?: number } = {}) {
    const topology = resolveTopology({ group: uniqueName('cons'), exchange: uniqueName('ex'), retryTiersMs: opts.tiers ?? [300, 600], maxAttempts: opts.maxAttempts });
    const broker = fastBroker(url);
    const consumer = new Consumer(broker, { topology, handler, prefetch: opts.prefetch ?? 50 });
    const publisher = new Publisher(broker, { topology });
    const entry = { broker, topology, consumers: [consumer], publisher };
    open.push(entry);
    return { ...entry, consumer, start: async () => {
      consumer.start();
      publisher.start();
      await waitFor(() => consumer.consuming, 10000, 'consumer subscribed');
    } };
  }

  it('acks a handled message; a failure goes through the first retry tier and returns with attempt 2', async () => {
    const seen: Array<{ id: string; attempt: number; at: number; lastError?: unknown }> = [];
    const { topology, publisher, consumer, start } = setup(async (d: Delivery) => {
      const id = (d.event as { id: string }).id;
      seen.push({ id, attempt: d.attempt, at: Date.now(), lastError: d.headers[HEADERS.lastErrorCode] });
      if (d.attempt === 1 && id.startsWith('evt-2')) throw Object.assign(new Error('ERP said 503'), { code: 'ERP_UNAVAILABLE' });
    });
    await start();
    const ok = makeEvent(1);
    const flaky = makeEvent(2);
    await publisher.publish(ok);
    await publisher.publish(flaky);
    await waitFor(() => seen.length === 3, 10000, 'three deliveries');
    const [first, retry] = seen.filter((s) => s.id === flaky.id);
    assert.equal(first.attempt, 1);
    assert.equal(retry.attempt, 2);
    assert.equal(retry.lastError, 'ERP_UNAVAILABLE');
    const delay = retry.at - first.at;
    assert.ok(delay >= 250 && delay < 3000, `came back after ${delay} ms (tier 300 ms)`);
    assert.deepEqual(seen.filter((s) => s.id === ok.id).map((s) => s.attempt), [1]);
    await waitFor(() => consumer.stats().acked === 2, 5000, 'acks');
    assert.deepEqual({ ...consumer.stats(), inFlight: 0 }, { inFlight: 0, acked: 2, retried: 1, parked: 0, stale: 0 });
    for (const q of queuesOf(topology)) assert.equal(await admin.count(q), 0, q);
  });

  it('parks a message after the attempt limit with reason and attempt count; malformed JSON directly', async () => {
    const attempts: number[] = [];
    const { topology, publisher, consumer, start } = setup(async (d) => {
      attempts.push(d.attempt);
      throw Object.assign(new Error('material master missing'), { code: 'MAPPING_FAILED' });
    }, { tiers: [100, 200], maxAttempts: 3 });
    await start();
    const event = makeEvent(5);
    await publisher.publish(event);
    const ch = await admin.model.createConfirmChannel();
    ch.sendToQueue(topology.workQueue as string, Buffer.from('{not json'), { messageId: 'bad-1', persistent: true });
    await ch.waitForConfirms();
    await ch.close();
    await waitFor(async () => (await admin.count(topology.parkingQueue as string)) === 2, 15000, 'two parked');
    assert.deepEqual(attempts, [1, 2, 3]);
    const parked = await admin.drain(topology.parkingQueue as string);
    const byId = new Map(parked.map((m) => [m.properties.messageId, m]));
    const poison = byId.get(event.id)!;
    assert.deepEqual(JSON.parse(poison.content.toString()), event, 'the original event intact');
    assert.equal(poison.properties.headers?.[HEADERS.parkedReason], 'MAPPING_FAILED');
    assert.equal(poison.properties.headers?.[HEADERS.parkedMessage], 'material master missing');
    assert.equal(poison.properties.headers?.[HEADERS.attempts], 3);
    assert.ok(poison.properties.headers?.[HEADERS.firstFailure]);
    const bad = byId.get('bad-1')!;
    assert.equal(bad.properties.headers?.[HEADERS.parkedReason], 'INVALID_JSON');
    assert.equal(bad.properties.headers?.[HEADERS.attempts], 1);
    assert.equal(consumer.stats().parked, 2);
    assert.equal(consumer.stats().acked, 0, 'nothing acked as processed');
    for (const q of queuesOf(topology)) assert.equal(await admin.count(q), 0, q);
  });

  it('2000 events with prefetch 50, every 10th failing once: each handled successfully exactly once', async () => {
    const N = 2000;
    const success = new Map<string, number>();
    const attemptsById = new Map<string, number>();
    let concurrent = 0;
    let maxConcurrent = 0;
    const { topology, publisher, consumer, start } = setup(async (d) => {
      const e = d.event as { id: string; sequence: number };
      attemptsById.set(e.id, (attemptsById.get(e.id) ?? 0) + 1);
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await new Promise((r) => setImmediate(r));
      concurrent--;
      if (e.sequence % 10 === 0 && d.attempt === 1) throw new Error('first attempt of every 10th fails');
      success.set(e.id, (success.get(e.id) ?? 0) + 1);
    }, { tiers: [200, 1000], prefetch: 50 });
    await start();
    const events = Array.from({ length: N }, (_, i) => makeEvent(i));
    await Promise.all(events.map((e) => publisher.publish(e)));
    await waitFor(() => success.size === N, 30000, `all ${N} handled (now ${success.size})`);
    // At quiescence (every delivery settled, every queue empty) no duplicate can still be on its way.
    await waitFor(() => consumer.stats().acked === N && consumer.stats().retried === N / 10 && consumer.stats().inFlight === 0, 10000, 'every delivery settled');
    await waitFor(async () => (await Promise.all(queuesOf(topology).map((q) => admin.count(q)))).every((n) => n === 0), 10000, 'every queue empty');
    for (const e of events) {
      assert.equal(success.get(e.id), 1, `${e.id} handled successfully once`);
      assert.equal(attemptsById.get(e.id), (e.sequence as number) % 10 === 0 ? 2 : 1, `${e.id} attempts`);
    }
    assert.ok(maxConcurrent <= 50, `prefetch bounds concurrency: ${maxConcurrent}`);
    await waitFor(() => consumer.stats().inFlight === 0, 5000, 'settled');
    assert.equal(consumer.stats().retried, N / 10);
    for (const q of queuesOf(topology)) assert.equal(await admin.count(q), 0, q);
  });

  it('close mid-stream: in-flight handlers finish, unstarted messages return to the queue, none lost', async () => {
    const N = 300;
    const handled = new Map<string, number>();
    const slow: DeliveryHandler = async (d) => {
      await pause(5);
      const id = (d.event as { id: string }).id;
      handled.set(id, (handled.get(id) ?? 0) + 1);
    };
    let closed = false;
    let startedAfterClose = 0;
    const first: DeliveryHandler = (d) => {
      if (closed) startedAfterClose++;
      return slow(d);
    };
    const { broker, topology, publisher, consumer, start, consumers } = setup(first, { prefetch: 20 });
    await start();
    const events = Array.from({ length: N }, (_, i) => makeEvent(i));
    await Promise.all(events.map((e) => publisher.publish(e)));
    await waitFor(() => handled.size >= 50, 10000, 'some handled');
    await consumer.close(5000);
    closed = true;
    const afterClose = handled.size;
    assert.ok(afterClose < N, `closed mid-stream (${afterClose} of ${N})`);
    assert.equal(consumer.stats().inFlight, 0);
    // A new consumer (a redeploy) gets the rest.
    const next = new Consumer(broker, { topology, handler: slow, prefetch: 20 }).start();
    consumers.push(next);
    await waitFor(() => handled.size === N, 20000, `all ${N} handled`);
    await waitFor(async () => (await admin.count(topology.workQueue as string)) === 0 && next.stats().inFlight === 0, 5000, 'queue empty');
    const dupes = [...handled.values()].filter((n) => n > 1).length;
    assert.equal(dupes, 0, 'in-flight ones finished and were acked before the channel closed');
    assert.equal(startedAfterClose, 0, 'the closed consumer handled a message after close');
  });

  it('close with handlers that do not finish in time: their messages return to the queue, redelivered to a new consumer', async () => {
    let release!: () => void;
    const hang = new Promise<void>((r) => (release = r));
    const stuck = new Set<string>();
    const { broker, topology, publisher, consumer, start, consumers } = setup(async (d) => {
      stuck.add((d.event as { id: string }).id);
      await hang;
    }, { prefetch: 10 });
    await start();
    const events = Array.from({ length: 25 }, (_, i) => makeEvent(i));
    await Promise.all(events.map((e) => publisher.publish(e)));
    await waitFor(() => stuck.size === 10, 10000, 'prefetch full');
    const t0 = Date.now();
    await consumer.close(200);
    assert.ok(Date.now() - t0 < 2000, 'close is bounded by its timeout');
    const redelivered = new Map<string, boolean>();
    const next = new Consumer(broker, { topology, handler: (d) => void redelivered.set((d.event as { id: string }).id, d.redelivered), prefetch: 10 }).start();
    consumers.push(next);
    await waitFor(() => redelivered.size === 25, 10000, 'all 25 at the new consumer');
    for (const id of stuck) assert.equal(redelivered.get(id), true, `${id} redelivered`);
    release(); // the old handlers finish late: their settles are dropped, not acked on a dead channel
    await waitFor(() => consumer.stats().stale === 10, 5000, 'the late settles dropped as stale');
    assert.equal(consumer.stats().acked, 0);
    await waitFor(async () => (await admin.count(topology.workQueue as string)) === 0 && next.stats().inFlight === 0, 5000, 'queue empty');
  });
});
