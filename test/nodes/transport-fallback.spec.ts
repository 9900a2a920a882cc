/**
 * plantsync-publish and -consume without a broker config node: the embedded local bus (SQLite) by
 * default, RabbitMQ when PLANTSYNC_AMQP_URL is set. One flow, with no broker field, runs on both:
 * switching is configuration only. Same guard, settle, retry, parking and replay semantics as the
 * broker-flow spec.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { REPO_ROOT } from '../helpers/paths';
import { openIdempotencyStore } from '../../lib/idempotency/open-store';
import { LocalBus } from '../../lib/transport/local-bus';
import { HEADERS } from '../../lib/transport/message';
import { queuesOf, resolveTopology } from '../../lib/transport/topology';
import { translating } from '../helpers/catalogue';
import { collect, helper, lastStatus, nextMessage, type TestNode } from '../helpers/node-helper';
import { sharedRabbit, uniqueName } from '../helpers/rabbitmq';
import { assertReplayedOnce, completedIds, runConsumeAndPostExample, settleFlow, transportSandbox, work, workerNode, type DeliveredMsg as Msg } from '../helpers/transport-flow';
import { Admin, makeEvent, waitFor } from '../transport/util';
import publishNode from '../../nodes/plantsync-publish/plantsync-publish';
import consumeNode from '../../nodes/plantsync-consume/plantsync-consume';
import storeNode from '../../nodes/plantsync-store/plantsync-store';
import idempotencyNode from '../../nodes/plantsync-idempotency/plantsync-idempotency';
import completeNode from '../../nodes/plantsync-idempotency-complete/plantsync-idempotency-complete';
import settleDeliveryNode from '../../nodes/plantsync-settle-delivery/plantsync-settle-delivery';

const NODES = [publishNode, consumeNode, storeNode, idempotencyNode, completeNode, settleDeliveryNode, workerNode];

describe('publish and consume without a broker node: local bus by default, PLANTSYNC_AMQP_URL switches to RabbitMQ', function () {
  this.timeout(90000);
  let group: string;
  const node = (id: string) => helper.getNode(id) as TestNode;
  const busFile = () => path.join(sandbox.dir, 'plantsync', 'bus.db');

  before(() => helper.startServer());
  after(() => helper.stopServer());
  const sandbox = transportSandbox('plantsync-fallback-');
  beforeEach(() => {
    group = uniqueName('grp');
    work.reset();
  });

  interface FlowOptions {
    maxAttempts?: number;
    closeTimeout?: number;
    leaseSeconds?: number;
    consumer?: boolean;
  }

  /** publish; consume -> guard -> worker -> settle. No broker field anywhere. */
  function flow(o: FlowOptions = {}) {
    const at = { z: 'f1', x: 100, y: 100 };
    const nodes: Array<Record<string, unknown>> = [
      { id: 'f1', type: 'tab' },
      { id: 'pub', type: 'plantsync-publish', outbox: true, timeout: 10, wires: [['published']], ...at },
      ...settleFlow({ storeFile: path.join(sandbox.dir, 'plantsync.db'), leaseSeconds: o.leaseSeconds, at }),
      ...['published', 'replayed'].map((id) => ({ id, type: 'helper', ...at })),
    ];
    if (o.consumer !== false) {
      nodes.push({
        id: 'con', type: 'plantsync-consume', group, bindingKeys: 'mfg.operation.completed.*.P100', prefetch: 20,
        maxAttempts: o.maxAttempts ?? 3, settleTimeout: 30, closeTimeout: o.closeTimeout ?? 2, wires: [['guard'], ['replayed']], ...at,
      });
    }
    return nodes;
  }

  async function load(o?: FlowOptions): Promise<{ after: Record<string, unknown>[]; dups: Record<string, unknown>[] }> {
    await helper.load(NODES, flow(o));
    const out = { after: collect(node('after')), dups: collect(node('afterdup')) };
    if (o?.consumer === false) return out;
    const status = lastStatus(node('con'));
    await waitFor(() => status()?.fill === 'green', 15000, 'consumer ready');
    return out;
  }

  /** Publishes through the node; resolves with the published messages once each publish is done. */
  async function publishAll(events: Array<{ id: string }>): Promise<Record<string, unknown>[]> {
    const published = collect(node('published'));
    for (const e of events) node('pub').receive({ payload: e });
    await waitFor(() => published.length === events.length, 30000, `${events.length} publishes done`);
    return published;
  }

  /** The structured error a failed publish puts on msg.error (what a Catch node sees). */
  async function publishError(event: unknown): Promise<{ code: string; message: string }> {
    const failed = new Promise<{ code: string; message: string }>((resolve) => {
      node('pub').on('call:error', (call: { args: unknown[] }) => {
        // args[1] is the message of a per-message error (a config error at deploy has none).
        const msg = call.args[1] as { error?: { code: string; message: string } } | undefined;
        if (msg?.error) resolve(msg.error);
      });
    });
    node('pub').receive({ payload: event });
    return Promise.race([failed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no publish error within 5 s')), 5000))]);
  }

  /** Reads the bus file from a second LocalBus, as another process would. */
  async function busStats() {
    const bus = new LocalBus(busFile());
    try {
      return bus.stats(group);
    } finally {
      await bus.close();
    }
  }

  describe('the embedded local bus (no broker, no PLANTSYNC_AMQP_URL)', () => {
    it('200 events: every event completed exactly once through the guard; every 10th fails once and returns through the retry tier with attempt 2', async () => {
      const { after, dups } = await load();
      const events = Array.from({ length: 200 }, (_, i) => makeEvent(i));
      const flaky = new Set(events.filter((_, i) => i % 10 === 0).map((e) => e.id));
      work.decide = (msg) => (flaky.has(msg.payload.id) && msg.amqp.attempt === 1 ? 'fail' : 'ok');

      const published = await publishAll(events);
      assert.deepEqual((published[0] as Msg).amqp, { exchange: 'plantsync.local', routingKey: 'mfg.operation.completed.v2.P100' });
      await waitFor(() => after.length === 200, 30000, '200 events completed');

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
      const first = after[0] as Msg;
      assert.equal(first.amqp.transport, 'local');
      assert.equal((first.plantsync as { delivery: { settled: string } }).delivery.settled, 'acked');
      await helper.unload();
      assert.deepEqual(await busStats(), { ready: 0, inFlight: 0, delayed: 0, parked: 0 }, 'nothing left on the bus');
      // The RabbitMQ outbox option does not apply to the local bus: no outbox file was made.
      assert.deepEqual(fs.readdirSync(path.join(sandbox.dir, 'plantsync')).filter((f) => f.startsWith('outbox-')), []);
    });

    it('a poison event is parked after its attempts with the reason; a replay brings it back once', async () => {
      const { after } = await load({ maxAttempts: 3 });
      const poison = makeEvent(1, { correlationid: uniqueName('order') });
      let poisoned = true;
      work.decide = (msg) => (poisoned && msg.payload.id === poison.id ? 'fail' : 'ok');

      await publishAll([poison]);
      await waitFor(() => work.seen.length === 3, 15000, 'three attempts');
      await waitFor(async () => (await busStats()).parked === 1, 5000, 'parked');
      assert.deepEqual(work.seen.map((s) => s.attempt), [1, 2, 3]);

      poisoned = false;
      await assertReplayedOnce(node('con'), node('replayed'), after, { correlationId: poison.correlationid });
    });

    it('a redeploy mid-stream loses nothing: held deliveries return and every key is completed once in the store', async () => {
      const opts = { maxAttempts: 20, leaseSeconds: 2, closeTimeout: 1 };
      await load(opts);
      const events = Array.from({ length: 100 }, (_, i) => makeEvent(i));
      const held = new Set(events.slice(0, 5).map((e) => e.id));
      work.decide = (msg) => (held.has(msg.payload.id) ? 'hold' : 'ok');

      await publishAll(events);
      await waitFor(() => work.effects.length >= 30, 20000, 'some worked before the redeploy');
      await helper.unload();
      assert.ok(work.effects.length < 100, `redeployed mid-stream (${work.effects.length} of 100 worked)`);

      work.decide = () => 'ok';
      await load(opts);
      await waitFor(() => new Set(work.effects).size === 100, 30000, 'all 100 worked after the redeploy');
      for (const id of held) assert.ok(work.seen.filter((s) => s.id === id).length >= 2, `${id} was redelivered after the redeploy`);
      // Completed events that came back are duplicates: the bus drains while the consumer runs.
      const drained = { ready: 0, inFlight: 0, delayed: 0, parked: 0 };
      await waitFor(async () => JSON.stringify(await busStats()) === JSON.stringify(drained), 15000, 'the bus drained');
      await helper.unload();
      assert.deepEqual(await busStats(), drained, 'nothing returned to the bus on close: every delivery was settled');

      const store = await openIdempotencyStore({ kind: 'sqlite', file: path.join(sandbox.dir, 'plantsync.db') });
      try {
        for (const e of events) assert.equal((await store.lookup(e.idempotencykey as string))?.state, 'completed', e.id);
      } finally {
        await store.close();
      }
    });

    it('a deploy of the modified consume node only: work still running settles during the close, is acked and not delivered again', async () => {
      const { after, dups } = await load({ closeTimeout: 5 });
      work.decide = () => 'later';
      const event = makeEvent(11);
      await publishAll([event]);
      await waitFor(() => work.seen.length === 1, 5000, 'the event is being worked');
      // Node-RED takes the consume node out of RED.nodes.getNode before closing it; the settle
      // node, not redeployed, must still reach it while its close waits for this delivery.
      const modified = flow({ closeTimeout: 5 }).map((n) => (n.id === 'con' ? { ...n, name: 'renamed' } : n));
      const started = Date.now();
      await (helper as unknown as { _redNodes: { setFlows(f: unknown[], c: unknown, type: string): Promise<unknown> } })._redNodes.setFlows(modified, {}, 'nodes');
      const closeMs = Date.now() - started;
      await waitFor(() => after.length === 1, 5000, 'settled');
      assert.equal((after[0].plantsync as { delivery: { settled: string } }).delivery.settled, 'acked');
      assert.ok(closeMs < 4000, `the close ended once the delivery settled (${closeMs} ms), not at its 5 s timeout`);
      // Acked means nothing left on the bus to deliver again: quiescence, then the count.
      const idle = { ready: 0, inFlight: 0, delayed: 0, parked: 0 };
      await waitFor(async () => isDeepStrictEqual(await busStats(), idle), 5000, 'an empty bus');
      assert.equal(work.seen.length, 1, 'not delivered again');
      assert.equal(dups.length, 0);
      assert.deepEqual(await busStats(), { ready: 0, inFlight: 0, delayed: 0, parked: 0 });
    });

    it('a second settle of the same delivery learns the first one acked; a failure then is reported, not silently dropped', async () => {
      await load();
      work.decide = () => 'ok';
      const warnings: string[] = [];
      node('bad').on('call:warn', (call: { args: unknown[] }) => warnings.push(String(call.args[0])));
      const done = nextMessage(node('after'), 5000);
      await publishAll([makeEvent(12)]);
      const first = await done;
      // A second branch of the same message failing after the ack:
      const second = nextMessage(node('afterbad'), 5000);
      const copy = JSON.parse(JSON.stringify(first)) as Record<string, unknown> & { plantsync: { delivery: Record<string, unknown>; idempotency: Record<string, unknown> } };
      delete copy.plantsync.delivery.settled;
      copy.plantsync.idempotency.settled = 'completed';
      node('bad').receive({ ...copy, error: { code: 'ERP_UNAVAILABLE', message: 'late branch failed', retryable: true } });
      const late = await second;
      assert.equal((late.plantsync as { delivery: { settled: string } }).delivery.settled, 'already-acked');
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /alreadyAcked|another settle node acked/);
      assert.equal(work.seen.length, 1, 'nothing retried');
    });

    it('keeps events published while the consumer is stopped: the group and its binding keys live in the bus file', async () => {
      await load();
      await helper.unload();
      // Only the publisher is deployed now; the group is still bound in the file.
      await load({ consumer: false });
      const events = Array.from({ length: 20 }, (_, i) => makeEvent(i));
      await publishAll(events);
      await helper.unload();
      assert.equal((await busStats()).ready, 20, 'waiting on the bus, committed before done');

      const { after } = await load();
      await waitFor(() => after.length === 20, 15000, 'the waiting events consumed');
      assert.deepEqual(new Set(completedIds(after)), new Set(events.map((e) => e.id)));
    });

    it('with no consumer group ever bound a publish fails with UNROUTABLE, as mandatory publishes to RabbitMQ do', async () => {
      await load({ consumer: false });
      const error = await publishError(makeEvent(1));
      assert.equal(error.code, 'UNROUTABLE');
      assert.match(error.message, /no consumer group is bound for mfg\.operation\.completed\.v2\.P100/);
    });

    it('example local-bus-consume-post: the first posting fails, the retry posts once and acks; the second press is a duplicate', async () => {
      const shipped = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'examples', 'local-bus-consume-post.json'), 'utf8')) as Array<{ type: string; broker?: string }>;
      assert.ok(!shipped.some((n) => n.type === 'plantsync-broker' || n.broker), 'the example has no broker');
      const posted = await runConsumeAndPostExample('local-bus-consume-post.json', NODES, (n) => (n.type === 'plantsync-store' ? { ...n, file: path.join(sandbox.dir, 'plantsync.db') } : n));
      assert.equal((posted.amqp as { transport: string }).transport, 'local');
    });

    it('PLANTSYNC_BUS_FILE moves the bus file', async () => {
      process.env.PLANTSYNC_BUS_FILE = 'elsewhere/events.db';
      const { after } = await load();
      await publishAll([makeEvent(3)]);
      await waitFor(() => after.length === 1, 10000, 'completed');
      assert.ok(fs.existsSync(path.join(sandbox.dir, 'elsewhere', 'events.db')));
      assert.ok(!fs.existsSync(busFile()));
    });
  });

  describe('PLANTSYNC_AMQP_URL: the same flow on RabbitMQ (real broker)', () => {
    let url: string;
    let admin: Admin;
    before(async () => {
      url = (await sharedRabbit()).url;
      admin = await Admin.open(url);
    });
    after(() => admin?.close());

    it('without changing the flow, events go through RabbitMQ: the group queue on the default exchange, retries through the env tiers, nothing on a local bus', async () => {
      process.env.PLANTSYNC_AMQP_URL = url;
      const topology = resolveTopology({ group, retryTiersMs: [200, 400] });
      try {
        const { after } = await load();
        const events = Array.from({ length: 50 }, (_, i) => makeEvent(i));
        const flaky = new Set(events.filter((_, i) => i % 10 === 0).map((e) => e.id));
        work.decide = (msg) => (flaky.has(msg.payload.id) && msg.amqp.attempt === 1 ? 'fail' : 'ok');
        const published = await publishAll(events);
        assert.equal((published[0] as Msg).amqp.exchange, 'plantsync.events');
        await waitFor(() => after.length === 50, 30000, '50 completed');
        assert.equal(new Set(completedIds(after)).size, 50);
        assert.equal((after[0] as Msg).amqp.transport, 'rabbitmq');
        for (const id of flaky) assert.deepEqual(work.seen.filter((s) => s.id === id).map((s) => s.attempt), [1, 2]);
        // The work queue and the env's retry tiers exist on the broker.
        assert.deepEqual(queuesOf(topology).sort(), [`plantsync.${group}`, `plantsync.${group}.parking`, `plantsync.${group}.retry.200ms`, `plantsync.${group}.retry.400ms`].sort());
        for (const q of queuesOf(topology)) await waitFor(async () => (await admin.count(q)) === 0, 10000, `${q} empty`);
        assert.ok(!fs.existsSync(busFile()), 'no local bus file');
        // The retry queues carry the env tiers as their TTLs, as the broker reports them.
        const listed = await (await sharedRabbit()).ctl(['list_queues', 'name', 'arguments', '--no-table-headers', '--quiet']);
        const ttl = (q: string) => /x-message-ttl[^0-9]*([0-9]+)/.exec(listed.split('\n').find((l) => l.startsWith(`${q}\t`)) ?? '')?.[1];
        assert.equal(ttl(`plantsync.${group}.retry.200ms`), '200');
        assert.equal(ttl(`plantsync.${group}.retry.400ms`), '400');
      } finally {
        await helper.unload();
        await admin.deleteTopology(topology);
      }
    });

    it('a refused PLANTSYNC_AMQP_URL login is logged once with the reason, never with the password', async () => {
      process.env.PLANTSYNC_AMQP_URL = url.replace('guest:guest@', 'guest:wrong-secret@');
      // Translated statuses show the reconnect attempt, which counts the refused logins.
      await helper.load(translating(NODES).nodes, flow({ consumer: false }));
      const status = lastStatus(helper.getNode('pub'));
      const logged = () => helper.log().args.map((a) => JSON.stringify(a)).filter((t) => t.includes('PLANTSYNC_AMQP_URL') && t.includes('cannot connect'));
      await waitFor(() => logged().length > 0, 15000, 'a connect warning');
      assert.match(logged()[0], /cannot connect, retrying: .*(ACCESS.REFUSED|403)/);
      // Checked after three more refused logins, not after a pause.
      const attempt = () => Number(/attempt (\d+)/.exec(String(status()?.text ?? ''))?.[1] ?? 0);
      const seen = attempt();
      await waitFor(() => attempt() >= seen + 3, 20000, 'three more reconnect attempts');
      assert.equal(logged().length, 1, 'once per distinct reason, not per retry');
      assert.doesNotMatch(JSON.stringify(helper.log().args), /wrong-secret/);
    });

    it('a malformed PLANTSYNC_AMQP_URL is a CONFIG_ERROR per message, naming the variable and not the password', async () => {
      process.env.PLANTSYNC_AMQP_URL = 'http://user:secret@127.0.0.1:1';
      await helper.load(NODES, flow({ consumer: false }));
      const error = await publishError(makeEvent(1));
      assert.equal(error.code, 'CONFIG_ERROR');
      assert.match(error.message, /PLANTSYNC_AMQP_URL must start with amqp/);
      assert.doesNotMatch(JSON.stringify(error), /secret/);
    });
  });
});
