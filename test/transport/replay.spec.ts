import * as assert from 'node:assert/strict';
import { BrokerConnection } from '../../lib/transport/broker-connection';
import { Consumer } from '../../lib/transport/consumer';
import { HEADERS } from '../../lib/transport/message';
import { Publisher } from '../../lib/transport/publisher';
import { replayParked } from '../../lib/transport/replay';
import { resolveTopology, type Topology } from '../../lib/transport/topology';
import { sharedRabbit, uniqueName } from '../helpers/rabbitmq';
import { Admin, fastBroker, makeEvent, waitFor } from './util';

describe('transport: replay from the parking lot', function () {
  this.timeout(60000);
  let url: string;
  let admin: Admin;
  let broker: BrokerConnection;
  let topology: Topology;
  let consumer: Consumer;
  let publisher: Publisher;
  /** Events the handler lets through (by id); everything else fails until parked. */
  const healed = new Set<string>();
  const handled: Array<{ id: string; attempt: number; replayed: unknown }> = [];

  before(async () => {
    url = (await sharedRabbit()).url;
    admin = await Admin.open(url);
    topology = resolveTopology({ group: uniqueName('replay'), exchange: uniqueName('ex'), retryTiersMs: [50], maxAttempts: 2 });
    broker = fastBroker(url);
    consumer = new Consumer(broker, {
      topology,
      handler: async (d) => {
        const id = (d.event as { id: string }).id;
        if (!healed.has(id)) throw Object.assign(new Error('target down'), { code: 'TARGET_DOWN' });
        handled.push({ id, attempt: d.attempt, replayed: d.headers[HEADERS.replayed] });
      },
    }).start();
    publisher = new Publisher(broker, { topology }).start();
    await waitFor(() => consumer.consuming, 10000, 'subscribed');
  });
  after(async () => {
    await consumer?.close(2000);
    await publisher?.close();
    await broker?.close();
    if (topology) await admin.deleteTopology(topology);
    await admin?.close();
  });

  it('replays by type, then by correlation id, once each, leaving the others parked in order', async () => {
    const a = [makeEvent(1, { type: 'mfg.inventory.moved.v1', correlationid: 'LOT-1' }), makeEvent(2, { type: 'mfg.inventory.moved.v1', correlationid: 'LOT-2' })];
    const b = [makeEvent(3, { correlationid: 'WO-9' }), makeEvent(4, { correlationid: 'WO-8' }), makeEvent(5, { correlationid: 'WO-9' })];
    for (const e of [...a, ...b]) await publisher.publish(e);
    await waitFor(async () => (await admin.count(topology.parkingQueue as string)) === 5, 10000, 'five parked');
    for (const e of [...a, ...b]) healed.add(e.id);

    const model = await broker.whenConnected(5000);
    const byType = await replayParked(model, topology, { type: 'mfg.inventory.moved.v1' });
    assert.deepEqual(byType, { examined: 5, replayed: 2, kept: 3 });
    await waitFor(() => handled.length === 2, 10000, 'two replayed handled');
    assert.deepEqual(handled.map((h) => h.id).sort(), a.map((e) => e.id).sort());
    assert.ok(handled.every((h) => h.attempt === 1 && h.replayed === true));

    const byCorrelation = await replayParked(model, topology, { correlationId: 'WO-9' });
    assert.deepEqual(byCorrelation, { examined: 3, replayed: 2, kept: 1 });
    await waitFor(() => handled.length === 4, 10000, 'four handled');
    // A marker published after the replays reaches the handler only after everything queued ahead
    // of it (one queue, one consumer, handlers started in delivery order): a second copy of a
    // replayed event would be handled before it.
    const marker = makeEvent(6);
    healed.add(marker.id);
    await publisher.publish(marker);
    await waitFor(() => handled.some((h) => h.id === marker.id), 10000, 'the marker handled');
    assert.deepEqual(handled.map((h) => h.id).slice(4), [marker.id], 'each replayed once: nothing but the marker after the four');
    assert.deepEqual(handled.slice(2, 4).map((h) => h.id).sort(), [b[0].id, b[2].id].sort());

    const left = await admin.drain(topology.parkingQueue as string);
    assert.deepEqual(left.map((m) => m.properties.messageId), [b[1].id]);
    assert.equal(left[0].properties.headers?.[HEADERS.parkedReason], 'TARGET_DOWN');
    assert.equal(left[0].properties.headers?.[HEADERS.attempts], 2);
  });

  it('replays by time range and with a bound; an empty selector replays nothing', async () => {
    const events = [0, 1, 2, 3].map((i) => makeEvent(i, { time: new Date(Date.UTC(2025, 5, 1, 10, i)).toISOString() }));
    for (const e of events) await publisher.publish(e);
    await waitFor(async () => (await admin.count(topology.parkingQueue as string)) === 4, 10000, 'four parked');
    for (const e of events) healed.add(e.id);
    const model = await broker.whenConnected(5000);
    assert.deepEqual(await replayParked(model, topology, {}), { examined: 4, replayed: 0, kept: 4 });
    const before = handled.length;
    const r = await replayParked(model, topology, { from: new Date(Date.UTC(2025, 5, 1, 10, 1)), to: new Date(Date.UTC(2025, 5, 1, 10, 3)) }, { limit: 2 });
    assert.equal(r.replayed, 2);
    await waitFor(() => handled.length === before + 2, 10000, 'two handled');
    assert.deepEqual(handled.slice(before).map((h) => h.id).sort(), [events[1].id, events[2].id].sort());
    const all = await replayParked(model, topology, { all: true });
    assert.equal(all.replayed, 2);
    await waitFor(() => handled.length === before + 4, 10000, 'all handled');
    assert.equal(await admin.count(topology.parkingQueue as string), 0);
  });
});
