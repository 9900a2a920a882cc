/**
 * Ack-on-completion consumer of a work queue.
 *
 * Each message goes to `handler(delivery)`. Resolves -> ack. Rejects -> a copy goes to the next
 * retry tier (confirmed publish through the default exchange, attempt + 1), and only after the
 * broker confirmed the copy is the original acked; past the attempt limit the copy goes to the
 * parking lot with reason and attempt count. Malformed JSON is parked at once (INVALID_JSON).
 * Nothing is acked as if it had been processed, and a copy that cannot be confirmed leaves the
 * original unacked (it is requeued or redelivered), so a message is never lost, at worst seen twice.
 *
 * After a reconnect the same Consumer re-creates its channels and re-subscribes. Deliveries of a
 * lost channel can no longer be settled: the broker redelivers them.
 */
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, MessageFields, MessageProperties, Options } from 'amqplib';
import type { BrokerConnection, BrokerUser } from './broker-connection';
import { attemptOf, copyOptions } from './message';
import { failureHop } from './retry-headers';
import { declareTopology, resolveTopology, TRANSPORT_DEFAULTS, type Topology, type TopologyOptions } from './topology';
import { SetupTracker } from './setup-tracker';
import { TransportError } from './transport-error';

export interface Delivery {
  /** The parsed JSON body (the canonical envelope). */
  event: unknown;
  raw: Buffer;
  properties: MessageProperties;
  headers: Record<string, unknown>;
  fields: MessageFields;
  /** 1 on the first delivery, from x-plantsync-attempt after retries. */
  attempt: number;
  redelivered: boolean;
  /** Settles now as processed. Later settles (and the handler's own outcome) are ignored. */
  ack(): Promise<void>;
  /** Settles now as failed: next retry tier or the parking lot. */
  fail(error: unknown): Promise<void>;
  /** Settles now as failed for good: the parking lot at once, with the error as its reason. */
  park(error: unknown): Promise<void>;
}

export type DeliveryHandler = (delivery: Delivery) => Promise<void> | void;

export interface ConsumerOptions {
  topology: Topology | TopologyOptions;
  handler: DeliveryHandler;
  /** Unacked messages in flight (default 50). */
  prefetch?: number;
  /** Declare the topology on every connect (default true). */
  declare?: boolean;
  /**
   * Problems that have no caller to go to (a copy not confirmed, a settle on a dead channel, a
   * failed setup such as PRECONDITION_FAILED on the work queue, which is retried with backoff).
   */
  onError?: (error: unknown) => void;
}

export interface ConsumerStats {
  inFlight: number;
  acked: number;
  retried: number;
  parked: number;
  /** Settles dropped because their channel was gone (the broker redelivers those). */
  stale: number;
}

function isTopology(t: Topology | TopologyOptions): t is Topology {
  return Array.isArray((t as Topology).retryTiers);
}

interface Link {
  ch: Channel;
  cc: ConfirmChannel;
  tag?: string;
}

export class Consumer implements BrokerUser {
  readonly topology: Topology;
  private readonly prefetch: number;
  private readonly declare: boolean;
  private link?: Link;
  private started = false;
  private closing = false;
  /** The message of the last failed setup reported, until a setup succeeds. */
  private setupError?: string;
  /** The setup in progress (onConnected): close() waits for it, so it cannot leave a subscription. */
  private readonly setup = new SetupTracker();
  private readonly inFlight = new Set<Promise<void>>();
  private counts = { acked: 0, retried: 0, parked: 0, stale: 0 };

  constructor(
    private readonly broker: BrokerConnection,
    private readonly options: ConsumerOptions,
  ) {
    const t = options.topology;
    this.topology = isTopology(t) ? t : resolveTopology(t);
    if (!this.topology.workQueue || !this.topology.parkingQueue) throw new TransportError('CONFIG_ERROR', 'a consumer needs a group or a work queue name');
    this.prefetch = options.prefetch ?? TRANSPORT_DEFAULTS.prefetch;
    this.declare = options.declare ?? true;
  }

  start(): this {
    if (!this.started) {
      this.started = true;
      this.broker.register(this);
    }
    return this;
  }

  get consuming(): boolean {
    return !!this.link?.tag;
  }

  stats(): ConsumerStats {
    return { inFlight: this.inFlight.size, ...this.counts };
  }

  async onConnected(model: ChannelModel): Promise<void> {
    if (this.closing) return;
    await this.setup.run(() => this.setUp(model));
  }

  /** A failure or a close() meanwhile closes the channels opened so far: none is left behind. */
  private async setUp(model: ChannelModel): Promise<void> {
    const opened: Channel[] = [];
    const abandon = async () => {
      for (const c of opened) await c.close().catch(() => undefined);
    };
    try {
      const ch = await model.createChannel();
      opened.push(ch);
      const cc = await model.createConfirmChannel();
      opened.push(cc);
      const link: Link = { ch, cc };
      for (const c of [ch, cc]) {
        c.on('error', () => undefined); // 'close' follows
        c.on('close', () => {
          if (this.link !== link) return;
          this.link = undefined;
          // Failing during setup is reported by onConnected's rejection; only a running consumer rebuilds.
          if (!this.closing && link.tag) this.broker.fail(new Error('consumer channel closed'));
        });
      }
      if (this.closing) return await abandon();
      if (this.declare) await declareTopology(cc, this.topology);
      if (this.closing) return await abandon();
      await ch.prefetch(this.prefetch);
      if (this.closing) return await abandon();
      this.link = link;
      const reply = await ch.consume(this.topology.workQueue as string, (msg) => this.onMessage(link, msg), { noAck: false });
      link.tag = reply.consumerTag; // a close() meanwhile waits for this and then cancels it
      this.setupError = undefined;
    } catch (err) {
      await abandon();
      throw err;
    }
  }

  /**
   * The broker connection reports a failed setup here and retries it with backoff: passed on to
   * onError once per distinct message until a setup succeeds (BrokerConnection.onSetup has every attempt).
   */
  onSetupFailed(error: Error): void {
    if (error.message === this.setupError) return;
    this.setupError = error.message;
    this.report(error);
  }

  onDisconnected(): void {
    this.link = undefined;
  }

  /**
   * Stops taking messages (basic.cancel), waits up to `timeoutMs` for in-flight handlers to
   * settle, then closes the channels: whatever is still unacked returns to the queue.
   */
  async close(timeoutMs = 10000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.setup.settled();
    const link = this.link;
    if (link?.tag) await link.ch.cancel(link.tag).catch(() => undefined);
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.inFlight]),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    }
    this.link = undefined;
    if (link) {
      await link.ch.close().catch(() => undefined);
      await link.cc.close().catch(() => undefined);
    }
    if (this.started) await this.broker.deregister(this);
  }

  private onMessage(link: Link, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // Cancelled by the broker (queue deleted, node lost): resubscribe through a reconnect.
      if (this.link === link && !this.closing) this.broker.fail(new Error('consumer cancelled by the broker'));
      return;
    }
    const task = this.process(link, msg);
    this.inFlight.add(task);
    task.finally(() => this.inFlight.delete(task)).catch(() => undefined);
  }

  private async process(link: Link, msg: ConsumeMessage): Promise<void> {
    const headers = (msg.properties.headers ?? {}) as Record<string, unknown>;
    const attempt = attemptOf(headers);
    let event: unknown;
    try {
      event = JSON.parse(msg.content.toString('utf8'));
    } catch (err) {
      await this.failed(link, msg, attempt, new TransportError('INVALID_JSON', `message body is not JSON: ${(err as Error).message}`), true);
      return;
    }
    let settled: Promise<void> | undefined;
    const once = (fn: () => Promise<void>) => (settled ??= fn());
    const delivery: Delivery = {
      event,
      raw: msg.content,
      properties: msg.properties,
      headers,
      fields: msg.fields,
      attempt,
      redelivered: msg.fields.redelivered,
      ack: () => once(async () => this.ack(link, msg)),
      fail: (error) => once(() => this.failed(link, msg, attempt, error)),
      park: (error) => once(() => this.failed(link, msg, attempt, error, true)),
    };
    try {
      await this.options.handler(delivery);
      await delivery.ack();
    } catch (err) {
      await delivery.fail(err);
    }
  }

  /** False when the delivery's channel is gone: it can no longer be settled, and need not be. */
  private live(link: Link): boolean {
    if (this.link === link) return true;
    this.counts.stale++;
    return false;
  }

  private ack(link: Link, msg: ConsumeMessage): void {
    if (!this.live(link)) return;
    try {
      link.ch.ack(msg);
      this.counts.acked++;
    } catch (err) {
      this.report(err);
    }
  }

  /** Next retry tier, or the parking lot past the attempt limit (or when `park` is set). */
  private failed(link: Link, msg: ConsumeMessage, attempt: number, error: unknown, park = false): Promise<void> {
    const hop = failureHop({
      attempt,
      maxAttempts: this.topology.maxAttempts,
      tierCount: this.topology.retryTiers.length,
      headers: (msg.properties.headers ?? {}) as Record<string, unknown>,
      error,
      now: Date.now(),
      park,
    });
    if (hop.to === 'park') return this.moveTo(link, msg, this.topology.parkingQueue as string, hop.headers, 'parked');
    // No tiers configured: retry at once through the work queue itself.
    const queue = hop.tier === undefined ? (this.topology.workQueue as string) : this.topology.retryTiers[hop.tier].queue;
    return this.moveTo(link, msg, queue, hop.headers, 'retried');
  }

  /** Confirmed copy to `queue`, then ack of the original; if the copy fails, requeue the original. */
  private async moveTo(link: Link, msg: ConsumeMessage, queue: string, headers: Record<string, unknown>, count: 'retried' | 'parked'): Promise<void> {
    if (!this.live(link)) return;
    const options: Options.Publish = copyOptions(msg.properties, headers);
    try {
      await new Promise<void>((resolve, reject) => {
        try {
          link.cc.sendToQueue(queue, msg.content, options, (err: unknown) => (err ? reject(err) : resolve()));
        } catch (err) {
          reject(err);
        }
      });
    } catch (err) {
      this.report(new TransportError('PUBLISH_NACKED', `could not move message ${msg.properties.messageId ?? ''} to ${queue}: ${(err as Error).message}`));
      if (this.link === link) {
        try {
          link.ch.nack(msg, false, true);
        } catch {
          // channel gone: the broker redelivers anyway
        }
      }
      return;
    }
    if (!this.live(link)) return; // copy confirmed but the original returns too: a duplicate, not a loss
    try {
      link.ch.ack(msg);
      this.counts[count]++;
    } catch (err) {
      this.report(err);
    }
  }

  private report(err: unknown): void {
    try {
      this.options.onError?.(err);
    } catch {
      // the reporter must not break consumption
    }
  }
}
