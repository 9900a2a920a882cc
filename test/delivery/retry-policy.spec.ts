import * as assert from 'node:assert/strict';
import { PlantSyncError } from '../../lib/errors';
import {
  backoffCeiling, backoffDelay, decideRetry, DEFAULT_RETRY_POLICY, MAX_DELAY_MS, parseRetryAfter, retryDelay, retryPolicy, shouldRetry,
  type RetryPolicy,
} from '../../lib/delivery/retry-policy';
import { reconnectDelay } from '../../lib/transport/broker-connection';

/** mulberry32: a small seeded PRNG, so the distribution check is reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALMOST_ONE = 1 - Number.EPSILON;
const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 };
const NOW = Date.UTC(2026, 10, 26, 7, 30, 0); // Thu, 26 Nov 2026 07:30:00 GMT

describe('delivery: retry policy', () => {
  describe('defaults and configuration', () => {
    it('lists frozen defaults in one place', () => {
      assert.deepEqual({ ...DEFAULT_RETRY_POLICY }, { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 });
      assert.ok(Object.isFrozen(DEFAULT_RETRY_POLICY));
      assert.throws(() => { (DEFAULT_RETRY_POLICY as RetryPolicy).maxAttempts = 99; }, TypeError);
    });

    it('merges overrides over the defaults, ignoring undefined fields', () => {
      assert.deepEqual(retryPolicy({ maxAttempts: 8, maxDelayMs: undefined }), { maxAttempts: 8, baseDelayMs: 500, maxDelayMs: 30_000 });
    });

    it('rejects values that would break the retry loop with CONFIG_ERROR', () => {
      for (const bad of [{ maxAttempts: 0 }, { maxAttempts: 2.5 }, { baseDelayMs: -1 }, { maxDelayMs: Number.NaN }, { maxDelayMs: Infinity }]) {
        assert.throws(() => retryPolicy(bad), (e: unknown) => e instanceof PlantSyncError && e.code === 'CONFIG_ERROR', JSON.stringify(bad));
      }
    });
  });

  describe('backoffDelay with equal jitter: the broker reconnect', () => {
    it('stays in the upper half of the same bound, and the broker reconnect is exactly that', () => {
      const bound = { baseDelayMs: 500, maxDelayMs: 30_000 };
      for (let attempt = 1; attempt <= 12; attempt++) {
        const ceiling = backoffCeiling(attempt, bound);
        assert.equal(backoffDelay(attempt, bound, () => 0, 'equal'), Math.round(ceiling / 2), `attempt ${attempt} at its floor`);
        assert.equal(backoffDelay(attempt, bound, () => ALMOST_ONE, 'equal'), ceiling, `attempt ${attempt} at its ceiling`);
        for (const r of [0, 0.3, ALMOST_ONE]) assert.equal(reconnectDelay(attempt, {}, () => r), backoffDelay(attempt, bound, () => r, 'equal'));
      }
    });
  });

  describe('retryDelay: exponential backoff with full jitter', () => {
    it('is 0 for every attempt when random() is 0', () => {
      for (let attempt = 1; attempt <= 200; attempt++) assert.equal(retryDelay(attempt, policy, () => 0), 0);
    });

    it('reaches exactly the cap-limited exponential when random() is almost 1', () => {
      const expected = [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000];
      assert.deepEqual(expected.map((_, i) => retryDelay(i + 1, policy, () => ALMOST_ONE)), expected);
      for (let attempt = 1; attempt <= 200; attempt++) {
        assert.equal(retryDelay(attempt, policy, () => ALMOST_ONE), Math.min(30_000, 500 * 2 ** (attempt - 1)));
      }
    });

    it('scales linearly inside the bound and returns whole milliseconds', () => {
      assert.equal(retryDelay(3, policy, () => 0.5), 1000);
      assert.equal(retryDelay(1, policy, () => 0.3333), 167);
    });

    it('clamps a misbehaving random() into [0, bound]', () => {
      assert.equal(retryDelay(2, policy, () => 7), 1000);
      assert.equal(retryDelay(2, policy, () => -3), 0);
      assert.equal(retryDelay(2, policy, () => Number.NaN), 0);
    });

    it('does not overflow for huge attempt numbers', () => {
      for (const attempt of [1024, 1e6, Number.MAX_SAFE_INTEGER]) {
        assert.equal(backoffCeiling(attempt, policy), 30_000);
        assert.equal(retryDelay(attempt, policy, () => ALMOST_ONE), 30_000);
      }
      const uncapped = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: Number.MAX_VALUE };
      assert.equal(backoffCeiling(Number.MAX_SAFE_INTEGER, uncapped), MAX_DELAY_MS, 'never more than a timer can hold');
      assert.equal(backoffCeiling(1e6, { ...policy, baseDelayMs: 0 }), 0, 'no 0 * Infinity = NaN');
    });

    it('rejects attempt numbers below 1 or not whole', () => {
      for (const attempt of [0, -1, 1.5, Number.NaN]) assert.throws(() => retryDelay(attempt, policy, () => 0), RangeError);
    });

    it('is uniform over [0, bound]: mean near half the bound, quartiles balanced (10k seeded samples)', () => {
      const random = seeded(42);
      const bound = backoffCeiling(4, policy); // 4000
      const n = 10_000;
      const quartiles = [0, 0, 0, 0];
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const d = retryDelay(4, policy, random);
        assert.ok(d >= 0 && d <= bound, String(d));
        sum += d;
        quartiles[Math.min(3, Math.floor((d / bound) * 4))]++;
      }
      const mean = sum / n;
      assert.ok(Math.abs(mean - bound / 2) < bound * 0.02, `mean ${mean}`);
      for (const count of quartiles) assert.ok(Math.abs(count - n / 4) < n * 0.02, `quartiles ${quartiles}`);
    });
  });

  describe('retryDelay: Retry-After', () => {
    it('waits at least what the server asked, whatever the jitter', () => {
      const random = seeded(7);
      for (let attempt = 1; attempt <= 10; attempt++) {
        assert.ok(retryDelay(attempt, policy, random, 3000) >= 3000);
      }
      assert.equal(retryDelay(1, policy, () => 0, 3000), 3000);
    });

    it('keeps the jittered delay when it is already longer', () => {
      assert.equal(retryDelay(7, policy, () => ALMOST_ONE, 100), 30_000);
    });

    it('may exceed the cap (the server said so) but not what a timer can hold', () => {
      assert.equal(retryDelay(1, policy, () => 0, 120_000), 120_000);
      assert.equal(retryDelay(1, policy, () => 0, 1e15), MAX_DELAY_MS);
      assert.equal(retryDelay(1, policy, () => 0, 1500.2), 1501, 'rounded up, never early');
    });

    it('ignores a negative or non-finite Retry-After', () => {
      for (const bad of [-1, Number.NaN, Infinity]) assert.equal(retryDelay(1, policy, () => 0, bad), 0);
    });
  });

  describe('shouldRetry and decideRetry: bounded attempts, permanent never retried', () => {
    it('retries retryable failures until maxAttempts attempts were made', () => {
      assert.deepEqual([1, 2, 3, 4, 5, 6].map((a) => shouldRetry(a, policy, 'retryable')), [true, true, true, true, false, false]);
      assert.equal(shouldRetry(1, { ...policy, maxAttempts: 1 }, { class: 'retryable' }), false);
    });

    it('never retries a permanent failure', () => {
      for (let attempt = 1; attempt <= 5; attempt++) assert.equal(shouldRetry(attempt, policy, { class: 'permanent' }), false);
    });

    it('says why an event is dead-lettered, or how long to wait', () => {
      assert.deepEqual(decideRetry(1, policy, { class: 'permanent' }, () => 0), { retry: false, reason: 'permanent' });
      assert.deepEqual(decideRetry(5, policy, { class: 'retryable' }, () => 0), { retry: false, reason: 'exhausted' });
      assert.deepEqual(decideRetry(2, policy, { class: 'retryable' }, () => ALMOST_ONE), { retry: true, delayMs: 1000 });
      assert.deepEqual(decideRetry(2, policy, { class: 'retryable', retryAfterMs: 60_000 }, () => 0), { retry: true, delayMs: 60_000 });
    });
  });

  describe('parseRetryAfter', () => {
    it('reads delta-seconds, as text or as an already parsed number', () => {
      assert.equal(parseRetryAfter('120', NOW), 120_000);
      assert.equal(parseRetryAfter(' 0 ', NOW), 0);
      assert.equal(parseRetryAfter(2, NOW), 2000);
      assert.equal(parseRetryAfter(1.5, NOW), 1500);
      assert.equal(parseRetryAfter('99999999999999999999', NOW), MAX_DELAY_MS);
    });

    it('reads an IMF-fixdate relative to now; a past date is 0', () => {
      assert.equal(parseRetryAfter('Thu, 26 Nov 2026 07:30:30 GMT', NOW), 30_000);
      assert.equal(parseRetryAfter('thu, 26 nov 2026 07:31:00 gmt', NOW), 60_000);
      assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW), 0);
      assert.equal(parseRetryAfter('Thu, 26 Nov 2026 07:30:00 GMT', NOW), 0);
    });

    it('reads the obsolete RFC 850 and asctime forms', () => {
      assert.equal(parseRetryAfter('Thursday, 26-Nov-26 07:30:45 GMT', NOW), 45_000);
      assert.equal(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', NOW), 0, '94 is 1994, not 2094');
      assert.equal(parseRetryAfter('Thu Nov 26 07:32:00 2026', NOW), 120_000);
      assert.equal(parseRetryAfter('Sun Dec  6 07:30:00 2026', NOW), 10 * 86_400_000, 'space-padded day');
    });

    it('gives undefined for negative, fractional text, malformed and impossible values', () => {
      for (const bad of [undefined, '', '-5', '1.5', '1e3', 'soon', '12abc', 'Thu, 31 Feb 2026 07:30:30 GMT', 'Thu, 26 Nov 2026 25:00:00 GMT',
        '2026-11-26T07:30:30Z', 'Thu, 26 Nov 2026 07:30:30 +0000']) {
        assert.equal(parseRetryAfter(bad, NOW), undefined, String(bad));
      }
      for (const bad of [-1, Number.NaN, Infinity]) assert.equal(parseRetryAfter(bad, NOW), undefined, String(bad));
    });
  });
});
