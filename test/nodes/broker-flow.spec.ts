/**
 * plantsync-broker, -publish and -consume against a real (private) RabbitMQ, with the idempotency
 * guard and the settle node: retries, parking lot and replay, redeploy, settle timeout.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openIdempotencyStore } from '../../lib/idempotency/open-store';
import { HEADERS } from '../../lib/transport/message';
import { queuesOf, resolveTopology, type Topology } from '../../lib/transport/topology';
import { collect, helper, nextMessage, type TestNode } from '../helpers/node-helper';
import { sharedRabbit, uniqueName } from '../helpers/rabbitmq';
import { assertReplayedOnce, completedIds, runConsumeAndPostExample, settleFlow, work, workerNode, type DeliveredMsg as Msg } from '../helpers/transport-flow';
import { Admin, makeEvent, waitFor } from '../transport/util';
import brokerNode from '../../nodes/plantsync-broker/plantsync-broker';
import publishNode from '../../nodes/plantsync-publish/plantsync-publish';
import consumeNode from '../../nodes/plantsync-consume/plantsync-consume';
import storeNode from '../../nodes/plantsync-store/plantsync-store';
import idempotencyNode from '../../nodes/plantsync-idempotency/plantsync-idempotency';
import completeNode from '../../nodes/plantsync-idempotency-complete/plantsync-idempotency-complete';

const NODES = [brokerNode, publishNode, consumeNode, storeNode, idempotencyNode, completeNode, workerNode];

describe('broker nodes: publish, consume, settle through the guard (real RabbitMQ)', function () {
  this.timeout(90000);
  let url: string;
  let admin: Admin;
  let dir: string;
  let topology: Topology;
  let exchange: string;
  let group: string;
  const node = (id: string) => helper.getNode(id) as TestNode;

  before(async () => {
    url = (await sharedRabbit()).url;
    admin = await Admin.open(url);
    await helper.startServer();
  });
  after(async () => {
    await helper.stopServer();
    await admin?.close();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-broker-nodes-'));
    helper.settings({ userDir: dir });
    exchange = uniqueName('ex');
    group = uniqueName('grp');
    work.reset();
  });
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
    await admin.deleteTopology(topology);
    await admin.ch.deleteExchange(exchange).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  interface FlowOptions {
    maxAttempts?: number;
    settleTimeout?: number;
    closeTimeout?: number;
    leaseSeconds?: number;
  }

  /** consume -> guard -> worker -> settle complete / settle failure; duplicates -> settle complete. */
  function flow(o: FlowOptions = {}) {
    const amqpUrl = new URL(url);
    const at = { z: 'f1', x: 100, y: 100 };
    topology = resolveTopology({ group, exchange, retryTiersMs: [300, 600], maxAttempts: o.maxAttempts ?? 3 });
    return [
      { id: 'f1', type: 'tab' },
      // The password travels as a credential, not in the URL.
      { id: 'b', type: 'plantsync-broker', url: `amqp://127.0.0.1:${amqpUrl.port}`, user: 'guest', heartbeat: 5, exchange, retryTiers: '300ms,600ms', reconnectMs: [100, 1000] },
      { id: 'pub', type: 'plantsync-publish', broker: 'b', outbox: false, timeout: 10, wires: [['published']], ...at },
      { id: 'cmp', type: 'complete', scope: ['pub'], uncaught: false, wires: [['pubdone']], ...at },
      {
        id: 'con', type: 'plantsync-consume', broker: 'b', group, bindingKeys: 'mfg.operation.completed.*.P100', prefetch: 20,
        maxAttempts: o.maxAttempts ?? 3, settleTimeout: o.settleTimeout ?? 30, closeTimeout: o.closeTimeout ?? 2, wires: [['guard'], ['replayed']], ...at,
      },
      ...settleFlow({ storeFile: path.join(dir, 'plantsync.db'), leaseSeconds: o.leaseSeconds, at }),
      ...['published', 'pubdone', 'replayed'].map((id) => ({ id, type: 'helper', ...at })),
    ];
  }

  /**
   * Loads the flow, starts collecting what the settle nodes pass on (before the consumer can
   * deliver), and waits until the consumer is subscribed (its queue bound: no UNROUTABLE).
   */
  async function load(o?: FlowOptions): Promise<{ after: Record<string, unknown>[]; dups: Record<string, unknown>[] }> {
    await helper.load(NODES, flow(o), { b: { password: 'guest' } });
    const out = { after: collect(node('after')), dups: collect(node('afterdup')) };
    let status: { fill?: string } = {};
    node('con').on('call:status', (call: { args: unknown[] }) => (status = call.args[0] as { fill?: string }));
    await waitFor(() => status.fill === 'green', 15000, 'consumer connected');
    return out;
  }

  async function publishAll(events: Array<{ id: string }>): Promise<void> {
    const done = collect(node('pubdone'));
    for (const e of events) node('pub').receive({ payload: e });
    await waitFor(() => done.length === events.length, 30000, `${events.length} publishes done`);
  }

  async function queuesEmpty(): Promise<void> {
    for (const q of queuesOf(topology)) await waitFor(async () => (await admin.count(q)) === 0, 10000, `${q} empty`);
  }

  it('200 events: done after confirm; every event completed exactly once; every 10th fails once and returns through the retry tier with attempt 2', async () => {
    const { after, dups } = await load();
    const events = Array.from({ length: 200 }, (_, i) => makeEvent(i));
    const flaky = new Set(events.filter((_, i) => i % 10 === 0).map((e) => e.id));
    work.decide = (msg) => (flaky.has(msg.payload.id) && msg.amqp.attempt === 1 ? 'fail' : 'ok');

    await publishAll(events);
    await waitFor(() => after.length === 200, 30000, '200 events completed');
    await queuesEmpty();

    const ids = completedIds(after);
    assert.equal(new Set(ids).size, 200, 'each event completed once');
    assert.deepEqual(new Set(ids), new Set(events.map((e) => e.id)));
    assert.equal(dups.length, 0);
    for (const e of events) {
      const attempts = work.seen.filter((s) => s.id === e.id);
      if (flaky.has(e.id)) {
        assert.deepEqual(attempts.map((a) => a.attempt), [1, 2], e.id);
        assert.equal(attempts[1].headers[HEADERS.lastErrorCode], 'ERP_UNAVAILABLE');
      } else assert.deepEqual(attempts.map((a) => a.attempt), [1], e.id);
    }
    const plain = after.find((m) => !flaky.has((m.payload as { id: string }).id)) as Msg;
    assert.equal(plain.amqp.routingKey, 'mfg.operation.completed.v2.P100');
    const retried = after.find((m) => flaky.has((m.payload as { id: string }).id)) as Msg;
    assert.equal((retried.plantsync as { delivery: { consumer: string } }).delivery.consumer, 'con');
    assert.equal((retried.plantsync as { delivery: { settled: string } }).delivery.settled, 'acked');

    // Nothing was left unacked: after closing the consumer nothing returns to the queues.
    await helper.unload();
    await queuesEmpty();
  });

  it('a poison event fails every attempt, lands in the parking lot with its reason, and a replay brings it back once', async () => {
    const { after } = await load({ maxAttempts: 3 });
    const poison = makeEvent(1, { correlationid: uniqueName('order') });
    let poisoned = true;
    work.decide = (msg) => (poisoned && msg.payload.id === poison.id ? 'fail' : 'ok');

    const started = Date.now();
    await publishAll([poison]);
    await waitFor(async () => (await admin.count(topology.parkingQueue as string)) === 1, 15000, 'parked');
    assert.deepEqual(work.seen.map((s) => s.attempt), [1, 2, 3]);
    // Attempt 2 waited in the 300 ms tier, attempt 3 in the 600 ms tier.
    assert.ok(Date.now() - started >= 900, `parked after ${Date.now() - started} ms: both tiers waited`);
    assert.equal(await admin.count(topology.workQueue as string), 0);

    poisoned = false;
    await assertReplayedOnce(node('con'), node('replayed'), after, { correlationId: poison.correlationid });
    await queuesEmpty();
  });

  it('a parked event whose key was completed meanwhile (the source sent it again) is absorbed by the guard on replay: posted once, the parked copy acked', async () => {
    const { after, dups } = await load({ maxAttempts: 3 });
    const first = makeEvent(5, { correlationid: uniqueName('order') });
    // The target was down for the first copy: three attempts, then the parking lot.
    work.decide = (msg) => (msg.payload.id === first.id ? 'fail' : 'ok');
    await publishAll([first]);
    await waitFor(async () => (await admin.count(topology.parkingQueue as string)) === 1, 15000, 'parked');

    // The source sends the same fact again (same idempotency key, new event id): it is posted.
    const resent = { ...first, id: `${first.id}-resent` };
    await publishAll([resent]);
    await waitFor(() => after.length === 1, 10000, 'the resent copy posted');
    assert.deepEqual(work.effects, [resent.id]);

    // Replaying the parked copy goes through the guard: a duplicate with the first result, acked.
    const replayed = nextMessage(node('replayed'));
    node('con').receive({ topic: 'replay', payload: { type: first.type, correlationId: first.correlationid } });
    assert.deepEqual((await replayed).payload, { examined: 1, replayed: 1, kept: 0 });
    await waitFor(() => dups.length === 1, 10000, 'the replayed copy answered as a duplicate');
    const dup = dups[0] as Msg & { plantsync: { idempotency: { status: string; result: unknown }; delivery: { settled: string } } };
    assert.equal(dup.payload.id, first.id);
    assert.equal(dup.plantsync.idempotency.status, 'duplicate');
    assert.equal(dup.plantsync.idempotency.result, resent.id, 'the first completion\'s result');
    assert.equal(dup.plantsync.delivery.settled, 'acked');
    assert.deepEqual(work.effects, [resent.id], 'posted once in all');
    await queuesEmpty();
  });

  it('a redeploy mid-stream loses nothing: unsettled deliveries return, every key is completed exactly once through the guard', async () => {
    const opts = { maxAttempts: 20, leaseSeconds: 2, closeTimeout: 1 };
    await load(opts);
    const events = Array.from({ length: 100 }, (_, i) => makeEvent(i));
    // Hold a few deliveries unsettled (as if the flow were still busy) when the redeploy comes.
    const held = new Set(events.slice(0, 5).map((e) => e.id));
    work.decide = (msg) => (held.has(msg.payload.id) ? 'hold' : 'ok');

    await publishAll(events);
    await waitFor(() => work.effects.length >= 30, 20000, 'some worked before the redeploy');
    await helper.unload();
    const before = work.effects.length;
    assert.ok(before < 100, `redeployed mid-stream (${before} of 100 worked)`);

    work.decide = () => 'ok';
    await load(opts);
    await waitFor(() => new Set(work.effects).size === 100, 30000, 'all 100 worked after the redeploy');
    await queuesEmpty();
    for (const id of held) assert.ok(work.seen.filter((s) => s.id === id).length >= 2, `${id} was redelivered after the redeploy`);
    await helper.unload();

    // Through the guard every key was completed exactly once, with the result of its one completion.
    // A completed event that came back after the redeploy was a duplicate and not worked again; the
    // only second side effects are of claims the redeploy cut before their completion was stored
    // (the store closed under them), recovered by the lease as the design says (attempts > 1).
    const store = await openIdempotencyStore({ kind: 'sqlite', file: path.join(dir, 'plantsync.db') });
    try {
      for (const e of events) {
        const rec = await store.lookup(e.idempotencykey as string);
        assert.equal(rec?.state, 'completed', e.id);
        assert.equal(rec?.result, e.id);
        const worked = work.effects.filter((id) => id === e.id).length;
        assert.ok(worked === 1 || (worked === 2 && (rec?.attempts ?? 0) > 1), `${e.id} worked ${worked} times, claimed ${rec?.attempts}`);
      }
    } finally {
      await store.close();
    }
    assert.ok(work.effects.length - 100 <= 20, `at most the prefetch worked twice (${work.effects.length - 100})`);
  });

  it('a delivery never settled is failed after the settle timeout and comes back with attempt 2', async () => {
    // A lease shorter than timeout + first tier: the retry can claim the key the held attempt had.
    const { after } = await load({ settleTimeout: 1, leaseSeconds: 1 });
    const event = makeEvent(7);
    work.decide = (msg) => (msg.amqp.attempt === 1 ? 'hold' : 'ok');
    const started = Date.now();
    await publishAll([event]);
    await waitFor(() => after.length === 1, 10000, 'completed on the second attempt');
    const elapsed = Date.now() - started;
    assert.deepEqual(work.seen.map((s) => s.attempt), [1, 2]);
    assert.equal(work.seen[1].headers[HEADERS.lastErrorCode], 'SETTLE_TIMEOUT');
    assert.ok(elapsed >= 1000, `came back after ${elapsed} ms (timeout 1 s)`);
    await queuesEmpty();
  });

  it('example rabbitmq-consume-post: the first posting fails, the retry posts once and acks; the second press is a duplicate', async () => {
    topology = resolveTopology({ group, exchange, retryTiersMs: [300] });
    await runConsumeAndPostExample(
      'rabbitmq-consume-post.json',
      NODES,
      (n) => {
        if (n.type === 'plantsync-store') return { ...n, file: path.join(dir, 'plantsync.db') };
        if (n.type === 'plantsync-broker') return { ...n, exchange, retryTiers: '300ms', reconnectMs: [100, 1000] };
        return n.type === 'plantsync-consume' ? { ...n, group } : n;
      },
      { 'exr-broker': { fullUrl: url } },
      async (consumer) => {
        let status: { fill?: string } = {};
        consumer.on('call:status', (call: { args: unknown[] }) => (status = call.args[0] as { fill?: string }));
        await waitFor(() => status.fill === 'green', 15000, 'consumer connected');
      },
    );
    await queuesEmpty();
  });
});
