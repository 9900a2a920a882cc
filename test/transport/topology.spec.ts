import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { BrokerConnection } from '../../lib/transport/broker-connection';
import { Publisher } from '../../lib/transport/publisher';
import { bindingKeyFor, declareTopology, queuesOf, resolveTopology, routingKeyOf, TRANSPORT_DEFAULTS } from '../../lib/transport/topology';
import { sharedRabbit, uniqueName } from '../helpers/rabbitmq';
import { Admin, fastBroker, makeEvent, TYPE } from './util';

describe('transport: topology', function () {
  this.timeout(60000);
  let url: string;
  let admin: Admin;

  before(async () => {
    url = (await sharedRabbit()).url;
    admin = await Admin.open(url);
  });
  after(async () => admin?.close());

  it('resolves documented default names and tiers', () => {
    const t = resolveTopology({ group: 'erp-confirmations' });
    assert.equal(t.exchange, 'plantsync.events');
    assert.equal(t.workQueue, 'plantsync.erp-confirmations');
    assert.equal(t.parkingQueue, 'plantsync.erp-confirmations.parking');
    assert.deepEqual(t.retryTiers.map((r) => [r.queue, r.ttlMs]), [
      ['plantsync.erp-confirmations.retry.1s', 1000],
      ['plantsync.erp-confirmations.retry.10s', 10000],
      ['plantsync.erp-confirmations.retry.60s', 60000],
    ]);
    assert.equal(t.maxAttempts, 4);
    assert.equal(t.workQueueType, 'quorum');
    assert.deepEqual([...TRANSPORT_DEFAULTS.retryTiersMs], [1000, 10000, 60000]);
    assert.equal(routingKeyOf({ type: 'mfg.operation.completed.v2', siteid: 'P100' }), 'mfg.operation.completed.v2.P100');
    assert.equal(routingKeyOf({ type: 'mfg.operation.completed.v2' }), 'mfg.operation.completed.v2.unknown');
    assert.throws(() => resolveTopology({ group: 'g', retryTiersMs: [0] }), /positive integer/);
  });

  it('declares idempotently (twice, and with retry tiers as quorum queues)', async () => {
    const group = uniqueName('topo');
    for (const retryQueueType of ['classic', 'quorum'] as const) {
      const t = resolveTopology({ group: `${group}-${retryQueueType}`, exchange: uniqueName('ex'), retryTiersMs: [100, 500], retryQueueType });
      const ch = await admin.model.createChannel();
      await declareTopology(ch, t);
      await declareTopology(ch, t);
      await ch.close();
      for (const q of queuesOf(t)) assert.equal(await admin.count(q), 0, q);
      assert.equal(queuesOf(t).length, 4);
      await admin.deleteTopology(t);
      await admin.ch.deleteExchange(t.exchange);
    }
  });

  it('declares quorum work and parking queues, TTL retry queues dead-lettering back, as the broker lists their arguments', async () => {
    const rabbit = await sharedRabbit();
    const t = resolveTopology({ group: uniqueName('args'), exchange: uniqueName('ex'), retryTiersMs: [250, 1000] });
    const ch = await admin.model.createChannel();
    await declareTopology(ch, t);
    await ch.close();
    const listed = await rabbit.ctl(['list_queues', 'name', 'type', 'arguments', '--no-table-headers', '--quiet']);
    const row = (q: string) => listed.split('\n').find((l) => l.startsWith(`${q}\t`)) ?? '';
    assert.match(row(t.workQueue as string), /\tquorum\t/);
    assert.match(row(t.workQueue as string), /x-delivery-limit[^0-9]*50/);
    assert.match(row(t.workQueue as string), new RegExp(`x-dead-letter-routing-key[^a-z]*${t.parkingQueue!.replace(/\./g, '\\.')}`));
    assert.match(row(t.parkingQueue as string), /\tquorum\t/);
    assert.match(row(t.retryTiers[0].queue), /\tclassic\t.*x-message-ttl[^0-9]*250/);
    assert.match(row(t.retryTiers[1].queue), new RegExp(`x-dead-letter-routing-key[^a-z]*${t.workQueue!.replace(/\./g, '\\.')}`));
    await admin.deleteTopology(t);
    await admin.ch.deleteExchange(t.exchange);
  });

  it('a message returned to the work queue more often than the delivery limit is parked by the broker, not dropped', async () => {
    const t = resolveTopology({ group: uniqueName('limit'), exchange: uniqueName('ex'), deliveryLimit: 2 });
    const setup = await admin.model.createChannel();
    await declareTopology(setup, t);
    await setup.close();
    admin.ch.sendToQueue(t.workQueue as string, Buffer.from(JSON.stringify(makeEvent(1))), { persistent: true, messageId: 'm-1' });
    // Take it without acking and lose the channel, as a crashed consumer or a redeploy does.
    let deliveries = 0;
    for (let i = 0; i < 10; i++) {
      const ch = await admin.model.createChannel();
      const msg = await ch.get(t.workQueue as string, { noAck: false });
      await ch.close();
      if (msg === false) break;
      deliveries++;
    }
    assert.equal(deliveries, 3, 'the first delivery and two returns, then the limit');
    let parked = 0;
    for (let i = 0; i < 100 && parked === 0; i++) {
      parked = await admin.count(t.parkingQueue as string);
      if (parked === 0) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(parked, 1, 'in the parking lot');
    const [msg] = await admin.drain(t.parkingQueue as string);
    assert.equal(msg.properties.messageId, 'm-1');
    const death = (msg.properties.headers?.['x-death'] as Array<{ reason: string; queue: string }>)[0];
    assert.equal(death.reason, 'delivery_limit');
    assert.equal(death.queue, t.workQueue);
    assert.equal(await admin.count(t.workQueue as string), 0);
    await admin.deleteTopology(t);
    await admin.ch.deleteExchange(t.exchange);
  });

  it('routes by event type and site through the binding keys', async () => {
    const exchange = uniqueName('ex');
    const p100 = resolveTopology({ group: uniqueName('p100'), exchange, bindingKeys: [bindingKeyFor(TYPE, 'P100')] });
    const anySite = resolveTopology({ group: uniqueName('any'), exchange, bindingKeys: [bindingKeyFor(TYPE)] });
    const ch = await admin.model.createChannel();
    await declareTopology(ch, p100);
    await declareTopology(ch, anySite);
    await ch.close();
    const broker: BrokerConnection = fastBroker(url);
    const publisher = new Publisher(broker, { topology: p100 }).start();
    try {
      await publisher.publish(makeEvent(1, { siteid: 'P100' }));
      await publisher.publish(makeEvent(2, { siteid: 'P200' }));
      await assert.rejects(publisher.publish(makeEvent(3, { type: 'mfg.inventory.moved.v1', id: randomUUID() })), { code: 'UNROUTABLE' });
      const atP100 = await admin.drain(p100.workQueue as string);
      const atAny = await admin.drain(anySite.workQueue as string);
      assert.deepEqual(atP100.map((m) => m.fields.routingKey), [`${TYPE}.P100`]);
      assert.deepEqual(atAny.map((m) => m.fields.routingKey).sort(), [`${TYPE}.P100`, `${TYPE}.P200`]);
    } finally {
      await publisher.close();
      await admin.deleteTopology(p100);
      await admin.deleteTopology(anySite);
      await admin.ch.deleteExchange(exchange);
    }
  });
});
