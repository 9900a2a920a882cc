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
