/**
 * One shared BrokerConnection, many users: a user's failure or close stays that user's, and the
 * connection's own lifecycle (hand-over, close, reopen) gives every user the one connection.
 * What the broker sees (connections, channels, consumers) is read with rabbitmqctl.
 */
import * as assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import { BrokerConnection, type BrokerStatus, type BrokerUser, type SetupEvent } from '../../lib/transport/broker-connection';
import { Consumer } from '../../lib/transport/consumer';
import { Publisher } from '../../lib/transport/publisher';
import { resolveTopology, type Topology } from '../../lib/transport/topology';
import { sharedRabbit, uniqueName, type RabbitServer } from '../helpers/rabbitmq';
import { Admin, brokerConnections, makeEvent, queueConsumers, waitFor, within } from './util';
import { pause } from '../helpers/wait';

describe('transport: users of one shared broker connection', function () {
  this.timeout(60000);
  let server: RabbitServer;
  let admin: Admin;
  const cleanups: Array<() => Promise<unknown>> = [];

  before(async () => {
    server = await sharedRabbit();
    admin = await Admin.open(server.url);
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await within(c(), 10000, 'cleanup').catch(() => undefined);
  });
  after(async () => admin?.close());

  function newBroker(): { broker: BrokerConnection; name: string; statuses: BrokerStatus['state'][] } {
    const name = uniqueName('conn');
    const broker = new BrokerConnection({ url: server.url, connectionName: name, heartbeatSec: 5, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } });
    const statuses: BrokerStatus['state'][] = [];
    broker.onStatus((s) => statuses.push(s.state));
    cleanups.push(() => broker.close());
    return { broker, name, statuses };
  }

  function dropTopologyLater(...topologies: Topology[]): void {
    cleanups.push(async () => {
      for (const t of topologies) await admin.deleteTopology(t);
      await admin.ch.deleteExchange(topologies[0].exchange).catch(() => undefined);
    });
  }

  it("a consumer whose queue exists with other arguments fails alone: reported, retried on the same connection, the others keep working", async () => {
    const exchange = uniqueName('ex');
    const good = resolveTopology({ group: uniqueName('good'), exchange, retryTiersMs: [200] });
    const bad = resolveTopology({ group: uniqueName('bad'), exchange, retryTiersMs: [200] });
    dropTopologyLater(good, bad);
    // The conflict: the work queue already exists as a classic queue; the consumer declares quorum.
    await admin.ch.assertQueue(bad.workQueue as string, { durable: true, arguments: { 'x-queue-type': 'classic' } });

    const { broker, name, statuses } = newBroker();
    const setups: SetupEvent[] = [];
    broker.onSetup((e) => setups.push(e));
    const goodSeen: string[] = [];
    const badSeen: string[] = [];
    const badErrors: Error[] = [];
    const goodConsumer = new Consumer(broker, { topology: good, handler: (d) => void goodSeen.push((d.event as { id: string }).id) });
    const badConsumer = new Consumer(broker, { topology: bad, handler: (d) => void badSeen.push((d.event as { id: string }).id), onError: (e) => badErrors.push(e as Error) });
    const publisher = new Publisher(broker, { topology: good, timeoutMs: 5000 });
    cleanups.push(() => publisher.close(), () => goodConsumer.close(2000), () => badConsumer.close(2000));
    goodConsumer.start();
    badConsumer.start();
    publisher.start();

    await waitFor(() => goodConsumer.consuming && publisher.ready, 10000, 'the working consumer and publisher set up');
    await waitFor(() => setups.filter((e) => !e.ok).length >= 3, 10000, 'the failing consumer retried its setup (3 failures reported)');
    const [first] = await brokerConnections(server.ctl, name);
    assert.ok(first, 'connected at the broker');

    // The working pair keeps going while the failing consumer keeps retrying: each publish is
    // followed by a further failed setup of the other consumer.
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) {
      const e = makeEvent(i);
      const failures = setups.filter((s) => !s.ok).length;
      await publisher.publish(e);
      sent.push(e.id);
      await waitFor(() => setups.filter((s) => !s.ok).length > failures, 10000, `a failed setup after publish ${i + 1}`);
    }
    await waitFor(() => sent.every((id) => goodSeen.includes(id)), 10000, 'the working consumer got every event');
    assert.equal(badConsumer.consuming, false);

    // The consumer's onError (what a node logs) hears of it once, with the broker's reason.
    assert.equal(badErrors.length, 1, 'the same failure reported once to the consumer, not per retry');
    assert.match(badErrors[0].message, /PRECONDITION_FAILED/);
    assert.match(badErrors[0].message, /inequivalent arg '/, "the broker's reason is reported");
    const failed = setups.filter((e) => !e.ok);
    assert.ok(failed.length >= 3 && failed.every((e) => e.user === badConsumer), 'the connection reports the failing user, and only it');
    assert.ok(failed.every((e) => !e.ok && /PRECONDITION_FAILED/.test(e.error.message) && e.nextInMs > 0));
    assert.deepEqual(failed.map((e) => !e.ok && e.attempt).slice(0, 3), [1, 2, 3]);

    assert.deepEqual(statuses, ['connecting', 'connected'], 'the connection was never rebuilt');
    const conns = await brokerConnections(server.ctl, name);
    assert.deepEqual(conns.map((c) => c.name), [first.name], 'still the one original connection');
    // Failed attempts leave no channels behind: 2 (working consumer) + 1 (publisher).
    await waitFor(async () => (await brokerConnections(server.ctl, name))[0]?.channels === 3, 5000, 'no channel of a failed setup left open');

    // The conflict removed: the next retry succeeds, on the same connection.
    await admin.ch.deleteQueue(bad.workQueue as string);
    await waitFor(() => badConsumer.consuming, 10000, 'the failing consumer recovered');
    assert.ok(setups.some((e) => e.ok && e.user === badConsumer), 'its recovery is reported too');
    const both = makeEvent(99);
    await publisher.publish(both);
    await waitFor(() => goodSeen.includes(both.id) && badSeen.includes(both.id), 10000, 'both consumers got the event');
    assert.deepEqual(statuses, ['connecting', 'connected']);
    assert.deepEqual((await brokerConnections(server.ctl, name)).map((c) => c.name), [first.name]);
    await waitFor(async () => (await brokerConnections(server.ctl, name))[0]?.channels === 5, 5000, 'five channels: 2 + 2 + 1');
  });

  it('a user registered while the connection is being set up is handed the connection too', async () => {
    const { broker } = newBroker();
    const calls: string[] = [];
    const late: BrokerUser = { onConnected: async () => void calls.push('late') };
    const early: BrokerUser = {
      onConnected: async (model) => {
        calls.push('early');
        await (await model.createChannel()).close(); // a real round trip before the late one registers
        broker.register(late);
      },
    };
    broker.register(early);
    await broker.whenConnected(10000);
    await waitFor(() => calls.includes('late'), 3000, 'the late user handed the connection');
    // 'connected' (what whenConnected waits for) is reported once the setup pass over the users
    // has ended: a second hand-over from that pass would have happened by then.
    assert.equal(broker.status.state, 'connected');
    assert.deepEqual(calls, ['early', 'late'], 'each handed over once');
  });

  it('a consumer or publisher closed during its own setup leaves no consumer and no channel behind', async () => {
    const topology = resolveTopology({ group: uniqueName('closing'), exchange: uniqueName('ex'), retryTiersMs: [200] });
    dropTopologyLater(topology);
    const { broker, name } = newBroker();
    // Holds the connection open (no channels of its own) and, handed the connection first, counts
    // every channel any user opens on it and whether it has closed.
    const channelsOpened: Array<{ closed: boolean }> = [];
    let opening = 0;
    const keeper: BrokerUser = {
      onConnected: async (model) => {
        const m = model as unknown as Record<'createChannel' | 'createConfirmChannel', () => Promise<EventEmitter>>;
        for (const method of ['createChannel', 'createConfirmChannel'] as const) {
          const original = m[method].bind(model);
          m[method] = async () => {
            opening++;
            try {
              const ch = await original();
              const record = { closed: false };
              channelsOpened.push(record);
              ch.once('close', () => (record.closed = true));
              return ch;
            } finally {
              opening--;
            }
          };
        }
      },
    };
    broker.register(keeper);
    await broker.whenConnected(10000);
    const channels = async () => (await brokerConnections(server.ctl, name))[0]?.channels;

    // The measurement works: a live consumer shows up as one consumer and two channels.
    const control = new Consumer(broker, { topology, handler: () => undefined }).start();
    await waitFor(() => control.consuming, 10000, 'control consumer subscribed');
    await waitFor(async () => (await channels()) === 2, 5000, 'two channels');
    assert.equal(await queueConsumers(server.ctl, topology.workQueue as string), 1);
    await control.close(2000);
    await waitFor(async () => (await channels()) === 0 && (await queueConsumers(server.ctl, topology.workQueue as string)) === 0, 5000, 'control closed');

    // Closed at different points of the setup: synchronously after start, after a turn, after a few ms.
    for (const after of [-1, 0, 1, 2, 4, 8, 15, 25]) {
      const consumer = new Consumer(broker, { topology, handler: () => undefined });
      const publisher = new Publisher(broker, { topology });
      consumer.start();
      publisher.start();
      // A point in the setup to close at (the scenario), not a wait for a result.
      if (after === 0) await new Promise((r) => setImmediate(r));
      else if (after > 0) await pause(after);
      await within(Promise.all([consumer.close(2000), publisher.close(2000)]), 5000, `close after ${after} ms`);
      assert.equal(consumer.consuming, false);
      assert.equal(publisher.ready, false);
    }
    // Every channel a setup opened (or was opening) has closed: no setup went on after its close.
    await waitFor(() => opening === 0 && channelsOpened.every((c) => c.closed), 5000, 'every channel opened by a setup closed');
    assert.ok(channelsOpened.length > 2, `the closes met setups that had opened channels (${channelsOpened.length})`);
    assert.equal(await queueConsumers(server.ctl, topology.workQueue as string), 0, 'no consumer left on the queue');
    assert.equal(await channels(), 0, 'no channel left open');
    assert.equal(broker.status.state, 'connected');
  });

  it('reopening while the last user is closing it: the close finishes and the broker sees one connection', async () => {
    const { broker, name, statuses } = newBroker();
    const a: BrokerUser = { onConnected: async () => undefined };
    let bConnected = 0;
    const b: BrokerUser = { onConnected: async () => void bConnected++ };
    broker.register(a);
    await broker.whenConnected(10000);
    const closing = broker.deregister(a); // the last user: closes the connection
    broker.register(b); // a redeploy's new user, before that close finished
    await within(closing, 5000, 'the close of the old connection');
    await waitFor(() => bConnected === 1 && broker.status.state === 'connected', 10000, 'the new user connected');
    // The one quiet window left: a second connect loop (the bug) would connect only after its
    // reconnect delay (at most maxDelayMs, 1000 ms here), and BrokerConnection takes no clock or
    // timer to drive; so the check outlasts that delay.
    await pause(1500);
    const conns = await brokerConnections(server.ctl, name);
    assert.equal(conns.length, 1, `connections at the broker: ${JSON.stringify(conns)}`);
    assert.equal(bConnected, 1);
    assert.deepEqual(statuses, ['connecting', 'connected', 'closed', 'connecting', 'connected']);
    await within(broker.close(), 5000, 'the final close');
    await waitFor(async () => (await brokerConnections(server.ctl, name)).length === 0, 5000, 'no connection left');
    assert.equal(broker.status.state, 'closed');
  });
});
