import * as assert from 'node:assert/strict';
import { allOrNothing, Batcher, type Outcome } from '../../lib/storage/batcher';
import { failureHop } from '../../lib/transport/retry-headers';
import { HEADERS } from '../../lib/transport/message';
import { backoffDelay } from '../../lib/delivery/retry-policy';

describe('storage: Batcher (the one batcher under group commit and the PostgreSQL micro-batches)', () => {
  it('runs the calls of one turn as one chunk and settles each item from its own outcome', async () => {
    const chunks: number[][] = [];
    const b = new Batcher<number, number>({
      dispatch: (items) => {
        chunks.push(items);
        return items.map((i): Outcome<number> => (i === 3 ? { ok: false, error: new Error('three') } : { ok: true, value: i * 10 }));
      },
    });
    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => b.run(i)));
    assert.deepEqual(chunks, [[1, 2, 3, 4]]);
    assert.deepEqual(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)), [10, 20, 'three', 40]);
  });

  it('spreads a turn over `parallelism` chunks of at most maxBatch, sends a full batch at once, and fails a chunk together', async () => {
    const chunks: number[][] = [];
    const b = new Batcher<number, number>({
      dispatch: allOrNothing(async (items: number[]) => {
        chunks.push(items);
        if (items.includes(5)) throw new Error('chunk failed');
        return items;
      }),
      maxBatch: 2,
      parallelism: 2,
    });
    const calls = [1, 2, 3, 4].map((i) => b.run(i));
    assert.equal(chunks.length, 2, 'four items fill both chunks: dispatched without waiting for the turn to end');
    await Promise.all(calls);
    const failing = await Promise.allSettled([b.run(5), b.run(6)]);
    assert.deepEqual(chunks, [[1, 2], [3, 4], [5], [6]]);
    assert.equal(failing[0].status, 'rejected');
    assert.equal(failing[1].status, 'fulfilled');
  });

  it('uses `single` for a chunk of one, and drain() waits for chunks under way', async () => {
    let singles = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = new Batcher<number, number>({
      dispatch: allOrNothing((items: number[]) => gate.then(() => items)),
      single: async (i) => (singles++, i),
    });
    assert.equal(await b.run(7), 7);
    assert.equal(singles, 1);
    const pair = Promise.all([b.run(1), b.run(2)]);
    let drained = false;
    const draining = b.drain().then(() => (drained = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(drained, false, 'drain() returned while a chunk was under way');
    release();
    await draining;
    assert.deepEqual(await pair, [1, 2]);
  });
});

describe('transport: failureHop (retry and park headers of both consumers)', () => {
  const now = Date.UTC(2026, 0, 2, 3, 4, 5);
  it('sends attempt n to tier n-1 (the last tier repeats) with attempt + 1, keeping the first failure time', () => {
    const hop = failureHop({ attempt: 3, maxAttempts: 5, tierCount: 2, headers: { [HEADERS.firstFailure]: 'earlier' }, error: Object.assign(new Error('busy'), { code: 'HTTP_503' }), now });
    assert.equal(hop.to, 'retry');
    assert.equal(hop.to === 'retry' && hop.tier, 1);
    assert.equal(hop.headers[HEADERS.attempt], 4);
    assert.equal(hop.headers[HEADERS.firstFailure], 'earlier');
    const first = failureHop({ attempt: 1, maxAttempts: 5, tierCount: 0, headers: {}, error: new Error('x'), now });
    assert.deepEqual([first.to, first.to === 'retry' && first.tier, first.headers[HEADERS.firstFailure]], ['retry', undefined, new Date(now).toISOString()]);
  });

  it('parks at the attempt limit, or when forced, with reason, message and attempt count', () => {
    for (const hop of [
      failureHop({ attempt: 5, maxAttempts: 5, tierCount: 2, headers: {}, error: new Error('no such material'), now }),
      failureHop({ attempt: 1, maxAttempts: 5, tierCount: 2, headers: {}, error: new Error('no such material'), now, park: true }),
    ]) {
      assert.equal(hop.to, 'park');
      assert.equal(hop.headers[HEADERS.parkedMessage], 'no such material');
      assert.equal(hop.headers[HEADERS.parkedAt], new Date(now).toISOString());
      assert.ok(Number(hop.headers[HEADERS.attempts]) >= 1);
    }
  });
});

describe('delivery: backoffDelay (the one backoff: full jitter)', () => {
  it('spans [0, ceiling] with the factor and the cap', () => {
    const b = { baseDelayMs: 250, maxDelayMs: 30000 };
    assert.equal(backoffDelay(1, b, () => 0), 0, 'full jitter reaches 0');
    assert.equal(backoffDelay(1, b, () => 0.999999), 250);
    assert.equal(backoffDelay(3, b, () => 0.5), 500);
    assert.equal(backoffDelay(30, b, () => 0.5), 15000);
    assert.equal(backoffDelay(2, { ...b, factor: 3 }, () => 0.5), 375);
  });
});
