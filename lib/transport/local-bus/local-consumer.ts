/**
 * Ack-on-completion consumer of one group of the local bus, with the core Consumer's contract:
 * `handler(delivery)` resolves -> the row is deleted (ack); rejects (or `delivery.fail(err)`) ->
 * the row moves to the next retry tier with attempt + 1, or past `maxAttempts` to the parking lot
 * with reason and attempt count. Nothing is deleted before the handler succeeded.
 *
 * Rows are taken in batches (up to the free prefetch slots) and leased to this consumer; the
 * lease is renewed while it runs. close() stops taking, waits (bounded) for running handlers and
 * returns the unsettled rows to the queue marked redelivered, as a closed AMQP channel does; a
 * crashed process's rows come back when their lease expires or when the bus is next opened.
 */
import { randomBytes } from 'node:crypto';
import type { MessageProperties } from 'amqplib';
import type { ConsumerStats, Delivery, DeliveryHandler } from '../consumer';
import { attemptOf } from '../message';
import { failureHop } from '../retry-headers';
import { TransportError } from '../transport-error';
import type { BusStore, MessageRow } from './store';

export const LOCAL_EXCHANGE = 'plantsync.local';

export interface LocalConsumeOptions {
  /** Messages in flight (taken, not settled) at most; default 50. */
  prefetch?: number;
  /** Attempts before parking, counting the first delivery; default retry tiers + 1. */
  maxAttempts?: number;
  /** Problems with no caller to go to (a failed commit of a settle). */
  onError?: (error: unknown) => void;
}

/** What a LocalConsumer needs from its bus. */
export interface LocalConsumerContext {
  store: BusStore;
  retryTiersMs: readonly number[];
  now: () => number;
  pollMs: number;
  leaseMs: number;
  onClosed: (c: LocalConsumer) => void;
}

/** A unique owner token; the pid lets a later open return the rows of a dead process at once. */
export function ownerToken(): string {
  return `${process.pid}:${randomBytes(6).toString('hex')}`;
}

/** AMQP-shaped properties of a stored message, so deliveries look like the RabbitMQ consumer's. */
export function messageProperties(propsJson: string, headers: Record<string, unknown>): MessageProperties {
  const p = JSON.parse(propsJson) as Record<string, unknown>;
  return {
    contentType: p.contentType,
    contentEncoding: undefined,
    headers,
    deliveryMode: 2,
    priority: undefined,
    correlationId: p.correlationId,
    replyTo: undefined,
    expiration: undefined,
    messageId: p.messageId,
    timestamp: p.timestamp,
    type: p.type,
    userId: undefined,
    appId: p.appId,
    clusterId: undefined,
  };
}

export class LocalConsumer {
  readonly owner = ownerToken();
  readonly prefetch: number;
  readonly maxAttempts: number;
  private readonly inFlight = new Set<Promise<void>>();
  private closing = false;
  private taking = false;
  private again = false;
  private scheduled = false;
  private pollTimer?: NodeJS.Timeout;
  private leaseTimer?: NodeJS.Timeout;
  private nextReclaim = 0;
  private counts = { acked: 0, retried: 0, parked: 0, stale: 0 };
  /** Highest number of deliveries in flight at once (tests check prefetch with it). */
  maxInFlight = 0;

  constructor(
    readonly group: string,
    private readonly handler: DeliveryHandler,
    private readonly ctx: LocalConsumerContext,
    private readonly options: LocalConsumeOptions = {},
  ) {
    this.prefetch = options.prefetch ?? 50;
    if (!Number.isInteger(this.prefetch) || this.prefetch < 1) throw new TransportError('CONFIG_ERROR', `prefetch must be an integer >= 1, got ${this.prefetch}`);
    this.maxAttempts = options.maxAttempts ?? ctx.retryTiersMs.length + 1;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) throw new TransportError('CONFIG_ERROR', `maxAttempts must be an integer >= 1, got ${this.maxAttempts}`);
    this.leaseTimer = setInterval(() => this.renew(), Math.max(10, Math.floor(ctx.leaseMs / 3)));
    this.schedule();
  }

  get consuming(): boolean {
    return !this.closing;
  }

  stats(): ConsumerStats {
    return { inFlight: this.inFlight.size, ...this.counts };
  }

  /** Take now (a publish to this group was committed, or a slot was freed). */
  wake(): void {
    this.schedule();
  }

  /**
   * Stops taking, waits up to `timeoutMs` for running handlers, then returns what is still
   * unsettled to the queue (redelivered = true). Settles that arrive later are dropped.
   */
  async close(timeoutMs = 10000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.pollTimer);
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.inFlight]), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
    }
    clearInterval(this.leaseTimer);
    await this.ctx.store.committer.run(() => this.ctx.store.release(this.owner)).catch((err) => this.report(err));
    this.ctx.onClosed(this);
  }

  /** Coalesces wake-ups of one turn into one take. */
  private schedule(): void {
    if (this.closing || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.closing) return;
    if (this.taking) {
      this.again = true;
      return;
    }
    const free = this.prefetch - this.inFlight.size;
    if (free <= 0) return; // a settle wakes us
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    this.taking = true;
    this.again = false;
    const now = this.ctx.now();
    // Expired leases (another process died, or this one stalled) are looked at now and then, not on every take.
    const reclaim = now >= this.nextReclaim;
    if (reclaim) this.nextReclaim = now + Math.max(50, Math.floor(this.ctx.leaseMs / 4));
    const { store, leaseMs } = this.ctx;
    store.committer
      .run(() => store.take(this.group, this.owner, free, now, leaseMs, reclaim))
      .then(
        (rows) => {
          this.taking = false;
          if (this.closing) {
            // Taken while closing: close() releases them (they are ours in the table).
            return;
          }
          for (const row of rows) this.start(row);
          if (this.again) this.schedule();
          else if (rows.length < free) this.idle();
        },
        (err) => {
          this.taking = false;
          this.report(err);
          this.idle();
        },
      );
  }

  /** Nothing more ready: look again after pollMs (retries falling due, other processes' publishes). */
  private idle(): void {
    if (this.closing || this.pollTimer) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      this.pump();
    }, this.ctx.pollMs);
  }

  private start(row: MessageRow): void {
    const task = this.process(row);
    this.inFlight.add(task);
    if (this.inFlight.size > this.maxInFlight) this.maxInFlight = this.inFlight.size;
    task
      .catch((err) => this.report(err))
      .finally(() => {
        this.inFlight.delete(task);
        this.schedule();
      });
  }

  private async process(row: MessageRow): Promise<void> {
    const headers = JSON.parse(row.headers) as Record<string, unknown>;
    const attempt = Math.max(row.attempt, attemptOf(headers));
    const properties = messageProperties(row.props, headers);
    let event: unknown;
    try {
      event = JSON.parse(row.body);
    } catch (err) {
      await this.failed(row, headers, attempt, new TransportError('INVALID_JSON', `message body is not JSON: ${(err as Error).message}`), true);
      return;
    }
    let settled: Promise<void> | undefined;
    const once = (fn: () => Promise<void>) => (settled ??= fn());
    const delivery: Delivery = {
      event,
      raw: Buffer.from(row.body, 'utf8'),
      properties,
      headers,
      fields: { deliveryTag: row.seq, redelivered: row.redelivered === 1, exchange: LOCAL_EXCHANGE, routingKey: row.routing_key, consumerTag: this.owner },
      attempt,
      redelivered: row.redelivered === 1,
      ack: () => once(() => this.ack(row)),
      fail: (error) => once(() => this.failed(row, headers, attempt, error)),
      park: (error) => once(() => this.failed(row, headers, attempt, error, true)),
    };
    try {
      await this.handler(delivery);
      await delivery.ack();
    } catch (err) {
      await delivery.fail(err);
    }
  }

  private async ack(row: MessageRow): Promise<void> {
    const ok = await this.ctx.store.committer.run(() => this.ctx.store.ack(row.seq, this.owner));
    if (ok) this.counts.acked++;
    else this.counts.stale++;
  }

  /** Next retry tier (a delayed row), or the parking lot past the attempt limit (or when `park` is set). */
  private async failed(row: MessageRow, headers: Record<string, unknown>, attempt: number, error: unknown, park = false): Promise<void> {
    const now = this.ctx.now();
    const tiers = this.ctx.retryTiersMs;
    const hop = failureHop({ attempt, maxAttempts: this.maxAttempts, tierCount: tiers.length, headers, error, now, park });
    const next = JSON.stringify({ ...headers, ...hop.headers });
    const { store } = this.ctx;
    let ok: boolean;
    if (hop.to === 'park') {
      ok = await store.committer.run(() => store.park(row.seq, this.owner, next));
    } else {
      // No tiers configured: retry at once, as the core consumer does through the work queue.
      const delay = hop.tier === undefined ? 0 : tiers[hop.tier];
      ok = await store.committer.run(() => store.retry(row.seq, this.owner, attempt + 1, next, now + delay, delay > 0));
    }
    if (ok) this.counts[hop.to === 'park' ? 'parked' : 'retried']++;
    else this.counts.stale++;
  }

  private renew(): void {
    if (this.inFlight.size === 0) return;
    const until = this.ctx.now() + this.ctx.leaseMs;
    this.ctx.store.committer.run(() => this.ctx.store.renew(this.owner, until)).catch((err) => this.report(err));
  }

  private report(err: unknown): void {
    try {
      this.options.onError?.(err);
    } catch {
      // the reporter must not break consumption
    }
  }
}
