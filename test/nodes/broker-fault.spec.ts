/**
 * Broker faults through the nodes, on a private RabbitMQ of this file (loopback only, every wait
 * bounded): publish -> broker -> consume -> idempotency guard (SQLite) -> sink -> settle.
 *
 * - The broker is stopped and started twice while a steady stream is fed into the publish node
 *   and consumed: with the outbox, no event is lost, each is worked exactly once, the outbox
 *   drains; without it, a publish reports success only after the broker's confirm and a publish
 *   during an outage waits or fails.
 * - A memory alarm (watermark 0) blocks the connection: the nodes show it, the publishers pause
 *   (outbox or waiting, nothing written to the blocked connection) and finish after the alarm.
 *
 * "Confirmed" and "committed" are observed below the node: a wrapper around amqplib's
 * ConfirmChannel#publish records each broker ack (before the publisher sees it), a wrapper around
 * Outbox#enqueueMany each commit. The publish node's send is checked against both at once.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as amqp from 'amqplib';
import type { Options } from 'amqplib';
import Database from 'better-sqlite3';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { Outbox } from '../../lib/delivery/outbox';
import { openIdempotencyStore } from '../../lib/idempotency/open-store';
import { Publisher } from '../../lib/transport/publisher';
import { queuesOf, resolveTopology, type Topology } from '../../lib/transport/topology';
import { collect, helper, type TestNode } from '../helpers/node-helper';
import { pause } from '../helpers/wait';
import { startRabbit, uniqueName, type RabbitServer } from '../helpers/rabbitmq';
import { Admin, makeEvent, waitFor } from '../transport/util';
import brokerNode from '../../nodes/plantsync-broker/plantsync-broker';
import publishNode from '../../nodes/plantsync-publish/plantsync-publish';
import consumeNode from '../../nodes/plantsync-consume/plantsync-consume';
import storeNode from '../../nodes/plantsync-store/plantsync-store';
import idempotencyNode from '../../nodes/plantsync-idempotency/plantsync-idempotency';
import completeNode from '../../nodes/plantsync-idempotency-complete/plantsync-idempotency-complete';

type Event = ReturnType<typeof makeEvent> & { idempotencykey: string };
type Status = { fill?: string; shape?: string; text?: string; at: number };
type ConfirmCallback = (err: unknown, ok?: unknown) => void;
type PublishFn = (exchange: string, routingKey: string, content: Buffer, options: Options.Publish | undefined, cb: ConfirmCallback) => boolean;

/** What happened below the nodes: broker acks, outbox commits, publishes to the event exchange. */
const seen = {
  confirmed: new Set<string>(),
  committed: new Set<string>(),
  /** basic.publish calls per exchange (the consumer's retry copies go to the default exchange ''). */
  sends: new Map<string, number>(),
  /** The publishers the nodes publish through (for their stats). */
  publishers: new Set<Publisher>(),
};

/** amqplib's ConfirmChannel.prototype (the class is not exported: taken from a live channel). */
let confirmProto: { publish: PublishFn };
const original = { publish: undefined as unknown as PublishFn, enqueueMany: Outbox.prototype.enqueueMany, nodePublish: Publisher.prototype.publish };

async function installProbes(url: string): Promise<void> {
  const model = await amqp.connect(url);
  confirmProto = Object.getPrototypeOf(await model.createConfirmChannel()) as { publish: PublishFn };
  await model.close();
  original.publish = confirmProto.publish;
  confirmProto.publish = function (this: unknown, exchange, routingKey, content, options, cb) {
    seen.sends.set(exchange, (seen.sends.get(exchange) ?? 0) + 1);
    const id = options?.messageId;
    const wrapped: ConfirmCallback = (err, ok) => {
      if (err == null && typeof id === 'string') seen.confirmed.add(id);
      cb(err, ok);
    };
    return original.publish.call(this, exchange, routingKey, content, options, wrapped);
  };
  Publisher.prototype.publish = function (this: Publisher, event) {
    seen.publishers.add(this);
    return original.nodePublish.call(this, event);
  };
  Outbox.prototype.enqueueMany = function (this: Outbox, items) {
    return original.enqueueMany.call(this, items).then((r) => {
      for (const item of items) seen.committed.add((item.payload as { id: string }).id);
      return r;
    });
  };
}

function removeProbes(): void {
  if (confirmProto) confirmProto.publish = original.publish;
  Outbox.prototype.enqueueMany = original.enqueueMany;
  Publisher.prototype.publish = original.nodePublish;
}

/** The side effect of the flow: counts each idempotency key it works on. */
const work = { effects: new Map<string, number>() };

function sinkNode(RED: NodeAPI): void {
  RED.nodes.registerType('test-sink', function (this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    this.on('input', (msg, send, done) => {
      const key = (msg.payload as Event).idempotencykey;
      work.effects.set(key, (work.effects.get(key) ?? 0) + 1);
      send(msg);
      done();
    });
  });
}

/** Catch output -> output 1 for errors of the publish nodes, output 2 for the rest. */
function routeNode(RED: NodeAPI): void {
  RED.nodes.registerType('test-route', function (this: Node, config: NodeDef & { pubs: string[] }) {
    RED.nodes.createNode(this, config);
    this.on('input', (msg, send, done) => {
      const source = (msg as { error?: { source?: { id?: string } } }).error?.source?.id ?? '';
      send(config.pubs.includes(source) ? [msg, null] : [null, msg]);
      done();
    });
  });
}

const NODES = [brokerNode, publishNode, consumeNode, storeNode, idempotencyNode, completeNode, sinkNode, routeNode];

/** Every status a node sets, with the time. */
function statuses(node: TestNode): Status[] {
  const out: Status[] = [];
  node.on('call:status', (call: { args: unknown[] }) => out.push({ ...(call.args[0] as Status), at: Date.now() }));
  return out;
}
const last = (list: Status[]): Status => list[list.length - 1] ?? { at: 0 };
// The test helper's RED._ returns the catalogue key: the texts are keys here.
// Each node's status texts come from its own catalogue (the runtime translates in the node's namespace).
const TEXT = { buffering: 'plantsync-publish.status.buffering', blocked: /^plantsync-(consume|publish)\.status\.blocked$/, reconnecting: 'plantsync-consume.status.reconnecting' };
const green = (list: Status[]) => last(list).fill === 'green' && last(list).shape === 'dot';

interface PublishRecord {
  id: string;
  at: number;
  /** The broker had acked it when the node sent it on. */
  confirmed: boolean;
  /** The outbox had committed it when the node sent it on. */
  committed: boolean;
}

/**
 * The publish node's outputs as it sends them (the helper reports a send on the next tick, before
 * any socket I/O could deliver a confirm), each checked against the confirms and commits so far.
 */
function publishOutputs(node: TestNode): PublishRecord[] {
  const out: PublishRecord[] = [];
  node.on('call:send', (call: { args: unknown[] }) => {
    const id = ((call.args[0] as { payload: Event }).payload).id;
    out.push({ id, at: Date.now(), confirmed: seen.confirmed.has(id), committed: seen.committed.has(id) });
  });
  return out;
}

describe('broker nodes: broker stopped and started twice mid-stream, and a memory alarm (private RabbitMQ)', function () {
  this.timeout(120000);
  let rabbit: RabbitServer;
  let dir: string;
  let exchange: string;
  let group: string;
  let topology: Topology;
  const node = (id: string) => helper.getNode(id) as TestNode;

  before(async () => {
    rabbit = await startRabbit();
    await installProbes(rabbit.url);
    await helper.startServer();
  });
  after(async () => {
    removeProbes();
    await helper.stopServer();
    await rabbit?.stop();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-broker-fault-'));
    helper.settings({ userDir: dir });
    exchange = uniqueName('ex');
    group = uniqueName('grp');
    topology = resolveTopology({ group, exchange, retryTiersMs: [300], maxAttempts: 20 });
    work.effects = new Map();
    seen.confirmed.clear();
    seen.committed.clear();
    seen.sends.clear();
    seen.publishers.clear();
  });
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
    const admin = await Admin.open(rabbit.url).catch(() => undefined);
    await admin?.deleteTopology(topology);
    await admin?.ch.deleteExchange(exchange).catch(() => undefined);
    await admin?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  interface Pub {
    id: string;
    outbox: boolean;
    timeout: number;
  }

  /**
   * The publish nodes report success to one Complete node and errors to one Catch node (the test
   * helper loads a core node module once per flow node of its type, so one of each), sorted per
   * publish node by the key's prefix (`<pub id>-n`) / the error's source. consume -> guard -> sink
   * -> settle complete -> after; duplicates -> settle complete -> afterdup; the guard's own errors
   * (IN_FLIGHT when a redelivered copy meets its first attempt) -> settle failure (retry tier).
   */
  function flow(pubs: Pub[]) {
    const at = { z: 'f1', x: 100, y: 100 };
    const pubIds = pubs.map((p) => p.id);
    return [
      { id: 'f1', type: 'tab' },
      { id: 'b', type: 'plantsync-broker', url: `amqp://127.0.0.1:${rabbit.port}`, user: 'guest', heartbeat: 5, exchange, retryTiers: '300ms', reconnectMs: [100, 1000] },
      { id: 's', type: 'plantsync-store', kind: 'sqlite', file: path.join(dir, 'plantsync.db'), retentionDays: 7 },
      // Wired (to a helper): a node without wires gets a no-op send.
      ...pubs.map((p) => ({ id: p.id, type: 'plantsync-publish', broker: 'b', outbox: p.outbox, timeout: p.timeout, wires: [['published']], ...at })),
      { id: 'cmp', type: 'complete', scope: pubIds, uncaught: false, wires: [['pubdone']], ...at },
      { id: 'c', type: 'catch', scope: [...pubIds, 'guard', 'ok', 'dupok'], uncaught: false, wires: [['route']], ...at },
      { id: 'route', type: 'test-route', pubs: pubIds, wires: [['pubfail'], ['bad']], ...at },
      { id: 'con', type: 'plantsync-consume', broker: 'b', group, bindingKeys: 'mfg.operation.completed.*.P100', prefetch: 20, maxAttempts: 20, settleTimeout: 30, closeTimeout: 1, wires: [['guard'], []], ...at },
      { id: 'guard', type: 'plantsync-idempotency', store: 's', keyType: 'auto', leaseSeconds: 60, wires: [['sink'], ['dupok'], ['dupok']], ...at },
      { id: 'sink', type: 'test-sink', wires: [['ok']], ...at },
      { id: 'ok', type: 'plantsync-idempotency-complete', action: 'complete', result: 'payload.id', resultType: 'msg', wires: [['after']], ...at },
      { id: 'dupok', type: 'plantsync-idempotency-complete', action: 'complete', wires: [['afterdup']], ...at },
      { id: 'bad', type: 'plantsync-idempotency-complete', action: 'failure', wires: [['afterbad']], ...at },
      ...['published', 'pubdone', 'pubfail', 'after', 'afterdup', 'afterbad'].map((id) => ({ id, type: 'helper', ...at })),
    ];
  }

  async function load(pubs: Pub[]) {
    await helper.load(NODES, flow(pubs), { b: { password: 'guest' } });
    const pubdone = collect(node('pubdone'));
    const pubfail = collect(node('pubfail'));
    const of = (id: string) => (list: Record<string, unknown>[]) => list.filter((m) => (m.payload as Event).idempotencykey.startsWith(`${id}-`));
    const out = {
      con: statuses(node('con')),
      pub: Object.fromEntries(pubs.map((p) => [p.id, {
        status: statuses(node(p.id)),
        outputs: publishOutputs(node(p.id)),
        get done() {
          return of(p.id)(pubdone);
        },
        get fail() {
          return of(p.id)(pubfail);
        },
      }])),
    };
    await waitFor(() => green(out.con), 15000, 'consumer connected');
    return out;
  }

  /** Rows in a publish node's outbox file, read beside the running node (WAL). */
  function outboxRows(pubId: string): number {
    const db = new Database(path.join(dir, 'plantsync', `outbox-${pubId}.db`), { readonly: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
    } finally {
      db.close();
    }
  }

  let seq = 0;
  const newEvent = (tag: string): Event => makeEvent(seq++, { idempotencykey: `${tag}-${seq}` }) as Event;

  async function queuesEmpty(): Promise<void> {
    const admin = await Admin.open(rabbit.url);
    try {
      for (const q of queuesOf(topology)) await waitFor(async () => (await admin.count(q)) === 0, 15000, `${q} empty`);
    } finally {
      await admin.close();
    }
  }

  /**
   * Feeds one event every 40 ms into `pubId` while the broker is stopped and started twice.
   * Phases: 0 before, 1 first outage (from the stop until the consumer is green again), 2 between,
   * 3 second outage, 4 after. Each up-phase lasts until 25 events were fed in it; the broker stays
   * down until `downUntil` holds for the events fed in the outage so far (progress, not time).
   */
  async function streamThroughTwoOutages(pubId: string, con: Status[], downUntil: (during: Event[]) => boolean, what: string) {
    const fed: Array<Event & { phase: number; at: number }> = [];
    const outages: Array<{ stopCalled: number; stopped: number; startCalled: number; reconnected: number }> = [];
    let phase = 0;
    let stop = false;
    const CAP = 1500; // 60 s of stream: far beyond two outages; hitting it fails the test
    const feeder = (async () => {
      while (!stop && fed.length < CAP) {
        const e = newEvent(pubId);
        fed.push({ ...e, phase, at: Date.now() });
        node(pubId).receive({ payload: e });
        await pause(40); // the stream's pace
      }
    })();
    const fedIn = (p: number) => fed.filter((e) => e.phase === p).length;
    try {
      await waitFor(() => fedIn(0) >= 25, 10000, 'stream running');
      for (let k = 0; k < 2; k++) {
        phase = 2 * k + 1;
        const stopCalled = Date.now();
        await rabbit.stopBroker();
        const stopped = Date.now();
        const p = phase;
        await waitFor(() => downUntil(fed.filter((e) => e.phase === p && e.at >= stopped)), 30000, `outage ${k + 1}: ${what}`);
        const startCalled = Date.now();
        await rabbit.startBroker();
        await waitFor(() => green(con) && con.some((s) => s.at > stopCalled && s.fill === 'yellow'), 30000, `consumer green after outage ${k + 1}`);
        outages.push({ stopCalled, stopped, startCalled, reconnected: Date.now() });
        phase = 2 * k + 2;
        await waitFor(() => fedIn(phase) >= 25, 10000, `stream running after outage ${k + 1}`);
      }
    } finally {
      stop = true;
      await feeder;
    }
    assert.ok(fed.length < CAP, `the stream ended (${fed.length} events) before the second outage was over`);
    return { fed, outages };
  }

  it('with the outbox: every event worked exactly once, done only after confirm or outbox commit, consumers resume, the backlog drains', async () => {
    const flowState = await load([{ id: 'pub', outbox: true, timeout: 10 }]);
    const pub = flowState.pub.pub;
    const started = Date.now();
    const { fed, outages } = await streamThroughTwoOutages('pub', flowState.con, (during) => during.filter((e) => seen.committed.has(e.id)).length >= 5, '5 events stored in the outbox');

    // Every publish reported success (confirm or durable store), none failed.
    await waitFor(() => pub.done.length + pub.fail.length >= fed.length, 30000, `${fed.length} publishes done`);
    assert.deepEqual(pub.fail.map((m) => (m.error as { code?: string }).code), [], 'no publish failed');
    assert.equal(pub.outputs.length, fed.length);
    const unbacked = pub.outputs.filter((o) => !o.confirmed && !o.committed);
    assert.deepEqual(unbacked.map((o) => o.id), [], 'sent on before its confirm or outbox commit');
    const done = new Set(pub.done.map((m) => (m.payload as Event).id));
    assert.deepEqual(done, new Set(fed.map((e) => e.id)), 'done once per event');

    // The outages hit mid-stream: events of both outages were stored in the outbox.
    for (const p of [1, 3]) {
      const during = fed.filter((e) => e.phase === p);
      const stored = during.filter((e) => seen.committed.has(e.id));
      assert.ok(during.length > 0 && stored.length > 0, `outage ${(p + 1) / 2}: ${during.length} fed, ${stored.length} buffered in the outbox`);
    }
    for (const o of outages) {
      assert.ok(pub.status.some((s) => s.at > o.stopCalled && s.at < o.reconnected + 1000 && s.fill === 'yellow' && s.text === TEXT.buffering), 'the node showed its outbox backlog');
    }

    // No event lost, each worked exactly once (the guard absorbs redeliveries after the outages).
    const keys = fed.map((e) => e.idempotencykey);
    await waitFor(() => keys.every((k) => work.effects.has(k)), 60000, 'every event worked');
    await queuesEmpty();
    const twice = [...work.effects].filter(([, n]) => n !== 1);
    assert.deepEqual(twice, [], 'each key worked exactly once');
    assert.equal(work.effects.size, fed.length);

    // Consumers resumed without redeploy: the same node went yellow and green twice and worked
    // what was fed after the second restart.
    const con = flowState.con;
    for (const o of outages) {
      assert.ok(con.some((s) => s.at > o.stopCalled && s.at < o.reconnected && s.fill === 'yellow' && s.text === TEXT.reconnecting), 'consumer showed reconnecting');
    }
    assert.ok(fed.filter((e) => e.phase === 4).every((e) => work.effects.get(e.idempotencykey) === 1));

    // The backlog is 0: in the node's status and in the outbox file itself.
    await waitFor(() => green(pub.status), 15000, 'publish node green (no backlog)');
    await helper.unload();
    const outbox = new Outbox(path.join(dir, 'plantsync', 'outbox-pub.db'));
    try {
      assert.equal(outbox.backlog(), 0, 'outbox drained');
    } finally {
      await outbox.close();
    }
    const store = await openIdempotencyStore({ kind: 'sqlite', file: path.join(dir, 'plantsync.db') });
    try {
      for (const e of fed) {
        const rec = await store.lookup(e.idempotencykey);
        assert.equal(rec?.state, 'completed', e.idempotencykey);
        assert.equal(rec?.result, e.id);
      }
    } finally {
      await store.close();
    }
    const phases = [0, 1, 2, 3, 4].map((p) => fed.filter((e) => e.phase === p).length).join('/');
    console.log(`      fed ${fed.length} (phases ${phases}), buffered ${fed.filter((e) => seen.committed.has(e.id)).length}, ` +
      `outages ${outages.map((o) => `${o.reconnected - o.stopCalled} ms`).join(', ')}, ${Date.now() - started} ms`);
  });

  it('without the outbox: a publish succeeds only after its confirm and every success arrives; during the outages publishes wait or fail', async () => {
    const flowState = await load([{ id: 'pub', outbox: false, timeout: 4 }]);
    const pub = flowState.pub.pub;
    const started = Date.now();
    // Down until a publish fed during the outage has timed out (4 s): later ones still wait.
    const timedOut = (during: Event[]) => {
      const ids = new Set(during.map((e) => e.id));
      return pub.fail.some((m) => ids.has((m.payload as Event).id));
    };
    const { fed, outages } = await streamThroughTwoOutages('pub', flowState.con, timedOut, 'a publish fed meanwhile timed out');

    // Every publish settles: success or an error, within its 4 s timeout after the stream.
    await waitFor(() => pub.done.length + pub.fail.length === fed.length, 15000, `${fed.length} publishes settled`);
    assert.equal(pub.outputs.length, pub.done.length);
    const codes = new Set(pub.fail.map((m) => (m.error as { code?: string }).code));
    assert.ok([...codes].every((c) => c === 'PUBLISH_TIMEOUT'), `failure codes: ${[...codes].join(', ')}`);
    assert.deepEqual(seen.committed, new Set(), 'no outbox');

    // Success only after the broker's confirm; none while the broker was down.
    assert.deepEqual(pub.outputs.filter((o) => !o.confirmed).map((o) => o.id), [], 'sent on before its confirm');
    for (const o of outages) {
      const whileDown = pub.outputs.filter((r) => r.at >= o.stopped && r.at < o.startCalled);
      assert.deepEqual(whileDown.map((r) => r.id), [], 'a publish reported success while the broker was down');
    }

    // Publishes fed during an outage either waited for the broker (success after its start) or
    // failed with their timeout: both happen, none succeeded early.
    const outputAt = new Map(pub.outputs.map((o) => [o.id, o.at]));
    const failed = new Set(pub.fail.map((m) => (m.payload as Event).id));
    for (const p of [1, 3]) {
      const o = outages[(p - 1) / 2];
      const during = fed.filter((e) => e.phase === p && e.at >= o.stopped);
      const waited = during.filter((e) => (outputAt.get(e.id) ?? 0) >= o.startCalled);
      const timedOut = during.filter((e) => failed.has(e.id));
      assert.equal(waited.length + timedOut.length, during.length, `outage ${(p + 1) / 2}: every publish waited or failed`);
      assert.ok(waited.length > 0 && timedOut.length > 0, `outage ${(p + 1) / 2}: ${waited.length} waited, ${timedOut.length} timed out`);
    }

    // Every reported success arrives downstream and is worked exactly once; a failed publish may
    // still arrive (it may have reached the broker), but never twice.
    const succeeded = fed.filter((e) => outputAt.has(e.id));
    await waitFor(() => succeeded.every((e) => work.effects.has(e.idempotencykey)), 30000, 'every successful publish worked');
    await queuesEmpty();
    assert.deepEqual(succeeded.filter((e) => work.effects.get(e.idempotencykey) !== 1).map((e) => e.id), [], 'worked exactly once');
    assert.ok([...work.effects.values()].every((n) => n === 1), 'no key worked twice');
    assert.ok(fed.filter((e) => e.phase === 4).every((e) => work.effects.get(e.idempotencykey) === 1), 'consumer resumed after the second restart');
    console.log(`      fed ${fed.length}, succeeded ${succeeded.length}, timed out ${failed.size} (of which arrived ${[...failed].filter((id) => work.effects.has(fed.find((e) => e.id === id)!.idempotencykey)).length}), ${Date.now() - started} ms`);
  });

  it('a memory alarm blocks the connection: statuses show it, publishers pause (outbox / waiting), and finish after the alarm clears', async () => {
    const flowState = await load([{ id: 'pubo', outbox: true, timeout: 10 }, { id: 'pubn', outbox: false, timeout: 30 }]);
    const { pubo, pubn } = flowState.pub;
    const first = [newEvent('pubo'), newEvent('pubn')];
    node('pubo').receive({ payload: first[0] });
    node('pubn').receive({ payload: first[1] });
    await waitFor(() => pubo.done.length === 1 && pubn.done.length === 1, 10000, 'both published');

    const all: Event[] = [...first];
    let unblockedAt = 0;
    await rabbit.ctl(['set_vm_memory_high_watermark', '0']);
    try {
      // RabbitMQ blocks a connection (and sends connection.blocked) only once it publishes after
      // the alarm: the first publish is the probe that finds out. It goes out unconfirmed, then
      // (store and forward) into the outbox, and is done.
      const probe = newEvent('pubo');
      all.push(probe);
      node('pubo').receive({ payload: probe });
      const isBlocked = (list: Status[]) => last(list).fill === 'yellow' && TEXT.blocked.test(last(list).text ?? '');
      await waitFor(() => isBlocked(flowState.con) && isBlocked(pubn.status), 10000, 'consume and publish nodes show blocked');
      await waitFor(() => pubo.done.length === 2, 5000, 'the probe done');
      assert.ok(pubo.outputs[1].committed && !pubo.outputs[1].confirmed, 'the probe done after its outbox commit');

      const sendsBefore = seen.sends.get(exchange) ?? 0;
      const worked = work.effects.size;
      const viaOutbox = Array.from({ length: 20 }, () => newEvent('pubo'));
      const waiting = Array.from({ length: 20 }, () => newEvent('pubn'));
      all.push(...viaOutbox, ...waiting);
      for (const e of viaOutbox) node('pubo').receive({ payload: e });
      for (const e of waiting) node('pubn').receive({ payload: e });

      // With the outbox: done once stored; the status shows the backlog.
      await waitFor(() => pubo.done.length === 22, 10000, 'outbox publishes done');
      assert.ok(pubo.outputs.slice(1).every((o) => o.committed && !o.confirmed), 'done after the outbox commit, not a confirm');
      await waitFor(() => last(pubo.status).text === TEXT.buffering, 5000, 'buffering status');
      assert.equal(outboxRows('pubo'), 21, 'the probe and 20 events wait in the outbox file');
      // Without it: they wait, held by the publisher. Nothing reaches the blocked connection,
      // nothing is consumed.
      await waitFor(() => [...seen.publishers].some((p) => p.stats().waiting === 20), 10000, 'the 20 publishes waiting in the publisher');
      assert.equal(pubn.done.length, 1, 'no publish without the outbox completed while blocked');
      assert.equal(pubn.fail.length, 0);
      assert.equal((seen.sends.get(exchange) ?? 0) - sendsBefore, 0, 'publishers paused: no basic.publish on the blocked connection');
      assert.equal(work.effects.size, worked, 'nothing consumed while blocked');
      assert.ok(!seen.confirmed.has(probe.id), 'the probe is not confirmed while blocked');
      assert.ok(isBlocked(flowState.con) && isBlocked(pubn.status), 'still blocked');
    } finally {
      unblockedAt = Date.now();
      await rabbit.ctl(['set_vm_memory_high_watermark', '0.4']);
    }

    await waitFor(() => green(flowState.con) && green(pubn.status), 10000, 'connected again');
    await waitFor(() => pubn.done.length === 21, 15000, 'the waiting publishes completed');
    assert.ok(pubn.outputs.slice(1).every((o) => o.confirmed && o.at >= unblockedAt), 'the waiting publishes completed on their confirm after the alarm');
    await waitFor(() => green(pubo.status), 15000, 'outbox drained (status green)');
    await waitFor(() => all.every((e) => work.effects.has(e.idempotencykey)), 20000, 'every event worked');
    await queuesEmpty();
    assert.ok([...work.effects.values()].every((n) => n === 1), 'exactly once');
    assert.equal(work.effects.size, all.length);
    assert.equal(pubo.fail.length + pubn.fail.length, 0);
  });
});
