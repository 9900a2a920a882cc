/**
 * Broker outages mid-stream, on a private node of its own (stopped and started twice while
 * publishing and consuming). Loopback only; every wait bounded.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Outbox } from '../../lib/delivery/outbox';
import type { BrokerStatus } from '../../lib/transport/broker-connection';
import { Consumer } from '../../lib/transport/consumer';
import { Publisher } from '../../lib/transport/publisher';
import { queuesOf, resolveTopology } from '../../lib/transport/topology';
import { startRabbit, type RabbitServer } from '../helpers/rabbitmq';
import { Admin, fastBroker, makeEvent, waitFor } from './util';
import { pause } from '../helpers/wait';

describe('transport: broker stopped and started twice mid-stream', function () {
  this.timeout(180000);
  let rabbit: RabbitServer | undefined;
  let dir: string;

  before(async () => {
    rabbit = await startRabbit();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-fault-'));
  });
  after(async () => {
    await rabbit?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('with an outbox: no acknowledged publish lost, consumers resume, the backlog drains', async () => {
    const server = rabbit as RabbitServer;
    const topology = resolveTopology({ group: 'fault', retryTiersMs: [200] });
    const outbox = new Outbox(path.join(dir, 'outbox.db'), { retry: 100 });
    const broker = fastBroker(server.url);
    const statuses: BrokerStatus['state'][] = [];
    broker.onStatus((s) => statuses.push(s.state));
    const processed = new Set<string>(); // the idempotency set downstream
    let deliveries = 0;
    let duplicates = 0;
    const consumer = new Consumer(broker, {
      topology,
      prefetch: 50,
      handler: async (d) => {
        deliveries++;
        const id = (d.event as { id: string }).id;
        if (processed.has(id)) duplicates++;
        else processed.add(id);
      },
    }).start();
    const publisher = new Publisher(broker, { topology, outbox, timeoutMs: 5000 }).start();
    await waitFor(() => consumer.consuming, 15000, 'consumer subscribed');

    const acknowledged: string[] = [];
    const failures: unknown[] = [];
    let running = true;
    let seq = 0;
    // Publisher stream: windows of 20 concurrent publishes, at most 400 a second, until told to
    // stop (the cap only bounds a run gone wrong: the stream goes on through both outages).
    const stream = (async () => {
      while (running && seq < 20000) {
        const batch = Array.from({ length: 20 }, () => makeEvent(seq++));
        const results = await Promise.allSettled(batch.map((e) => publisher.publish(e)));
        results.forEach((r, i) => (r.status === 'fulfilled' ? acknowledged.push(batch[i].id) : failures.push(r.reason)));
        await pause(50); // the stream's pace
      }
    })();
    /** Resolves once `n` more publishes were acknowledged (progress, not time, moves the test on). */
    const moreAcknowledged = (n: number, what: string) => {
      const from = acknowledged.length;
      return waitFor(() => acknowledged.length >= from + n || failures.length > 0, 30000, what);
    };

    let maxBacklog = 0;
    const watch = setInterval(() => (maxBacklog = Math.max(maxBacklog, publisher.stats().backlog)), 20);
    try {
      for (let outage = 0; outage < 2; outage++) {
        await moreAcknowledged(100, `100 publishes before outage ${outage + 1}`);
        const stored = publisher.stats().stored;
        await server.stopBroker();
        await waitFor(() => publisher.stats().stored >= stored + 100 || failures.length > 0, 30000, `100 publishes into the outbox during outage ${outage + 1}`);
        await server.startBroker();
        await waitFor(() => broker.status.state === 'connected' && consumer.consuming, 30000, `reconnected after outage ${outage + 1}`);
      }
      await moreAcknowledged(100, '100 publishes after the outages');
    } finally {
      running = false;
      await stream;
      clearInterval(watch);
    }
    assert.deepEqual(failures, [], 'every publish resolved (confirm or durable enqueue)');
    assert.ok(acknowledged.length > 200, `published ${acknowledged.length}`);
    assert.ok(maxBacklog > 0, 'the outbox was used during the outages');
    await waitFor(() => publisher.stats().backlog === 0, 30000, 'outbox drained');
    await waitFor(() => acknowledged.every((id) => processed.has(id)), 30000, 'every acknowledged event consumed');
    assert.equal(processed.size, acknowledged.length, 'exactly once downstream (idempotency set)');
    assert.ok(statuses.filter((s) => s === 'reconnecting').length >= 2, `statuses: ${statuses.join(',')}`);

    const admin = await Admin.open(server.url);
    try {
      await waitFor(async () => (await admin.count(topology.workQueue as string)) === 0 && consumer.stats().inFlight === 0, 10000, 'queues empty');
      for (const q of queuesOf(topology)) assert.equal(await admin.count(q), 0, q);
    } finally {
      await admin.close();
    }
    console.log(`      published ${acknowledged.length}, deliveries ${deliveries}, duplicates absorbed ${duplicates}, max backlog ${maxBacklog}, statuses ${statuses.join(' > ')}`);
    await consumer.close(2000);
    await publisher.close();
    await outbox.close();
    await broker.close();
  });
});
