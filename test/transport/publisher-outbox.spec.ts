/**
 * Publisher with an outbox, at the edges: a confirm that does not come in time (a half-open link,
 * played by a TCP relay that stops forwarding), and outbox entries the broker keeps refusing.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Outbox, type OutboxEntry } from '../../lib/delivery/outbox';
import { BrokerConnection } from '../../lib/transport/broker-connection';
import { Publisher } from '../../lib/transport/publisher';
import { declareTopology, resolveTopology } from '../../lib/transport/topology';
import { sharedRabbit, uniqueName, type RabbitServer } from '../helpers/rabbitmq';
import { Admin, fastBroker, makeEvent, waitFor, within } from './util';

/**
 * A loopback TCP relay to the broker. `hold()` stops forwarding both ways without closing anything
 * (bytes wait in the socket buffers, as on a link that went quiet); `release()` forwards them again.
 */
class Relay {
  private readonly pairs: Array<[net.Socket, net.Socket]> = [];
  private held = false;
  private constructor(private readonly server: net.Server, readonly port: number) {}

  static async start(targetPort: number): Promise<Relay> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const relay = new Relay(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => {
      const upstream = net.connect(targetPort, '127.0.0.1');
      relay.pairs.push([client, upstream]);
      client.pipe(upstream);
      upstream.pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      if (relay.held) relay.hold();
    });
    return relay;
  }

  hold(): void {
    this.held = true;
    for (const [a, b] of this.pairs) {
      a.pause();
      b.pause();
    }
  }

  release(): void {
    this.held = false;
    for (const [a, b] of this.pairs) {
      a.resume();
      b.resume();
    }
  }

  async close(): Promise<void> {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('transport: publisher with an outbox', function () {
  this.timeout(60000);
  let server: RabbitServer;
  let admin: Admin;
  let dir: string;
  const cleanups: Array<() => Promise<unknown>> = [];

  before(async () => {
    server = await sharedRabbit();
    admin = await Admin.open(server.url);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-pub-outbox-'));
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await within(c(), 10000, 'cleanup').catch(() => undefined);
  });
  after(async () => {
    await admin?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a direct publish whose confirm times out (half-open link) goes to the outbox and resolves; the event arrives once the link is back', async () => {
    const topology = resolveTopology({ group: uniqueName('halfopen'), exchange: uniqueName('ex'), retryTiersMs: [200] });
    const ch = await admin.model.createChannel();
    await declareTopology(ch, topology);
    await ch.close();
    cleanups.push(async () => {
      await admin.deleteTopology(topology);
      await admin.ch.deleteExchange(topology.exchange);
    });
    const relay = await Relay.start(server.port);
    cleanups.push(() => relay.close());
    // Heartbeats far apart: the held link is not detected as dead during the test.
    const broker = new BrokerConnection({ url: `amqp://guest:guest@127.0.0.1:${relay.port}`, heartbeatSec: 60, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } });
    cleanups.push(() => broker.close());
    const outbox = new Outbox(path.join(dir, `${uniqueName('halfopen')}.db`), { retry: 100 });
    cleanups.push(() => outbox.close());
    const publisher = new Publisher(broker, { topology, outbox, timeoutMs: 300 }).start();
    cleanups.push(() => publisher.close(1000));
    cleanups.push(async () => relay.release()); // a failed run must not leave the closes hanging on the held link

    await waitFor(() => publisher.ready, 10000, 'publisher ready');
    const before = makeEvent(1);
    await publisher.publish(before);
    assert.equal(publisher.stats().confirmed, 1, 'sent directly and confirmed');

    relay.hold();
    const event = makeEvent(2);
    const t0 = Date.now();
    await publisher.publish(event); // before the fix: rejected with PUBLISH_TIMEOUT
    const took = Date.now() - t0;
    assert.ok(took >= 280 && took < 3000, `resolved after the timeout, via the outbox (${took} ms)`);
    assert.equal(publisher.stats().stored, 1, 'stored in the outbox');
    assert.equal(publisher.stats().failed, 0);
    assert.equal(broker.status.state, 'connected', 'the link looks fine from here: nothing detected');
    // The 300 ms the publish waited for its confirm are the stretch over which nothing got through.
    assert.equal(await admin.count(topology.workQueue as string), 1, 'nothing got through the held link');

    relay.release();
    await waitFor(() => outbox.backlog() === 0, 10000, 'the outbox forwarded the event');
    await waitFor(async () => (await admin.count(topology.workQueue as string)) >= 2, 5000, 'the event arrived');
    // The copies still in the relay's buffers went out on the publisher's one channel before a
    // marker published now: once the marker is confirmed, they are all in the queue.
    const marker = makeEvent(3);
    await publisher.publish(marker);
    await waitFor(() => outbox.backlog() === 0, 10000, 'the marker forwarded');
    const drained = (await admin.drain(topology.workQueue as string)).map((m) => m.properties.messageId as string);
    assert.equal(drained[drained.length - 1], marker.id, 'the marker last');
    // (The marker too may go out twice if its own confirm is slower than the 300 ms timeout.)
    const ids = drained.filter((id) => id !== marker.id);
    assert.equal(ids.filter((id) => id === before.id).length, 1);
    // The direct send and every outbox attempt that timed out on the stalled link sat in its
    // buffers and arrive now: duplicates are possible (consumers deduplicate), a loss is not.
    const copies = ids.filter((id) => id === event.id).length;
    assert.ok(copies >= 1, `the timed-out event arrived (${copies}x)`);
    assert.equal(ids.length, 1 + copies, 'nothing else');
  });

  it('an outbox entry the broker keeps refusing (UNROUTABLE) is reported once per entry and error, and still retried', async () => {
    const exchange = uniqueName('ex-nobody'); // declared by the publisher, no queue bound yet
    const outbox = new Outbox(path.join(dir, `${uniqueName('unroutable')}.db`), { retry: 100 });
    cleanups.push(() => outbox.close());
    const events = [makeEvent(1, { subject: 'WO-A' }), makeEvent(2, { subject: 'WO-B' })];
    for (const e of events) await outbox.enqueue(e.subject as string, e);
    const reported: Array<{ code?: string; entry?: OutboxEntry }> = [];
    const broker = fastBroker(server.url);
    cleanups.push(() => broker.close());
    const publisher = new Publisher(broker, {
      topology: { exchange },
      outbox,
      timeoutMs: 2000,
      onError: (error, entry) => reported.push({ code: (error as { code?: string }).code, entry }),
    }).start();
    cleanups.push(() => publisher.close(1000));
    cleanups.push(() => admin.ch.deleteExchange(exchange));

    await waitFor(() => outbox.stats().failed >= 10, 10000, 'the entries retried several times');
    assert.equal(outbox.backlog(), 2, 'kept, not dropped');
    assert.equal(reported.length, 2, `one report per entry: ${JSON.stringify(reported.map((r) => r.code))}`);
    assert.deepEqual(reported.map((r) => r.code), ['UNROUTABLE', 'UNROUTABLE']);
    assert.deepEqual(new Set(reported.map((r) => (r.entry?.payload as { id: string }).id)), new Set(events.map((e) => e.id)));

    // Routable again: the retries deliver.
    const queue = uniqueName('catch-all');
    await admin.ch.assertQueue(queue, { durable: false });
    cleanups.push(() => admin.ch.deleteQueue(queue));
    await admin.ch.bindQueue(queue, exchange, '#');
    await waitFor(() => outbox.backlog() === 0, 10000, 'outbox drained');
    await waitFor(async () => (await admin.count(queue)) === 2, 5000, 'both arrived');
    assert.equal(reported.length, 2, 'no further reports');
  });
});
