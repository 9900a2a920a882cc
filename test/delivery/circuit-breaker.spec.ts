import * as assert from 'node:assert/strict';
import { PlantSyncError } from '../../lib/errors';
import {
  CircuitBreaker, type CircuitBreakerOptions, CircuitOpenError, type CircuitState, DEFAULT_CIRCUIT_BREAKER_OPTIONS,
} from '../../lib/delivery/circuit-breaker';

/** A hand-driven clock: the breaker never sets timers, so none are needed here. */
function setup(options: CircuitBreakerOptions = {}) {
  const clock = { t: 1_000 };
  const breaker = new CircuitBreaker({ failureThreshold: 3, openMs: 10_000, ...options, now: () => clock.t });
  const changes: Array<[CircuitState, CircuitState]> = [];
  breaker.onStateChange((from, to) => changes.push([from, to]));
  const fail = (n: number) => { for (let i = 0; i < n; i++) breaker.recordFailure(); };
  return { clock, breaker, changes, fail };
}

describe('delivery: circuit breaker', () => {
  it('starts closed with the documented defaults', () => {
    assert.deepEqual({ ...DEFAULT_CIRCUIT_BREAKER_OPTIONS }, { failureThreshold: 5, openMs: 2_000, maxOpenMs: 60_000, halfOpenMaxTrials: 1, successThreshold: 1 });
    const breaker = new CircuitBreaker({ now: () => 0 });
    assert.deepEqual(breaker.snapshot(), { state: 'closed', consecutiveFailures: 0, openedAt: undefined, nextAttemptAt: undefined });
    for (let i = 0; i < 4; i++) breaker.recordFailure();
    assert.equal(breaker.state, 'closed');
    breaker.recordFailure();
    assert.equal(breaker.state, 'open', 'default threshold is 5');
  });

  it('opens after failureThreshold consecutive failures and rejects attempts while open', () => {
    const { breaker, fail } = setup();
    fail(2);
    assert.equal(breaker.state, 'closed');
    assert.ok(breaker.canAttempt());
    fail(1);
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.canAttempt(), false);
    assert.equal(breaker.tryAcquire(), undefined);
    assert.deepEqual(breaker.snapshot(), { state: 'open', consecutiveFailures: 3, openedAt: 1_000, nextAttemptAt: 11_000 });
  });

  it('a success resets the consecutive failure count', () => {
    const { breaker, fail } = setup();
    fail(2);
    breaker.recordSuccess();
    assert.equal(breaker.snapshot().consecutiveFailures, 0);
    fail(2);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.snapshot().consecutiveFailures, 2);
  });

  it('becomes half-open lazily once openMs has elapsed, and tells callers how long to wait', () => {
    const { clock, breaker, fail } = setup();
    fail(3);
    clock.t = 10_999;
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.retryAfterMs(), 1);
    clock.t = 11_000;
    assert.equal(breaker.state, 'half-open');
    assert.equal(breaker.retryAfterMs(), 0);
    assert.deepEqual(breaker.snapshot(), { state: 'half-open', consecutiveFailures: 3, openedAt: 1_000, nextAttemptAt: undefined });
  });

  it('lets only halfOpenMaxTrials trials through at once; release frees a slot', () => {
    const { clock, breaker, fail } = setup({ halfOpenMaxTrials: 2 });
    fail(3);
    clock.t += 10_000;
    const first = breaker.tryAcquire();
    const second = breaker.tryAcquire();
    assert.ok(first && second);
    assert.equal(breaker.tryAcquire(), undefined);
    assert.equal(breaker.canAttempt(), false);
    first.release();
    assert.equal(breaker.state, 'half-open', 'a release is no verdict');
    assert.ok(breaker.tryAcquire(), 'the released slot is free again');
  });

  it('closes when a trial succeeds', () => {
    const { clock, breaker, changes, fail } = setup();
    fail(3);
    clock.t += 10_000;
    breaker.tryAcquire()!.success();
    assert.deepEqual(breaker.snapshot(), { state: 'closed', consecutiveFailures: 0, openedAt: undefined, nextAttemptAt: undefined });
    assert.deepEqual(changes, [['closed', 'open'], ['open', 'half-open'], ['half-open', 'closed']]);
  });

  it('needs successThreshold successful trials to close', () => {
    const { clock, breaker, fail } = setup({ successThreshold: 2 });
    fail(3);
    clock.t += 10_000;
    breaker.tryAcquire()!.success();
    assert.equal(breaker.state, 'half-open');
    breaker.tryAcquire()!.success();
    assert.equal(breaker.state, 'closed');
  });

  it('re-opens on a failed trial, for twice the last interval', () => {
    const { clock, breaker, changes, fail } = setup();
    fail(3);
    clock.t = 11_500;
    breaker.tryAcquire()!.failure();
    assert.deepEqual(breaker.snapshot(), { state: 'open', consecutiveFailures: 4, openedAt: 11_500, nextAttemptAt: 31_500 });
    assert.deepEqual(changes.at(-1), ['half-open', 'open']);
    clock.t = 31_499;
    assert.equal(breaker.canAttempt(), false);
  });

  it('doubles the open interval while trials fail, up to maxOpenMs, and starts again at openMs after a success', () => {
    const { clock, breaker, fail } = setup({ openMs: 2_000, maxOpenMs: 60_000 });
    /** Waits out the open interval and fails the trial; returns the interval it waited. */
    const failedTrial = () => {
      const { openedAt, nextAttemptAt } = breaker.snapshot();
      clock.t = nextAttemptAt!;
      breaker.tryAcquire()!.failure();
      return nextAttemptAt! - openedAt!;
    };
    fail(3);
    const intervals = Array.from({ length: 7 }, failedTrial);
    assert.deepEqual(intervals, [2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
    const { nextAttemptAt } = breaker.snapshot();
    clock.t = nextAttemptAt!;
    breaker.tryAcquire()!.success();
    assert.equal(breaker.state, 'closed');
    fail(3);
    assert.equal(breaker.retryAfterMs(), 2_000, 'a new outage starts at openMs again');

    // openMs alone, longer than the default maximum: a fixed interval.
    const { clock: c2, breaker: fixed, fail: fail2 } = setup({ openMs: 120_000 });
    fail2(3);
    c2.t += 120_000;
    fixed.tryAcquire()!.failure();
    assert.equal(fixed.retryAfterMs(), 120_000);
  });

  it('a target down for 2 s costs at most a few seconds of refusals with the defaults (injected clock)', () => {
    const clock = { t: 0 };
    const breaker = new CircuitBreaker({ now: () => clock.t });
    const downUntil = 2_000;
    let refusedSince: number | undefined;
    let refusedMs = 0;
    // A request every 50 ms: each fails while the target is down, succeeds after.
    for (; clock.t < 60_000; clock.t += 50) {
      const permit = breaker.tryAcquire();
      if (!permit) {
        refusedSince ??= clock.t;
        continue;
      }
      if (refusedSince !== undefined) refusedMs += clock.t - refusedSince;
      refusedSince = undefined;
      if (clock.t < downUntil) {
        permit.failure();
      } else {
        permit.success();
        break;
      }
    }
    assert.equal(breaker.state, 'closed');
    assert.ok(clock.t <= downUntil + 2_100, `first success at ${clock.t} ms, the target was back at ${downUntil} ms`);
    assert.ok(refusedMs <= 2_100, `refused for ${refusedMs} ms`);
  });

  it('ignores a permit from an earlier period and a permit settled twice', () => {
    const { clock, breaker, fail } = setup();
    const slow = breaker.tryAcquire()!; // started while closed
    fail(3);
    clock.t += 10_000;
    assert.equal(breaker.state, 'half-open');
    slow.failure(); // finally times out: says nothing about the trial period
    assert.equal(breaker.state, 'half-open');

    const { breaker: b2 } = setup();
    const p = b2.tryAcquire()!;
    b2.recordFailure();
    p.failure();
    p.failure();
    assert.equal(b2.snapshot().consecutiveFailures, 2);
  });

  it('failures reported while open do not extend the wait', () => {
    const { clock, breaker, fail } = setup();
    fail(3);
    clock.t = 5_000;
    fail(5);
    assert.deepEqual(breaker.snapshot(), { state: 'open', consecutiveFailures: 3, openedAt: 1_000, nextAttemptAt: 11_000 });
  });

  it('notifies listeners with (from, to) and a snapshot of the new state, until unsubscribed', () => {
    const { clock, breaker, fail } = setup();
    const seen: string[] = [];
    const unsubscribe = breaker.onStateChange((from, to, snapshot) => seen.push(`${from}->${to}:${snapshot.state}`));
    fail(3);
    clock.t += 10_000;
    assert.deepEqual(seen, ['closed->open:open'], 'the lazy transition waits for a query');
    assert.equal(breaker.state, 'half-open');
    assert.deepEqual(seen, ['closed->open:open', 'open->half-open:half-open']);
    unsubscribe();
    breaker.recordSuccess();
    assert.equal(breaker.state, 'closed');
    assert.equal(seen.length, 2);
  });

  it('with openMs 0 still reports open before half-open, in order', () => {
    const { breaker, changes, fail } = setup({ openMs: 0 });
    fail(3);
    assert.deepEqual(changes, [['closed', 'open']]);
    assert.equal(breaker.state, 'half-open');
    assert.deepEqual(changes, [['closed', 'open'], ['open', 'half-open']]);
  });

  it('reset closes it at once', () => {
    const { breaker, changes, fail } = setup();
    fail(3);
    breaker.reset();
    assert.deepEqual(breaker.snapshot(), { state: 'closed', consecutiveFailures: 0, openedAt: undefined, nextAttemptAt: undefined });
    assert.deepEqual(changes.at(-1), ['open', 'closed']);
  });

  it('rejects invalid options with CONFIG_ERROR', () => {
    for (const bad of [
      { failureThreshold: 0 }, { openMs: -1 }, { openMs: Number.NaN }, { halfOpenMaxTrials: 1.5 }, { successThreshold: Number.NaN },
      { openMs: 5_000, maxOpenMs: 4_000 }, { maxOpenMs: Number.POSITIVE_INFINITY },
    ]) {
      assert.throws(() => new CircuitBreaker(bad), (e: unknown) => e instanceof PlantSyncError && e.code === 'CONFIG_ERROR', JSON.stringify(bad));
    }
  });

  it('CircuitOpenError carries the code and the wait for callers to throw', () => {
    const { breaker, clock, fail } = setup();
    fail(3);
    clock.t = 4_000;
    const err = new CircuitOpenError(breaker.retryAfterMs(), 'sap-erp');
    assert.ok(err instanceof Error);
    assert.equal(err.code, 'CIRCUIT_OPEN');
    assert.equal(err.name, 'CircuitOpenError');
    assert.equal(err.retryAfterMs, 7_000);
    assert.equal(err.target, 'sap-erp');
    assert.match(err.message, /sap-erp.*7000 ms/);
  });
});
