import * as assert from 'node:assert/strict';
import type { BrokerStatus } from '../../lib/transport/broker-connection';
import { Publisher } from '../../lib/transport/publisher';
import { declareTopology, resolveTopology } from '../../lib/transport/topology';
import { freePort } from '../helpers/node-red-process';
import { sharedRabbit, uniqueName } from '../helpers/rabbitmq';
import { Admin, fastBroker, makeEvent, TYPE } from './util';

describe('transport: publisher', function () {
  this.timeout(60000);
  let url: string;
  let admin: Admin;

  before(async () => {
    url = (await sharedRabbit()).url;
    admin = await Admin.open(url);
  });
  after(async () => admin?.close());

  async function setup() {
    const topology = resolveTopology({ group: uniqueName('pub'), exchange: uniqueName('ex') });
    const ch = await admin.model.createChannel();
    await declareTopology(ch, topology);
    await ch.close();
    const broker = fastBroker(url);
    const statuses: BrokerStatus[] = [];
    broker.onStatus((s) => statuses.push(s));
    const publisher = new Publisher(broker, { topology, timeoutMs: 5000 }).start();
    const cleanup = async () => {
      await publisher.close();
      await admin.deleteTopology(topology);
      await admin.ch.deleteExchange(topology.exchange);
    };
    return { topology, broker, publisher, statuses, cleanup };
  }

  it('publishes persistent messages with properties from the envelope, after the confirm', async () => {
    const { topology, publisher, statuses, broker, cleanup } = await setup();
    try {
      const event = makeEvent(7, { correlationid: 'WO-7', idempotencykey: 'op-7', siteid: 'P100' });
      await publisher.publish(event);
      assert.equal(broker.status.state, 'connected');
      assert.deepEqual(statuses.map((s) => s.state), ['connecting', 'connected']);
      const [m] = await admin.drain(topology.workQueue as string);
      assert.deepEqual(JSON.parse(m.content.toString()), event);
      const p = m.properties;
      assert.equal(p.messageId, event.id);
      assert.equal(p.correlationId, 'WO-7');
      assert.equal(p.type, TYPE);
      assert.equal(p.timestamp, Math.floor(Date.parse(event.time as string) / 1000));
      assert.equal(p.contentType, 'application/json');
      assert.equal(p.appId, 'plantsync');
      assert.equal(p.deliveryMode, 2);
      assert.equal(p.headers?.idempotencykey, 'op-7');
      assert.equal(p.headers?.siteid, 'P100');
      assert.equal(m.fields.routingKey, `${TYPE}.P100`);
      assert.equal(publisher.stats().confirmed, 1);
    } finally {
      await cleanup();
    }
  });

  it('keeps many publishes in flight at once', async () => {
    const { topology, publisher, cleanup } = await setup();
    try {
      await publisher.publish(makeEvent(-1)); // connected
      let maxInFlight = 0;
      const all = [];
      for (let i = 0; i < 500; i++) {
        all.push(publisher.publish(makeEvent(i)));
        maxInFlight = Math.max(maxInFlight, publisher.stats().inFlight);
      }
      await Promise.all(all);
      assert.ok(maxInFlight > 100, `in flight at once: ${maxInFlight}`);
      assert.equal(await admin.count(topology.workQueue as string), 501);
    } finally {
      await cleanup();
    }
  });

  it('rejects an unroutable publish with UNROUTABLE, and only that one', async () => {
    const { publisher, broker, cleanup } = await setup();
    // The work queue binds '#', so the unroutable one goes to an exchange with no queue at all.
    const nowhere = new Publisher(broker, { topology: { exchange: uniqueName('empty-ex') } }).start();
    try {
      const results = await Promise.allSettled([publisher.publish(makeEvent(1)), nowhere.publish(makeEvent(2)), publisher.publish(makeEvent(3))]);
      assert.equal(results[0].status, 'fulfilled');
      assert.equal(results[2].status, 'fulfilled');
      assert.equal(results[1].status, 'rejected');
      assert.equal((results[1] as PromiseRejectedResult).reason.code, 'UNROUTABLE');
    } finally {
      await admin.ch.deleteExchange(nowhere.topology.exchange);
      await nowhere.close();
      await cleanup();
    }
  });

  it('rejects invalid events, and times out (PUBLISH_TIMEOUT) when no broker confirms in time', async () => {
    const port = await freePort(); // nothing listens there
    const broker = fastBroker(`amqp://guest:guest@127.0.0.1:${port}`);
    const publisher = new Publisher(broker, { timeoutMs: 300 }).start();
    try {
      await assert.rejects(publisher.publish({ type: TYPE }), { code: 'INVALID_EVENT' });
      const started = Date.now();
      await assert.rejects(publisher.publish(makeEvent(1)), { code: 'PUBLISH_TIMEOUT' });
      const took = Date.now() - started;
      assert.ok(took >= 280 && took < 3000, `timed out after ${took} ms`);
      assert.equal(broker.status.state, 'reconnecting');
      assert.equal(publisher.stats().waiting, 0);
    } finally {
      await publisher.close();
      assert.equal(broker.status.state, 'closed');
    }
  });
});
