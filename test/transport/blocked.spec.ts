/**
 * A broker resource alarm (connection.blocked / connection.unblocked) on a private node of its
 * own: the memory watermark set to 0 raises the alarm, 0.4 clears it. Loopback only; every wait
 * bounded.
 *
 * RabbitMQ 3.10 blocks a connection, and sends it connection.blocked, only when the connection
 * publishes while the alarm is on: an idle or consuming-only connection hears nothing. So the first
 * publish after the alarm goes out unconfirmed and is what reveals the block.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Outbox } from '../../lib/delivery/outbox';
import type { BrokerStatus } from '../../lib/transport/broker-connection';
import { Consumer } from '../../lib/transport/consumer';
import { Publisher } from '../../lib/transport/publisher';
import { resolveTopology } from '../../lib/transport/topology';
import { startRabbit, type RabbitServer } from '../helpers/rabbitmq';
import { Admin, fastBroker, makeEvent, waitFor } from './util';

type Outcome = { ok: true; at: number } | { ok: false; at: number; code?: string };

/** Records when and how a publish settled, without awaiting it. */
function track(p: Promise<void>): { outcome?: Outcome } {
  const t: { outcome?: Outcome } = {};
  p.then(
    () => (t.outcome = { ok: true, at: Date.now() }),
    (err: { code?: string }) => (t.outcome = { ok: false, at: Date.now(), code: err.code }),
  );
  return t;
}

describe('transport: broker resource alarm (blocked / unblocked)', function () {
  this.timeout(60000);
  let rabbit: RabbitServer | undefined;
  let dir: string;

  before(async () => {
    rabbit = await startRabbit();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-blocked-'));
  });
  after(async () => {
    await rabbit?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('publishers pause while blocked (outbox bounded by its capacity, plain publishes wait or time out) and complete after unblock, each consumed once', async () => {
    const server = rabbit as RabbitServer;
    const topology = resolveTopology({ group: 'blocked', retryTiersMs: [200] });
    const broker = fastBroker(server.url);
    const statuses: BrokerStatus[] = [];
    broker.onStatus((s) => statuses.push(s));
    const received: string[] = [];
    const consumer = new Consumer(broker, {
      topology,
      prefetch: 20,
      handler: (d) => {
        received.push((d.event as { id: string }).id);
      },
    }).start();
    const outbox = new Outbox(path.join(dir, 'outbox.db'), { capacity: 30, retry: 100 });
    const stored = new Publisher(broker, { topology, outbox, timeoutMs: 5000 }).start();
    const plain = new Publisher(broker, { topology, timeoutMs: 20000 }).start();
    const quick = new Publisher(broker, { topology, timeoutMs: 1000 }).start();
    const admin = await Admin.open(server.url);
    try {
      await waitFor(() => consumer.consuming && stored.ready && plain.ready && quick.ready, 15000, 'connected');
      const before = [makeEvent(0), makeEvent(1)];
      await stored.publish(before[0]);
      await plain.publish(before[1]);
      await waitFor(() => received.length === 2, 10000, 'consumed before the alarm');

      await server.ctl(['set_vm_memory_high_watermark', '0']);
      let unblockAt = 0;
      const acknowledged = before.map((e) => e.id);
      const probeEvent = makeEvent(2);
      const rejected: string[] = [];
      let probe: { outcome?: Outcome } = {};
      let waiting: Array<{ id: string; t: { outcome?: Outcome } }>;
      try {
        // Nothing tells an idle connection about the alarm: the probe goes out unconfirmed and
        // reveals the block; with an outbox it is then stored (and resolves) instead of waiting.
        probe = track(stored.publish(probeEvent));
        await waitFor(() => broker.status.state === 'blocked', 10000, 'connection blocked');
        assert.deepEqual(broker.status, { state: 'blocked', reason: 'low on memory' });
        assert.ok(!plain.ready && !stored.ready && !quick.ready, 'every publisher of the connection paused');
        await waitFor(() => probe.outcome !== undefined, 2000, 'the probe handed to the outbox');
        assert.equal(probe.outcome?.ok, true);
        assert.equal(outbox.backlog(), 1, 'the probe is in the outbox');
        acknowledged.push(probeEvent.id);
        const inFlight = () => stored.stats().inFlight + plain.stats().inFlight + quick.stats().inFlight;
        assert.equal(inFlight(), 1, 'only the probe is on the wire');

        // With an outbox: stored (resolves on commit) up to its capacity, then OUTBOX_FULL. Bounded.
        const burst = Array.from({ length: 40 }, (_, i) => makeEvent(10 + i));
        const results = await Promise.allSettled(burst.map((e) => stored.publish(e)));
        results.forEach((r, i) => (r.status === 'fulfilled' ? acknowledged.push(burst[i].id) : rejected.push((r.reason as { code: string }).code)));
        assert.equal(acknowledged.length, 3 + 29, 'the outbox took its capacity');
        assert.deepEqual([...new Set(rejected)], ['OUTBOX_FULL']);
        assert.equal(rejected.length, 11);
        assert.equal(outbox.backlog(), 30);

        // Without one: publishes wait (not sent) within their timeout; a short timeout fails them.
        // The short publish starts after the waiting ones: its 1 s timeout is also the stretch over
        // which the waiting ones are shown to stay unsent.
        waiting = Array.from({ length: 10 }, (_, i) => makeEvent(100 + i)).map((e) => ({ id: e.id, t: track(plain.publish(e)) }));
        const late = makeEvent(200);
        const lateAt = Date.now();
        const lateT = track(quick.publish(late));
        await waitFor(() => lateT.outcome !== undefined, 3000, 'the short publish timed out');
        assert.deepEqual({ ...lateT.outcome, at: 0 }, { ok: false, at: 0, code: 'PUBLISH_TIMEOUT' });
        assert.ok((lateT.outcome?.at ?? 0) - lateAt >= 990, 'the short publish waited its timeout');
        assert.equal(quick.stats().waiting, 0, 'a timed-out publish no longer waits');
        assert.equal(plain.stats().waiting, 10);
        assert.ok(waiting.every((w) => w.t.outcome === undefined), 'nothing confirmed while blocked');
        assert.equal(inFlight(), 1, 'publishers paused: nothing more was sent on the blocked connection');
        assert.equal(received.length, 2, 'nothing new consumed');
        assert.ok(stored.stats().confirmed === 1 && plain.stats().confirmed === 1);
      } finally {
        unblockAt = Date.now();
        await server.ctl(['set_vm_memory_high_watermark', '0.4']);
      }

      await waitFor(() => broker.status.state === 'connected', 10000, 'unblocked');
      await waitFor(() => waiting.every((w) => w.t.outcome !== undefined), 10000, 'waiting publishes settled');
      for (const t of waiting.map((w) => w.t)) {
        assert.equal(t.outcome?.ok, true);
        assert.ok((t.outcome?.at ?? 0) >= unblockAt, 'resolved only after the alarm cleared');
      }
      acknowledged.push(...waiting.map((w) => w.id));
      await waitFor(() => outbox.backlog() === 0, 15000, 'outbox drained');
      await waitFor(() => acknowledged.every((id) => received.includes(id)), 15000, 'every acknowledged publish consumed');
      // A marker through the outbox publisher's channel (where the probe's wire copy went) and the
      // one work queue reaches the handler only after every copy queued ahead of it.
      const marker = makeEvent(300);
      await stored.publish(marker);
      await waitFor(() => received.includes(marker.id), 15000, 'the marker consumed');
      assert.equal(received.pop(), marker.id, 'nothing after the marker');
      // Exactly what was acknowledged arrives: the refused and the timed-out publishes never went
      // out. Each once, but the probe: its wire copy and its outbox copy may both arrive.
      assert.deepEqual(new Set(received), new Set(acknowledged));
      const probes = received.filter((id) => id === probeEvent.id).length;
      assert.ok(probes === 1 || probes === 2, `probe received ${probes} times`);
      assert.equal(received.length - probes, acknowledged.length - 1, 'once each');
      await waitFor(async () => (await admin.count(topology.workQueue as string)) === 0, 5000, 'queue empty');
      const states = statuses.map((s) => s.state);
      assert.deepEqual(states.slice(states.indexOf('blocked')), ['blocked', 'connected']);
    } finally {
      await admin.close();
      await consumer.close(2000);
      await Promise.all([stored.close(), plain.close(), quick.close()]);
      await outbox.close();
      await broker.close();
    }
  });
});
