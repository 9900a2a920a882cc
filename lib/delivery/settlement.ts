/**
 * Settlement of consumed deliveries: the one owner of the rule "a delivery is acked only when its
 * work is done".
 *
 * A consumer opens a ledger and tracks each delivery it hands out; the ledger gives it a
 * `DeliveryHandle`, plain data that travels with the message (and survives the copies a flow
 * makes of it). Whoever finishes the work settles the handle through the registry: ack, fail (next
 * retry tier, the parking lot past the attempt limit) or park (the parking lot now).
 *
 * - First settle wins: a later settle of the same delivery changes nothing and learns how the
 *   first went (`already-acked`, `already-failed`, `already-parked`).
 * - A delivery nobody settles within the settle timeout is failed, so nothing waits for ever.
 * - The registry keeps a consumer's ledger until the consumer's close is done, not just until it
 *   starts closing: a consumer being redeployed waits for work still running elsewhere, and that
 *   work must still reach it. Closing fails what is still pending and forgets the ledger; a
 *   settle after that learns `unknown` (the transport has taken the delivery back).
 */
import { randomUUID } from 'node:crypto';
import { BaseError } from '../errors';
import { isPermanentFailure } from './failure-classifier';

/**
 * How a settle went. `acked` / `failed` / `parked`: this settle did it. `already-*`: another settle
 * came first. `unknown`: the delivery is no longer pending (timed out long ago, or its consumer
 * closed and the transport redelivers it).
 */
export type DeliveryOutcome = 'acked' | 'failed' | 'parked' | 'already-acked' | 'already-failed' | 'already-parked' | 'unknown';

/**
 * The settlement handle on `msg.plantsync.delivery`: data only, so it survives Node-RED's message
 * cloning. `settled` is written on the message that was settled; a clone made before that learns
 * the outcome from the registry instead.
 */
export interface DeliveryHandle {
  /** Id of the consumer (the plantsync-consume node) that holds the delivery. */
  consumer: string;
  /** Unique id of this delivery. */
  id: string;
  /** Set once this message settled its delivery. */
  settled?: DeliveryOutcome;
}

/** ack: processed; fail: next retry tier (parking lot past the attempt limit); park: parking lot now. */
export type SettleAction = 'ack' | 'fail' | 'park';

/** What the transport does for a settle; `error` is given for fail and park. */
export type SettleDelivery = (action: SettleAction, error?: unknown) => Promise<void>;

/**
 * How a delivery whose work failed is settled when nothing else holds the failure: a retryable
 * failure goes to the next retry tier (the attempt limit still parks it), a permanent one to the
 * parking lot at once, since a retry would fail the same way or do harm.
 */
export function settleActionForFailure(error: { code?: string; message?: string; status?: number; retryable?: boolean }): 'fail' | 'park' {
  return isPermanentFailure(error) ? 'park' : 'fail';
}

/**
 * How the node that settles a claim and its delivery together settles the delivery, after the
 * claim: `complete` acks; a failure whose claim was released or failed goes to the next retry tier
 * (released: the retry claims the key again; failed: the redelivery meets the failed key and the
 * guard passes it on as a duplicate with the reason, never working it again); a failure that held
 * no claim is settled as `settle delivery` settles it (retryable: retry tier, permanent: parked).
 */
export function deliveryActionAfterClaim(
  action: 'complete' | 'release' | 'fail' | 'failure',
  claimSettled: boolean,
  error: { code?: string; message?: string; status?: number; retryable?: boolean },
): SettleAction {
  if (action === 'complete') return 'ack';
  if (claimSettled) return 'fail';
  return action === 'fail' ? 'park' : action === 'release' ? 'fail' : settleActionForFailure(error);
}

/** The clock the settle timeouts run on (tests pass a fake one). */
export interface SettleTimers {
  set(fn: () => void, ms: number): unknown;
  clear(timer: unknown): void;
}

const REAL_TIMERS: SettleTimers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

export interface LedgerOptions {
  /** How long a delivery may stay unsettled before it is failed. */
  settleTimeoutMs: number;
  /** What a timed-out delivery is failed with; `hint` is appended to the default error's message. */
  timeoutHint?: string;
  timers?: SettleTimers;
  /** How many settled ids are remembered to answer `already-*` (default 10000). */
  remember?: number;
}

const PAST: Record<SettleAction, 'acked' | 'failed' | 'parked'> = { ack: 'acked', fail: 'failed', park: 'parked' };

interface Pending {
  settle: SettleDelivery;
  timer: unknown;
}

/** One consumer's pending deliveries. Opened through `SettlementRegistry.open`. */
export class DeliveryLedger {
  private readonly pending = new Map<string, Pending>();
  private readonly recent = new Map<string, 'acked' | 'failed' | 'parked'>();
  private readonly timers: SettleTimers;
  private closed = false;

  constructor(
    readonly consumer: string,
    private readonly options: LedgerOptions,
    private readonly onClose: (ledger: DeliveryLedger) => void,
  ) {
    this.timers = options.timers ?? REAL_TIMERS;
  }

  /** Deliveries handed out and not settled yet. */
  get size(): number {
    return this.pending.size;
  }

  /** Registers a delivery; `settle` is called once, by the first settle or the timeout. */
  track(settle: SettleDelivery): DeliveryHandle {
    if (this.closed) throw new BaseError('CONSUMER_CLOSED', `consumer ${this.consumer} is closed`, { retryable: true });
    const id = randomUUID();
    const ms = this.options.settleTimeoutMs;
    const timer = this.timers.set(() => {
      const hint = this.options.timeoutHint ? `: ${this.options.timeoutHint}` : '';
      const error = new BaseError('SETTLE_TIMEOUT', `not settled within ${ms / 1000} s${hint}`, { retryable: true });
      this.settle(id, 'fail', error).catch(() => undefined);
    }, ms);
    this.pending.set(id, { settle, timer });
    return { consumer: this.consumer, id };
  }

  /** Whether this ledger handed out `id` (pending or recently settled). */
  knows(id: string): boolean {
    return this.pending.has(id) || this.recent.has(id);
  }

  /** Settles a pending delivery once; a later settle learns how the first went. */
  async settle(id: string, action: SettleAction, error?: unknown): Promise<DeliveryOutcome> {
    const entry = this.pending.get(id);
    if (!entry) {
      const earlier = this.recent.get(id);
      return earlier ? `already-${earlier}` : 'unknown';
    }
    // Decided before the transport is awaited: a concurrent settle sees it at once.
    this.pending.delete(id);
    this.timers.clear(entry.timer);
    const outcome = PAST[action];
    this.recent.set(id, outcome);
    if (this.recent.size > (this.options.remember ?? 10000)) this.recent.delete(this.recent.keys().next().value as string);
    await entry.settle(action, action === 'ack' ? undefined : error);
    return outcome;
  }

  /**
   * Fails every pending delivery with `error` and takes the ledger out of the registry. Call it
   * when the consumer's close is done: by then the transport has its deliveries back, so this
   * settles nothing at the broker but ends the consumer's handlers.
   */
  close(error: unknown = new BaseError('CONSUMER_CLOSED', 'the consumer closed', { retryable: true })): void {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const entry of all) {
      this.timers.clear(entry.timer);
      entry.settle('fail', error).catch(() => undefined);
    }
    this.onClose(this);
  }
}

/** The consumers' ledgers by consumer id, and the one way to settle a handle. */
export class SettlementRegistry {
  /** A redeployed consumer may open its new ledger while the old one still closes: both stay reachable. */
  private readonly ledgers = new Map<string, Set<DeliveryLedger>>();

  /** Opens a ledger for consumer `consumer`; it stays registered until its `close()`. */
  open(consumer: string, options: LedgerOptions): DeliveryLedger {
    const ledger = new DeliveryLedger(consumer, options, (closed) => {
      const set = this.ledgers.get(consumer);
      set?.delete(closed);
      if (set?.size === 0) this.ledgers.delete(consumer);
    });
    const set = this.ledgers.get(consumer) ?? new Set();
    set.add(ledger);
    this.ledgers.set(consumer, set);
    return ledger;
  }

  ack(handle: DeliveryHandle): Promise<DeliveryOutcome> {
    return this.settle(handle, 'ack');
  }

  fail(handle: DeliveryHandle, error: unknown): Promise<DeliveryOutcome> {
    return this.settle(handle, 'fail', error);
  }

  park(handle: DeliveryHandle, error: unknown): Promise<DeliveryOutcome> {
    return this.settle(handle, 'park', error);
  }

  /**
   * Settles the delivery of `handle` and records the outcome on it. A handle that already carries
   * an outcome was settled through this very message: it is returned as it is.
   */
  async settle(handle: DeliveryHandle, action: SettleAction, error?: unknown): Promise<DeliveryOutcome> {
    if (handle.settled) return handle.settled;
    const ledger = [...(this.ledgers.get(handle.consumer) ?? [])].find((l) => l.knows(handle.id));
    handle.settled = ledger ? await ledger.settle(handle.id, action, error) : 'unknown';
    return handle.settled;
  }

  /** Consumers with an open ledger (for diagnostics and tests). */
  get consumers(): number {
    return this.ledgers.size;
  }
}

/** The process-wide registry the nodes settle through. */
export const settlements = new SettlementRegistry();

/** `value` as a delivery handle, if it is one (for example `msg.plantsync.delivery`). */
export function deliveryHandleOf(value: unknown): DeliveryHandle | undefined {
  const h = value as Partial<DeliveryHandle> | null | undefined;
  return h && typeof h === 'object' && typeof h.consumer === 'string' && typeof h.id === 'string' ? (h as DeliveryHandle) : undefined;
}
