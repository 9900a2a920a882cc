import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { PlantSyncError } from '../../lib/errors';
import { Outbox, type OutboxEntry, type OutboxOptions, type OutboxStats } from '../../lib/delivery/outbox';
import { TokenBucket } from '../../lib/delivery/rate-limiter';
import { waitFor } from '../helpers/wait';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-outbox-'));
let n = 0;
const freshFile = () => path.join(dir, `outbox-${++n}.db`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const isCode = (code: string) => (e: unknown) => e instanceof PlantSyncError && e.code === code;

/** Records deliveries per partition and checks that a partition never has two in flight. */
function recorder(delayMs: () => number = () => 0) {
  const byPartition = new Map<string, unknown[]>();
  const busy = new Set<string>();
  let inFlight = 0;
  let maxInFlight = 0;
  let overlap = false;
  const deliver = async (e: OutboxEntry) => {
    if (busy.has(e.partitionKey)) overlap = true;
    busy.add(e.partitionKey);
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    const d = delayMs();
    if (d > 0) await sleep(d);
    inFlight--;
    busy.delete(e.partitionKey);
    const list = byPartition.get(e.partitionKey) ?? [];
    list.push((e.payload as { seq: number }).seq);
    byPartition.set(e.partitionKey, list);
  };
  return {
    deliver,
    byPartition,
    total: () => [...byPartition.values()].reduce((s, l) => s + l.length, 0),
    maxInFlight: () => maxInFlight,
    overlap: () => overlap,
    inFlight: () => inFlight,
  };
}

describe('delivery: Outbox', function () {
  this.timeout(20000);
  const open: Outbox[] = [];
  const make = (file: string, options: OutboxOptions = {}) => {
    const o = new Outbox(file, options);
    open.push(o);
    return o;
  };
  afterEach(async () => {
    for (const o of open.splice(0)) await o.close();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('has committed an entry when enqueue resolves: another connection sees it, and a reopened outbox finds it', async () => {
    const file = freshFile();
    const outbox = make(file);
    const acks = await Promise.all(Array.from({ length: 50 }, (_, i) => outbox.enqueue(`p${i % 3}`, { seq: i })));
    assert.deepEqual(
      acks.map((a) => a.id),
      [...acks.map((a) => a.id)].sort((a, b) => a - b),
    );
    assert.equal(new Set(acks.map((a) => a.id)).size, 50);
    assert.equal(acks[49].backlog, 50);
    // A second connection only sees committed data.
    const raw = new Database(file, { readonly: true });
    try {
      assert.equal((raw.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n, 50);
    } finally {
      raw.close();
    }
    await outbox.close();
    const again = make(file);
    assert.equal(again.backlog(), 50);
    const stored = again.peek(1000);
    assert.deepEqual(
      stored.map((e) => (e.payload as { seq: number }).seq),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.deepEqual(
      stored.map((e) => e.id),
      acks.map((a) => a.id),
    );
  });

  it('round-trips payloads and headers (objects, strings, numbers, null, unicode) through storage and delivery', async () => {
    const file = freshFile();
    const payloads: unknown[] = [
      { order: 'WO-1', qty: 12.5, tags: ['a', 'b'], nested: { ok: true, none: null } },
      'plain string',
      '',
      42,
      null,
      [1, 'two', { three: 3 }],
      { text: 'Größe Ω 測試 🏭 \u0000 "quoted" \\ back\nline' },
    ];
    const first = make(file);
    for (const p of payloads) await first.enqueue('k', p, { 'content-type': 'application/json', 'x-ünï': 'välue 🙂' });
    await first.enqueue('k', { last: true });
    await first.close();
    const outbox = make(file);
    const got: OutboxEntry[] = [];
    outbox.start(async (e) => {
      got.push(e);
    });
    await waitFor(() => got.length === payloads.length + 1, 5000, 'all deliveries');
    assert.deepEqual(
      got.slice(0, payloads.length).map((e) => e.payload),
      payloads,
    );
    for (const e of got.slice(0, payloads.length)) assert.deepEqual(e.headers, { 'content-type': 'application/json', 'x-ünï': 'välue 🙂' });
    assert.deepEqual(got[payloads.length].headers, {});
    assert.ok(got.every((e) => e.partitionKey === 'k' && e.attempts === 0 && e.lastError === null && typeof e.enqueuedAt === 'number'));
  });

  it('rejects input it cannot store, and everything after close', async () => {
    const outbox = make(freshFile());
    await assert.rejects(outbox.enqueue('k', undefined), isCode('INVALID_INPUT'));
    await assert.rejects(outbox.enqueue('', {}), isCode('INVALID_INPUT'));
    await assert.rejects(outbox.enqueue('k', { big: BigInt(1) }), isCode('INVALID_INPUT'));
    await assert.rejects(outbox.enqueue('k', {}, { n: 1 } as unknown as Record<string, string>), isCode('INVALID_INPUT'));
    assert.equal(outbox.backlog(), 0);
    await outbox.close();
    await assert.rejects(outbox.enqueue('k', {}), isCode('STORE_CLOSED'));
    assert.throws(() => outbox.start(async () => undefined), isCode('STORE_CLOSED'));
  });

  it('delivers each partition in enqueue order, one at a time, while partitions run in parallel up to concurrency', async () => {
    const outbox = make(freshFile(), { concurrency: 4, batchSize: 16 });
    const rec = recorder(() => Math.floor(Math.random() * 4));
    outbox.start(rec.deliver);
    const partitions = 8;
    const perPartition = 40;
    const acks: Array<Promise<unknown>> = [];
    for (let seq = 0; seq < perPartition; seq++) {
      for (let p = 0; p < partitions; p++) acks.push(outbox.enqueue(`p${p}`, { seq }));
      if (seq % 10 === 9) await Promise.all(acks); // enqueue while draining
    }
    await Promise.all(acks);
    await waitFor(() => rec.total() === partitions * perPartition, 15000, 'all deliveries');
    for (let p = 0; p < partitions; p++) assert.deepEqual(rec.byPartition.get(`p${p}`), Array.from({ length: perPartition }, (_, i) => i), `order of p${p}`);
    assert.equal(rec.overlap(), false, 'a partition had two deliveries in flight');
    assert.ok(rec.maxInFlight() <= 4, `max in flight ${rec.maxInFlight()} > concurrency`);
    assert.ok(rec.maxInFlight() > 1, 'partitions were not delivered in parallel');
    await waitFor(() => outbox.backlog() === 0, 5000, 'backlog 0');
    const stats = outbox.stats();
    assert.equal(stats.delivered, partitions * perPartition);
    assert.equal(stats.oldestAgeMs, 0);
    assert.equal(stats.inFlight, 0);
  });

  it('keeps order when partitions hold more entries than the read buffer (spill and refill)', async () => {
    const outbox = make(freshFile(), { batchSize: 8, concurrency: 3, retry: 20 });
    const items: Array<{ partitionKey: string; payload: unknown }> = [];
    // One long partition first, then others behind it, then interleaved.
    for (let seq = 0; seq < 120; seq++) items.push({ partitionKey: 'long', payload: { seq } });
    for (let seq = 0; seq < 30; seq++) for (const k of ['a', 'b', 'c']) items.push({ partitionKey: k, payload: { seq } });
    for (let seq = 120; seq < 150; seq++) items.push({ partitionKey: 'long', payload: { seq } });
    const { ids } = await outbox.enqueueMany(items);
    assert.equal(ids.length, items.length);
    let failures = 0;
    const rec = recorder();
    outbox.start(async (e) => {
      // 'a' fails a few times mid-way, so it is paused while the others move past it.
      if (e.partitionKey === 'a' && (e.payload as { seq: number }).seq === 3 && failures < 3) {
        failures++;
        throw new Error('target down');
      }
      await rec.deliver(e);
    });
    await waitFor(() => rec.total() === items.length, 5000, 'all deliveries');
    assert.deepEqual(rec.byPartition.get('long'), Array.from({ length: 150 }, (_, i) => i));
    for (const k of ['a', 'b', 'c']) assert.deepEqual(rec.byPartition.get(k), Array.from({ length: 30 }, (_, i) => i), `order of ${k}`);
    assert.equal(failures, 3);
    await waitFor(() => outbox.backlog() === 0, 5000, 'backlog 0');
  });

  it('pauses only the failing partition, retries the same head entry with attempts recorded, and keeps its order', async () => {
    const file = freshFile();
    const retryCalls: number[] = [];
    const outbox = make(file, {
      retry: (attempt) => {
        retryCalls.push(attempt);
        return 60;
      },
    });
    for (let seq = 0; seq < 5; seq++) {
      await outbox.enqueue('bad', { seq });
      await outbox.enqueue('good', { seq });
    }
    const calls: Array<{ key: string; seq: number; attempts: number; lastError: string | null }> = [];
    const delivered: string[] = [];
    outbox.start(async (e) => {
      const seq = (e.payload as { seq: number }).seq;
      calls.push({ key: e.partitionKey, seq, attempts: e.attempts, lastError: e.lastError });
      if (e.partitionKey === 'bad' && seq === 0 && e.attempts < 3) throw new Error(`refused #${e.attempts + 1}`);
      delivered.push(`${e.partitionKey}:${seq}`);
    });
    // While 'bad' waits out its retries, 'good' goes through completely.
    await waitFor(() => delivered.filter((d) => d.startsWith('good')).length === 5, 5000, 'good partition');
    assert.ok(!delivered.includes('bad:0'), 'bad:0 should still be failing');
    await waitFor(() => outbox.stats().failed >= 1, 5000, 'a failure');
    await waitFor(() => outbox.peek(1)[0]?.attempts >= 1, 5000, 'the attempt record');
    const head = outbox.peek(1)[0];
    assert.equal(head.partitionKey, 'bad');
    assert.match(head.lastError ?? '', /Error: refused #\d/);
    await waitFor(() => delivered.length === 10, 5000, 'all deliveries');
    assert.deepEqual(
      delivered.filter((d) => d.startsWith('bad')),
      ['bad:0', 'bad:1', 'bad:2', 'bad:3', 'bad:4'],
    );
    const badHead = calls.filter((c) => c.key === 'bad' && c.seq === 0);
    assert.deepEqual(
      badHead.map((c) => c.attempts),
      [0, 1, 2, 3],
    );
    assert.equal(badHead[3].lastError, 'Error: refused #3');
    assert.deepEqual(retryCalls, [1, 2, 3]);
    // The failed head was never overtaken by a later entry of its partition.
    const firstBad1 = calls.findIndex((c) => c.key === 'bad' && c.seq === 1);
    assert.ok(firstBad1 > calls.lastIndexOf(badHead[3] as (typeof calls)[number]));
    assert.equal(outbox.stats().failed, 3);
    await waitFor(() => outbox.backlog() === 0, 5000, 'backlog 0');
  });

  it('does not let a paused partition with a long backlog hold up the partitions behind it', async () => {
    const outbox = make(freshFile(), { batchSize: 8, retry: 60000, stopTimeoutMs: 100 });
    // 300 entries of 'stuck' (far more than the fetch rounds of one pass), then 'free'.
    await outbox.enqueueMany(Array.from({ length: 300 }, (_, seq) => ({ partitionKey: 'stuck', payload: { seq } })));
    await outbox.enqueueMany(Array.from({ length: 5 }, (_, seq) => ({ partitionKey: 'free', payload: { seq } })));
    const rec = recorder();
    let stuckCalls = 0;
    outbox.start(async (e) => {
      if (e.partitionKey === 'stuck') {
        stuckCalls++;
        throw new Error('target down');
      }
      await rec.deliver(e);
    });
    await waitFor(() => rec.total() === 5, 3000, "the other partition's entries");
    assert.deepEqual(rec.byPartition.get('free'), [0, 1, 2, 3, 4]);
    assert.equal(stuckCalls, 1, 'the paused partition was retried before its delay');
    assert.equal(outbox.stats().paused, 1);
    // The last 'free' delivery is recorded (and leaves the backlog) after deliver resolved.
    await waitFor(() => outbox.backlog() === 300, 5000, 'the delivery records of the other partition');
    assert.equal(stuckCalls, 1, 'the paused partition was retried before its delay');
  });

  it('refuses start() while stop() is still settling, and stop()/close() may be called twice', async () => {
    const outbox = make(freshFile(), { stopTimeoutMs: 200 });
    await outbox.enqueue('k', 1);
    let started = 0;
    outbox.start(() => {
      started++;
      return new Promise<void>((r) => setTimeout(r, 50));
    });
    await waitFor(() => started === 1, 5000, 'the delivery to start');
    const a = outbox.stop();
    const b = outbox.stop();
    assert.throws(() => outbox.start(async () => undefined), isCode('CONFIG_ERROR'));
    await Promise.all([a, b]);
    assert.equal(outbox.backlog(), 0, 'the in-flight delivery settled and was recorded');
    await Promise.all([outbox.close(), outbox.close()]);
  });

  it('treats a deliver that throws synchronously as a failed attempt', async () => {
    const outbox = make(freshFile(), { retry: 10 });
    await outbox.enqueue('k', { seq: 0 });
    let calls = 0;
    const done: number[] = [];
    outbox.start(((e: OutboxEntry) => {
      if (++calls === 1) throw new Error('sync boom');
      done.push(e.attempts);
      return Promise.resolve();
    }) as (e: OutboxEntry) => Promise<void>);
    await waitFor(() => done.length === 1, 5000, 'the retry');
    assert.deepEqual(done, [1]);
  });

  it('rejects with OUTBOX_FULL at capacity (never drops) and accepts again after draining', async () => {
    const outbox = make(freshFile(), { capacity: 5, statusIntervalMs: 0 });
    const seen: OutboxStats[] = [];
    outbox.onChange((s) => seen.push(s));
    for (let i = 0; i < 5; i++) await outbox.enqueue('k', { seq: i });
    await assert.rejects(outbox.enqueue('k', { seq: 5 }), (e: unknown) => isCode('OUTBOX_FULL')(e) && /5/.test((e as Error).message));
    await assert.rejects(outbox.enqueueMany([{ partitionKey: 'x', payload: 1 }]), isCode('OUTBOX_FULL'));
    assert.equal(outbox.backlog(), 5);
    assert.equal(outbox.stats().full, true);
    await waitFor(() => seen.some((s) => s.full), 5000, 'a full status');
    // Concurrent enqueues count against capacity before they commit.
    const rec = recorder();
    outbox.start(rec.deliver);
    await waitFor(() => outbox.backlog() === 0, 5000, 'drain');
    const racing = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => outbox.enqueue('k', { seq: 100 + i })));
    assert.ok(racing.filter((r) => r.status === 'fulfilled').length >= 5);
    assert.ok(outbox.backlog() <= 5);
    await waitFor(() => outbox.backlog() === 0, 5000, 'second drain');
    assert.equal(outbox.stats().full, false);
    await waitFor(() => seen.length > 0 && !seen[seen.length - 1].full, 5000, 'a not-full status');
    // Nothing accepted was lost: 5 + the accepted racers were delivered.
    assert.equal(rec.total(), 5 + racing.filter((r) => r.status === 'fulfilled').length);
  });

  it('enqueueMany is all-or-nothing against capacity and keeps the given order', async () => {
    const outbox = make(freshFile(), { capacity: 10 });
    const r = await outbox.enqueueMany([1, 2, 3].map((seq) => ({ partitionKey: 'm', payload: { seq } })));
    assert.equal(r.ids.length, 3);
    assert.ok(r.ids[0] < r.ids[1] && r.ids[1] < r.ids[2]);
    await assert.rejects(outbox.enqueueMany(Array.from({ length: 8 }, (_, seq) => ({ partitionKey: 'm', payload: { seq } }))), isCode('OUTBOX_FULL'));
    assert.equal(outbox.backlog(), 3);
  });

  it('limits the delivery rate with a token bucket on the injected clock', async () => {
    let t = 1_000_000;
    // Clock reads count the drain's token requests: with the clock frozen, "no delivery" is shown
    // by the drain having asked again and been refused, not by a quiet window.
    let reads = 0;
    const outbox = make(freshFile(), { ratePerSec: 10, rateBurst: 5, now: () => (reads++, t), concurrency: 8 });
    const refusedAgain = async (what: string) => {
      const from = reads;
      await waitFor(() => reads >= from + 3, 5000, `${what}: the drain asking for a token again`);
    };
    await outbox.enqueueMany(Array.from({ length: 40 }, (_, seq) => ({ partitionKey: `p${seq % 4}`, payload: { seq } })));
    const rec = recorder();
    outbox.start(rec.deliver);
    await waitFor(() => rec.total() === 5, 5000, 'the burst');
    await refusedAgain('frozen clock');
    assert.equal(rec.total(), 5);
    t += 300; // 3 tokens
    await waitFor(() => rec.total() === 8, 5000, '3 more');
    await refusedAgain('3 tokens spent');
    assert.equal(rec.total(), 8);
    t += 60_000; // refill is capped at the burst
    await waitFor(() => rec.total() === 13, 5000, 'a full bucket');
    await refusedAgain('the burst spent');
    assert.equal(rec.total(), 13);
  });

  it('limits the delivery rate in real time (loosely)', async () => {
    const outbox = make(freshFile(), { ratePerSec: 200, rateBurst: 10 });
    await outbox.enqueueMany(Array.from({ length: 100 }, (_, seq) => ({ partitionKey: `p${seq % 5}`, payload: { seq } })));
    const rec = recorder();
    const start = Date.now();
    outbox.start(rec.deliver);
    await waitFor(() => rec.total() === 100, 5000, 'all deliveries');
    const elapsed = Date.now() - start;
    // 90 entries beyond the burst at 200/s take at least 450 ms.
    assert.ok(elapsed >= 420, `100 deliveries at 200/s took only ${elapsed} ms`);
    assert.ok(elapsed < 5000, `took ${elapsed} ms`);
  });

  it('TokenBucket: refills by elapsed time and reports the wait for the next token', () => {
    let t = 0;
    const b = new TokenBucket(4, 2, () => t);
    assert.equal(b.take(), 0);
    assert.equal(b.take(), 0);
    assert.equal(b.take(), 250);
    t += 125;
    assert.equal(b.take(), 125);
    t += 125;
    assert.equal(b.take(), 0);
  });

  it('stop() waits for in-flight deliveries, leaves the rest stored, and a new Outbox on the file delivers it in order', async () => {
    const file = freshFile();
    const first = make(file, { concurrency: 2 });
    const items = [];
    for (let seq = 0; seq < 30; seq++) for (const k of ['a', 'b', 'c']) items.push({ partitionKey: k, payload: { seq } });
    await first.enqueueMany(items);
    const rec1 = recorder(() => 5);
    let afterStop = 0;
    let stopped = false;
    first.start((e) => {
      if (stopped) afterStop++;
      return rec1.deliver(e);
    });
    await waitFor(() => rec1.total() >= 10, 5000, 'some deliveries');
    await first.stop();
    stopped = true;
    assert.equal(rec1.inFlight(), 0, 'stop() resolved while a delivery was in flight');
    const deliveredFirst = rec1.total();
    assert.ok(deliveredFirst < 90, 'everything was delivered before stop()');
    assert.equal(first.backlog(), 90 - deliveredFirst);
    await first.close();

    const second = make(file);
    assert.equal(second.backlog(), 90 - deliveredFirst);
    const rec2 = recorder();
    second.start(rec2.deliver);
    await waitFor(() => second.backlog() === 0, 5000, 'drain');
    assert.equal(afterStop, 0, 'the stopped outbox delivered after stop()');
    assert.equal(rec1.total(), deliveredFirst, 'delivered after stop()');
    for (const k of ['a', 'b', 'c']) {
      const all = [...(rec1.byPartition.get(k) ?? []), ...(rec2.byPartition.get(k) ?? [])];
      assert.deepEqual(all, Array.from({ length: 30 }, (_, i) => i), `partition ${k}: exactly once, in order`);
    }
  });

  it('stop() gives up on a hanging delivery after stopTimeoutMs and keeps that entry stored', async () => {
    const file = freshFile();
    const outbox = make(file, { stopTimeoutMs: 100 });
    await outbox.enqueue('k', { seq: 0 });
    let called = 0;
    outbox.start(() => {
      called++;
      return new Promise<void>(() => undefined);
    });
    await waitFor(() => called === 1, 5000, 'the delivery');
    const start = Date.now();
    await outbox.stop();
    assert.ok(Date.now() - start < 2000);
    assert.equal(outbox.backlog(), 1);
    await outbox.close();
    const again = make(file);
    assert.equal(again.backlog(), 1);
  });

  it('can stop and start again in the same process without losing or repeating entries', async () => {
    const outbox = make(freshFile());
    await outbox.enqueueMany(Array.from({ length: 60 }, (_, seq) => ({ partitionKey: `p${seq % 3}`, payload: { seq } })));
    const rec = recorder(() => 2);
    outbox.start(rec.deliver);
    await waitFor(() => rec.total() >= 6, 5000, 'some deliveries');
    await outbox.stop();
    await outbox.enqueue('p0', { seq: 60 });
    outbox.start(rec.deliver);
    await waitFor(() => outbox.backlog() === 0 && rec.total() === 61, 5000, 'drain');
    const all = [...rec.byPartition.values()].flat() as number[];
    assert.equal(new Set(all).size, 61);
  });

  it('reports stats and coalesced status changes', async () => {
    let t = 5_000_000;
    const outbox = make(freshFile(), { now: () => t, statusIntervalMs: 20 });
    const seen: OutboxStats[] = [];
    const off = outbox.onChange((s) => seen.push(s));
    await Promise.all(Array.from({ length: 100 }, (_, seq) => outbox.enqueue('k', { seq })));
    t += 1500;
    await waitFor(() => seen.length > 0, 2000, 'a notification');
    assert.ok(seen.length < 10, `${seen.length} notifications for one burst`);
    const s = outbox.stats();
    assert.equal(s.backlog, 100);
    assert.equal(s.oldestAgeMs, 1500);
    assert.equal(s.full, false);
    assert.equal(s.running, false);
    off();
    const count = seen.length;
    // One coalesced notification goes to every listener: when the one still subscribed has it, the
    // unsubscribed one would have had it too.
    const still: OutboxStats[] = [];
    outbox.onChange((st) => still.push(st));
    await outbox.enqueue('k', { seq: 100 });
    await waitFor(() => still.length > 0, 2000, 'a notification to the listener still subscribed');
    assert.equal(seen.length, count, 'notified after unsubscribe');
  });
});
