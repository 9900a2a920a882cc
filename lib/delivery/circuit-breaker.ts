/**
 * Circuit breaker, one per target: after `failureThreshold` consecutive failures it opens and
 * rejects attempts for `openMs`, then lets `halfOpenMaxTrials` trial attempts through; their
 * success closes it, a failure opens it again for twice as long as the last time, up to
 * `maxOpenMs` (2 s, 4 s, 8 s ... 60 s by default). Closing starts the next outage at `openMs`
 * again. So a target that restarts in two seconds is refused for about that long, and one that
 * stays down is probed less and less often. The clock is injected and nothing here sets a
 * timer: open -> half-open happens lazily when the breaker is next asked.
 *
 * What counts as a failure: only RETRYABLE failures (classifyFailure). A permanent failure is
 * reported as a success: a 4xx means the target is up and answering, and an invalid event or a
 * bug in our code says nothing about the target's health. A CIRCUIT_OPEN rejection is reported
 * as nothing at all (no request was sent).
 *
 * Use `tryAcquire()` and settle the permit: a permit belongs to the breaker's current period,
 * so a slow request started before the breaker opened cannot, when it finally fails, re-open a
 * breaker that is half-open with a fresh trial. `recordSuccess()` / `recordFailure()` report an
 * outcome not tied to a permit (a health probe, a caller that only checks `canAttempt()`).
 */
import { BaseError, PlantSyncError } from '../errors';

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open a closed breaker. */
  failureThreshold?: number;
  /** How long the breaker stays open the first time before it allows a trial. */
  openMs?: number;
  /** The longest open interval: each failed trial doubles the last one up to this (at least `openMs`). */
  maxOpenMs?: number;
  /** Trial attempts allowed at the same time while half-open. */
  halfOpenMaxTrials?: number;
  /** Successful trials that close a half-open breaker. */
  successThreshold?: number;
  /** Epoch ms; injected so tests need no timers. */
  now?: () => number;
}

/** The defaults, in one place. */
export const DEFAULT_CIRCUIT_BREAKER_OPTIONS = Object.freeze({
  failureThreshold: 5,
  openMs: 2_000,
  maxOpenMs: 60_000,
  halfOpenMaxTrials: 1,
  successThreshold: 1,
});

/** Plain JSON for status display (node status, dashboards). */
export interface CircuitSnapshot {
  state: CircuitState;
  consecutiveFailures: number;
  /** When the breaker last opened; kept while half-open. */
  openedAt: number | undefined;
  /** While open: when trials will be allowed. */
  nextAttemptAt: number | undefined;
}

/** Each failed trial multiplies the open interval by this, up to `maxOpenMs`. */
const OPEN_GROWTH = 2;

export type CircuitStateListener = (from: CircuitState, to: CircuitState, snapshot: CircuitSnapshot) => void;

/** One attempt's right to proceed; settle it exactly once (later calls are ignored). */
export interface CircuitPermit {
  success(): void;
  failure(): void;
  /** Neither outcome (cancelled, or a failure that does not count): frees a half-open trial slot. */
  release(): void;
}

/** For callers to throw when `tryAcquire()` refuses; classifyFailure treats it as retryable. */
export class CircuitOpenError extends BaseError {
  declare readonly code: 'CIRCUIT_OPEN';

  /** @param retryAfterMs ms until the breaker allows a trial (0 when a trial is already running). */
  constructor(readonly retryAfterMs: number, readonly target?: string) {
    super('CIRCUIT_OPEN', `circuit open${target ? ` for ${target}` : ''}: retry in ${retryAfterMs} ms`, { retryable: true });
  }
}

export class CircuitBreaker {
  private readonly failureThreshold: number;
  private readonly openMs: number;
  private readonly maxOpenMs: number;
  private readonly halfOpenMaxTrials: number;
  private readonly successThreshold: number;
  private readonly now: () => number;
  private current: CircuitState = 'closed';
  private failures = 0;
  private openedAt: number | undefined;
  /** How long the current (or last) open period lasts; grows while trials fail, back to openMs on close. */
  private openIntervalMs = 0;
  private trials = 0;
  private trialSuccesses = 0;
  /** Incremented on every transition; permits of an earlier period are ignored. */
  private period = 0;
  private listeners: CircuitStateListener[] = [];

  constructor(options: CircuitBreakerOptions = {}) {
    const d = DEFAULT_CIRCUIT_BREAKER_OPTIONS;
    this.failureThreshold = count('failureThreshold', options.failureThreshold ?? d.failureThreshold);
    this.halfOpenMaxTrials = count('halfOpenMaxTrials', options.halfOpenMaxTrials ?? d.halfOpenMaxTrials);
    this.successThreshold = count('successThreshold', options.successThreshold ?? d.successThreshold);
    this.openMs = options.openMs ?? d.openMs;
    if (!Number.isFinite(this.openMs) || this.openMs < 0) throw configError('openMs must be a number of ms >= 0');
    if (options.maxOpenMs !== undefined && !(Number.isFinite(options.maxOpenMs) && options.maxOpenMs >= this.openMs)) {
      throw configError(`maxOpenMs must be a number of ms >= openMs (${this.openMs})`);
    }
    // Only openMs given: it grows to the default maximum, or stays as it is when it is longer already.
    this.maxOpenMs = options.maxOpenMs ?? Math.max(d.maxOpenMs, this.openMs);
    this.now = options.now ?? Date.now;
  }

  /** The state now; an open breaker whose open interval has elapsed becomes half-open here. */
  get state(): CircuitState {
    this.refresh();
    return this.current;
  }

  /** Whether an attempt would be allowed now; takes no trial slot. */
  canAttempt(): boolean {
    const state = this.state;
    return state === 'closed' || (state === 'half-open' && this.trials < this.halfOpenMaxTrials);
  }

  /** A permit to attempt, or undefined while open or while the half-open trial slots are taken. */
  tryAcquire(): CircuitPermit | undefined {
    if (!this.canAttempt()) return undefined;
    const period = this.period;
    const trial = this.current === 'half-open';
    if (trial) this.trials++;
    let settled = false;
    const settle = (outcome: 'success' | 'failure' | 'release') => {
      if (settled) return;
      settled = true;
      if (period !== this.period) return;
      if (trial) this.trials--;
      if (outcome === 'success') this.recordSuccess();
      else if (outcome === 'failure') this.recordFailure();
    };
    return { success: () => settle('success'), failure: () => settle('failure'), release: () => settle('release') };
  }

  recordSuccess(): void {
    const state = this.state;
    if (state === 'closed') {
      this.failures = 0;
    } else if (state === 'half-open' && ++this.trialSuccesses >= this.successThreshold) {
      this.transition('closed');
    }
    // While open a success is stale (started before the breaker opened): the wait stands.
  }

  recordFailure(): void {
    const state = this.state;
    if (state === 'open') return; // stale: the breaker already knows
    this.failures++;
    if (state === 'half-open' || this.failures >= this.failureThreshold) this.transition('open');
  }

  /** ms until trials are allowed; 0 unless open. */
  retryAfterMs(): number {
    return this.state === 'open' ? Math.max(0, this.nextAttemptAt() - this.now()) : 0;
  }

  /** Closes the breaker at once (an operator's reset). */
  reset(): void {
    if (this.current !== 'closed') this.transition('closed');
    this.failures = 0;
  }

  snapshot(): CircuitSnapshot {
    this.refresh();
    return this.currentSnapshot();
  }

  /** Listeners run synchronously after the change and must not throw. Returns an unsubscribe function. */
  onStateChange(listener: CircuitStateListener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  private refresh(): void {
    if (this.current === 'open' && this.now() >= this.nextAttemptAt()) this.transition('half-open');
  }

  /** Without the lazy transition: a transition's own listeners must see the state it set. */
  private currentSnapshot(): CircuitSnapshot {
    return {
      state: this.current,
      consecutiveFailures: this.failures,
      openedAt: this.openedAt,
      nextAttemptAt: this.current === 'open' ? this.nextAttemptAt() : undefined,
    };
  }

  private nextAttemptAt(): number {
    return (this.openedAt ?? 0) + this.openIntervalMs;
  }

  private transition(to: CircuitState): void {
    const from = this.current;
    this.current = to;
    this.period++;
    this.trials = 0;
    this.trialSuccesses = 0;
    if (to === 'open') {
      // The first open of an outage waits openMs; every re-open after a failed trial twice the last.
      this.openIntervalMs = from === 'half-open' ? Math.min(this.maxOpenMs, Math.max(this.openIntervalMs * OPEN_GROWTH, this.openMs)) : this.openMs;
      this.openedAt = this.now();
    }
    if (to === 'closed') {
      this.failures = 0;
      this.openedAt = undefined;
      this.openIntervalMs = 0;
    }
    const snapshot = this.currentSnapshot();
    for (const listener of [...this.listeners]) listener(from, to, snapshot);
  }
}

function count(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw configError(`${name} must be an integer >= 1`);
  return value;
}

function configError(message: string): PlantSyncError {
  return new PlantSyncError('CONFIG_ERROR', `invalid circuit breaker options: ${message}`, [{ pointer: '', message, keyword: 'circuitBreaker' }]);
}
