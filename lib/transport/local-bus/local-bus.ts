/**
 * The embedded default transport: a durable message bus on one SQLite file, with the RabbitMQ
 * core's semantics so nodes switch between the two by configuration only.
 *
 *   publish(event) --(routing key "<type>.<siteid>")--> one row per consumer group whose binding
 *     keys (AMQP topic: '*' one word, '#' zero or more) match; no group -> UNROUTABLE (mandatory)
 *   consume(group) -> handler; success deletes the row; failure -> retry tier (delayed row,
 *     attempt + 1) -> past maxAttempts the parking lot with reason and attempt count
 *   replayParked(group, selector) -> parked rows back to ready with attempt 1
 *
 * Publishes resolve after the commit (WAL, synchronous=FULL: fsynced), group-committed with the
 * takes and settles of the same event-loop turn. Groups are stored in the file, so publishes made
 * while a consumer is down are kept for it. Several processes may share the file (SQLite locking);
 * a process that dies leaves its taken rows to come back by lease expiry, or at once when the
 * next LocalBus opens the file and sees the owner's pid is gone.
 */
import type { DeliveryHandler } from '../consumer';
import { assertEventLike, HEADERS, publishOptions } from '../message';
import { matches, type ReplayOptions, type ReplayResult, type ReplaySelector } from '../replay';
import { routingKeyOf, TRANSPORT_DEFAULTS } from '../topology';
import { TransportError } from '../transport-error';
import { LocalConsumer, messageProperties, type LocalConsumeOptions } from './local-consumer';
import { BusStore, STATE } from './store';
import { assertBindingKey } from './topic';

export interface LocalBusOptions {
  /** Retry tier delays: attempt 2 waits tiers[0], attempt 3 tiers[1], later ones the last. */
  retryTiersMs?: readonly number[];
  /** Clock for lease, retry and replay times (ms). */
  now?: () => number;
  /** Idle poll interval of consumers (retries falling due, other processes' publishes); default 25 ms. */
  pollMs?: number;
  /** How long a taken message stays leased without renewal (a crashed taker's rows return after it); default 30 s. */
  leaseMs?: number;
}

export interface LocalConsumeBusOptions extends LocalConsumeOptions {
  /** Declares (replaces) the group's binding keys first; without it an unknown group is bound to '#'. */
  bindingKeys?: readonly string[];
}

export interface LocalBusStats {
  ready: number;
  inFlight: number;
  delayed: number;
  parked: number;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function assertGroup(group: string): void {
  if (typeof group !== 'string' || group === '') throw new TransportError('CONFIG_ERROR', 'a consumer group needs a non-empty name');
}

export class LocalBus {
  readonly retryTiersMs: readonly number[];
  private readonly store: BusStore;
  private readonly now: () => number;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly consumers = new Set<LocalConsumer>();
  private closed = false;

  constructor(
    readonly file: string,
    options: LocalBusOptions = {},
  ) {
    this.retryTiersMs = options.retryTiersMs ?? TRANSPORT_DEFAULTS.retryTiersMs;
    for (const t of this.retryTiersMs) {
      if (!Number.isInteger(t) || t < 1) throw new TransportError('CONFIG_ERROR', `retry tier delay must be a positive integer of ms, got ${t}`);
    }
    this.now = options.now ?? Date.now;
    this.pollMs = options.pollMs ?? 25;
    this.leaseMs = options.leaseMs ?? 30000;
    this.store = new BusStore(file);
    this.recoverDeadOwners();
  }

  /** Rows taken by a process that no longer exists return now, not after their lease. */
  private recoverDeadOwners(): void {
    const dead = this.store.owners().filter((o) => {
      const pid = Number(o.split(':')[0]);
      return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !pidAlive(pid);
    });
    if (dead.length > 0) this.store.db.transaction(() => dead.forEach((o) => this.store.release(o))).immediate();
  }

  /** Declares a consumer group with its binding keys (stored; replaces earlier keys). Idempotent. */
  bind(group: string, bindingKeys: readonly string[] = TRANSPORT_DEFAULTS.bindingKeys): Promise<void> {
    try {
      this.assertOpen();
      assertGroup(group);
      if (bindingKeys.length === 0) throw new TransportError('CONFIG_ERROR', `group ${group} needs at least one binding key`);
      bindingKeys.forEach(assertBindingKey);
    } catch (err) {
      return Promise.reject(err);
    }
    const keys = [...bindingKeys];
    return this.store.committer.run(() => this.store.bind(group, keys, this.now()));
  }

  /** Durable fan-out to every matching group; resolves after the commit. */
  publish(event: unknown): Promise<void> {
    try {
      this.assertOpen();
      assertEventLike(event);
    } catch (err) {
      return Promise.reject(err);
    }
    const routingKey = routingKeyOf(event);
    const opts = publishOptions(event);
    const body = JSON.stringify(event);
    const props = JSON.stringify({ messageId: opts.messageId, correlationId: opts.correlationId, type: opts.type, timestamp: opts.timestamp, contentType: opts.contentType, appId: opts.appId });
    const headers = JSON.stringify(opts.headers ?? {});
    return this.store.committer
      .run(() => {
        const groups = this.store.insert(routingKey, body, props, headers, this.now());
        // Thrown inside the operation: its savepoint rolls back, the rest of the batch commits.
        if (groups.length === 0) throw new TransportError('UNROUTABLE', `no consumer group is bound for ${routingKey} on the local bus`, { routingKey });
        return groups;
      })
      .then((groups) => this.wake(groups));
  }

  /** Starts consuming a group (declaring it if needed). */
  consume(group: string, handler: DeliveryHandler, options: LocalConsumeBusOptions = {}): LocalConsumer {
    this.assertOpen();
    assertGroup(group);
    if (options.bindingKeys) void this.bind(group, options.bindingKeys).catch((err) => options.onError?.(err));
    else if (!this.store.currentGroups().has(group)) void this.bind(group).catch((err) => options.onError?.(err));
    const consumer = new LocalConsumer(group, handler, {
      store: this.store,
      retryTiersMs: this.retryTiersMs,
      now: this.now,
      pollMs: this.pollMs,
      leaseMs: this.leaseMs,
      onClosed: (c) => this.consumers.delete(c),
    }, options);
    this.consumers.add(consumer);
    return consumer;
  }

  /**
   * Parked messages of a group that match the selector go back to the queue with attempt 1 and
   * x-plantsync-replayed (the same selector as the RabbitMQ replay); the others stay parked.
   */
  async replayParked(group: string, selector: ReplaySelector, options: ReplayOptions = {}): Promise<ReplayResult> {
    this.assertOpen();
    const limit = options.limit ?? 1000;
    const result: ReplayResult = { examined: 0, replayed: 0, kept: 0 };
    await this.store.committer.run(() => {
      const now = this.now();
      for (const row of this.store.parked(group)) {
        if (result.replayed >= limit) break;
        result.examined++;
        if (!matches(selector, { properties: messageProperties(row.props, {}) })) {
          result.kept++;
          continue;
        }
        const headers = { ...(JSON.parse(row.headers) as Record<string, unknown>), [HEADERS.attempt]: 1, [HEADERS.replayed]: true, [HEADERS.replayedAt]: new Date(now).toISOString() };
        if (this.store.unpark(row.seq, JSON.stringify(headers), now)) result.replayed++;
      }
    });
    if (result.replayed > 0) this.wake([group]);
    return result;
  }

  stats(group: string): LocalBusStats {
    this.assertOpen();
    const s = this.store.stats(group);
    return { ready: s[STATE.READY] ?? 0, inFlight: s[STATE.IN_FLIGHT] ?? 0, delayed: s[STATE.DELAYED] ?? 0, parked: s[STATE.PARKED] ?? 0 };
  }

  /** Declared groups and their binding keys. */
  groups(): Record<string, string[]> {
    this.assertOpen();
    const out: Record<string, string[]> = {};
    for (const [name, g] of this.store.currentGroups()) out[name] = [...g.keys];
    return out;
  }

  /** Closes every consumer (each waits up to `timeoutMs` for its handlers), then the file. */
  async close(timeoutMs = 10000): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.consumers].map((c) => c.close(timeoutMs)));
    this.closed = true;
    this.store.close();
  }

  private wake(groups: readonly string[]): void {
    for (const c of this.consumers) if (groups.includes(c.group)) c.wake();
  }

  private assertOpen(): void {
    if (this.closed) throw new TransportError('BROKER_CLOSED', 'the local bus is closed');
  }
}
