/**
 * Confirmed publishing of canonical events.
 *
 * `publish(event)` resolves only when the broker has confirmed the message (basic.ack on a
 * confirm channel) or, with an Outbox, when the event is durably stored for forwarding. Many
 * publishes are in flight at once; each has its own timeout. `mandatory` is set, and a
 * basic.return (which the broker sends before the ack) turns that publish into UNROUTABLE.
 *
 * Without an outbox, while the connection is down or blocked a publish waits (bounded by its
 * timeout) and is sent when the connection is back; a publish whose channel died before its
 * confirm is sent again (at-least-once; consumers deduplicate by event id / idempotency key).
 *
 * With an outbox (store-and-forward): while down or blocked, or while the outbox still holds
 * entries (so nothing overtakes older stored events of its subject), publishes go to the outbox
 * and resolve once stored; the outbox drains in order per subject through confirmed publishes.
 * A direct publish that is not confirmed (channel lost, connection blocked, or no confirm within
 * its timeout, e.g. on a link that died unnoticed) is stored too: a duplicate is possible, a loss is not.
 */
import type { ChannelModel, ConfirmChannel, Message, Options } from 'amqplib';
import type { Outbox, OutboxEntry } from '../delivery/outbox';
import type { BrokerConnection, BrokerUser } from './broker-connection';
import { assertEventLike, publishOptions, type EventLike } from './message';
import { declareExchange, resolveTopology, routingKeyOf, TRANSPORT_DEFAULTS, type Topology, type TopologyOptions } from './topology';
import { SetupTracker } from './setup-tracker';
import { TransportError } from './transport-error';

export interface PublisherOptions {
  /** Exchange and naming; only the exchange is declared by a publisher. */
  topology?: Topology | TopologyOptions;
  /**
   * Per-publish timeout: until confirm, including any wait for the connection. Default 10 s. With
   * an outbox, a direct publish not confirmed in time goes to the outbox instead of failing.
   */
  timeoutMs?: number;
  /** Store-and-forward target while the broker is unreachable or blocked. */
  outbox?: Outbox;
  /** Declare the exchange on every connect (default true). */
  declare?: boolean;
  /**
   * Problems that have no caller to go to, for the node to log: an outbox entry the broker refuses
   * (UNROUTABLE, PUBLISH_NACKED; `entry` given, once per entry and error code, the entry is kept
   * and retried), or a failed setup of the publisher's channel (no `entry`; retried with backoff).
   */
  onError?: (error: Error, entry?: OutboxEntry) => void;
}

export interface PublisherStats {
  /** Sent, awaiting the broker's confirm. */
  inFlight: number;
  /** Waiting for the connection (no outbox). */
  waiting: number;
  /** Stored in the outbox, not yet forwarded. */
  backlog: number;
  confirmed: number;
  failed: number;
  stored: number;
}

interface Pending {
  event: EventLike;
  content: Buffer;
  options: Options.Publish;
  routingKey: string;
  deadline: number;
  timer?: NodeJS.Timeout;
  returned?: Message;
  /** Sent directly by publish(): may still go to the outbox if the send does not get through. */
  fallBack?: boolean;
  done: boolean;
  resolve(): void;
  reject(err: Error): void;
}

function isTopology(t: Topology | TopologyOptions): t is Topology {
  return Array.isArray((t as Topology).retryTiers);
}

export class Publisher implements BrokerUser {
  readonly topology: Topology;
  private readonly timeoutMs: number;
  private readonly outbox?: Outbox;
  private readonly declare: boolean;
  /** The channel to send on; cleared as soon as a send sees it failing. */
  private channel?: ConfirmChannel;
  /** The channel of the current connection, until the connection or the channel ends. */
  private live?: ConfirmChannel;
  private blocked = false;
  private closed = false;
  private started = false;
  private waiting: Pending[] = [];
  /** Sent and unconfirmed, by message id, in send order: matches basic.return to its publish. */
  private readonly sent = new Map<string, Pending[]>();
  private inFlight = 0;
  /** Outbox enqueues not yet committed: direct publishing waits until none are left. */
  private enqueuing = 0;
  /** The message of the last failed setup reported, until a setup succeeds. */
  private setupError?: string;
  /** The setup in progress (onConnected): close() waits for it, so it cannot leave a channel open. */
  private readonly setup = new SetupTracker();
  private readonly onError?: PublisherOptions['onError'];
  /** Error codes already reported per outbox entry id (until the entry is forwarded). */
  private readonly reported = new Map<number, Set<string>>();
  private counts = { confirmed: 0, failed: 0, stored: 0 };

  constructor(
    private readonly broker: BrokerConnection,
    options: PublisherOptions = {},
  ) {
    const t = options.topology ?? {};
    this.topology = isTopology(t) ? t : resolveTopology(t);
    this.timeoutMs = options.timeoutMs ?? TRANSPORT_DEFAULTS.publishTimeoutMs;
    this.outbox = options.outbox;
    this.declare = options.declare ?? true;
    this.onError = options.onError;
  }

  /** Registers with the broker connection and starts draining the outbox. */
  start(): this {
    if (this.started) return this;
    this.started = true;
    this.broker.register(this);
    this.outbox?.start((entry) => this.forward(entry));
    return this;
  }

  /** Ready to send directly: a live confirm channel on an unblocked connection. */
  get ready(): boolean {
    return !!this.channel && !this.blocked;
  }

  stats(): PublisherStats {
    return { inFlight: this.inFlight, waiting: this.waiting.length, backlog: this.outbox?.backlog() ?? 0, ...this.counts };
  }

  publish(event: unknown): Promise<void> {
    try {
      assertEventLike(event);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.closed) return Promise.reject(new TransportError('BROKER_CLOSED', 'the publisher is closed'));
    if (!this.started) this.start();
    if (this.outbox && (!this.ready || this.enqueuing > 0 || this.outbox.backlog() > 0)) return this.store(event);
    return new Promise<void>((resolve, reject) => {
      const p: Pending = {
        event,
        content: Buffer.from(JSON.stringify(event)),
        options: publishOptions(event),
        routingKey: routingKeyOf(event),
        deadline: Date.now() + this.timeoutMs,
        done: false,
        resolve,
        reject,
      };
      p.timer = setTimeout(() => this.timeout(p), this.timeoutMs);
      if (this.ready) this.send(p);
      else this.waiting.push(p);
    });
  }

  async onConnected(model: ChannelModel): Promise<void> {
    if (this.closed) return;
    await this.setup.run(() => this.setUp(model));
  }

  /** A failure or a close() meanwhile closes the channel: none is left behind. */
  private async setUp(model: ChannelModel): Promise<void> {
    const ch = await model.createConfirmChannel();
    ch.on('error', () => undefined); // 'close' follows
    ch.on('close', () => {
      if (this.channel === ch) this.channel = undefined;
      // Only the channel died (the connection lives on): rebuild through the broker.
      if (this.live === ch && !this.closed) this.broker.fail(new Error('publisher channel closed'));
      if (this.live === ch) this.live = undefined;
    });
    ch.on('return', (msg: Message) => this.onReturn(msg));
    try {
      if (this.declare && !this.closed) await declareExchange(ch, this.topology);
    } catch (err) {
      await ch.close().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await ch.close().catch(() => undefined);
      return;
    }
    this.channel = ch;
    this.live = ch;
    this.blocked = false;
    this.setupError = undefined;
    this.flush();
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
    // Unconfirmed publishes get 'channel closed' from amqplib and are retried from there.
    this.channel = undefined;
    this.live = undefined;
  }

  onBlocked(blocked: boolean): void {
    this.blocked = blocked;
    if (!blocked) {
      this.flush();
      return;
    }
    // RabbitMQ blocks a connection (and says so) only when it publishes during an alarm, so the
    // publishes that revealed the block sit unconfirmed until the alarm clears. With an outbox
    // they go there now, like every later publish while blocked (the wire copy may still arrive:
    // a duplicate is possible, a loss is not).
    if (!this.outbox || this.closed) return;
    for (const list of this.sent.values()) {
      for (const p of list) {
        if (p.done || !p.fallBack) continue;
        clearTimeout(p.timer);
        p.done = true;
        this.store(p.event).then(p.resolve, p.reject);
      }
    }
  }

  /**
   * Stops accepting publishes, waits (bounded) for the in-flight ones, stops the outbox drain
   * (entries stay stored) and deregisters. Waiting publishes fail with BROKER_CLOSED.
   */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.setup.settled();
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const p of this.waiting.splice(0)) this.settle(p, new TransportError('BROKER_CLOSED', 'the publisher closed before the event was sent'));
    await this.outbox?.stop();
    const ch = this.live;
    this.channel = undefined;
    this.live = undefined;
    await ch?.close().catch(() => undefined);
    await this.broker.deregister(this);
  }

  private async store(event: EventLike): Promise<void> {
    this.enqueuing++;
    try {
      await (this.outbox as Outbox).enqueue(event.subject || event.id, event);
      this.counts.stored++;
    } finally {
      this.enqueuing--;
    }
  }

  /**
   * Outbox drain: one confirmed publish per entry; a rejection makes the outbox retry later. A
   * refusal by the broker (UNROUTABLE, PUBLISH_NACKED) repeats on every retry until someone fixes
   * the bindings or the broker: reported through onError once per entry and code.
   */
  private async forward(entry: OutboxEntry): Promise<void> {
    try {
      await this.forwardOnce(entry);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'UNROUTABLE' || code === 'PUBLISH_NACKED') {
        let codes = this.reported.get(entry.id);
        if (!codes) this.reported.set(entry.id, (codes = new Set()));
        if (!codes.has(code)) {
          codes.add(code);
          this.report(err as Error, entry);
        }
      }
      throw err;
    }
    this.reported.delete(entry.id);
  }

  private forwardOnce(entry: OutboxEntry): Promise<void> {
    const event = entry.payload as EventLike;
    return new Promise<void>((resolve, reject) => {
      const p: Pending = {
        event,
        content: Buffer.from(JSON.stringify(event)),
        options: publishOptions(event),
        routingKey: routingKeyOf(event),
        deadline: Date.now() + this.timeoutMs,
        done: false,
        resolve,
        reject,
      };
      p.timer = setTimeout(() => this.timeout(p), this.timeoutMs);
      // Forwarding never re-enters the outbox: it waits for the connection like a plain publish.
      if (this.ready) this.send(p, false);
      else this.waiting.push(p);
    });
  }

  private flush(): void {
    while (this.ready && this.waiting.length > 0) {
      const p = this.waiting.shift() as Pending;
      if (!p.done) this.send(p, false);
    }
  }

  /** `fallBack`: on a lost channel, hand the event to the outbox instead of re-sending it. */
  private send(p: Pending, fallBack = true): void {
    const ch = this.channel as ConfirmChannel;
    const id = p.options.messageId as string;
    p.returned = undefined;
    p.fallBack = fallBack;
    let list = this.sent.get(id);
    if (!list) this.sent.set(id, (list = []));
    list.push(p);
    this.inFlight++;
    const confirmed = (err: unknown) => {
      this.inFlight--;
      this.forget(id, p);
      if (p.done) return;
      if (!err) {
        if (p.returned) {
          const f = p.returned.fields as unknown as { replyCode?: number; replyText?: string };
          this.settle(p, new TransportError('UNROUTABLE', `no queue is bound for ${p.routingKey} on ${this.topology.exchange}`, {
            exchange: this.topology.exchange, routingKey: p.routingKey, replyCode: f.replyCode, replyText: f.replyText,
          }));
        } else {
          this.counts.confirmed++;
          this.settle(p);
        }
        return;
      }
      const nacked = (err as Error).message === 'message nacked';
      // Any other error means the channel we sent on is gone; never send on it again.
      if (!nacked && this.channel === ch) this.channel = undefined;
      if (this.outbox && fallBack && !this.closed) {
        // Not confirmed: store it instead (a duplicate is possible, a loss is not).
        clearTimeout(p.timer);
        p.done = true;
        this.store(p.event).then(p.resolve, p.reject);
      } else if (nacked) {
        this.settle(p, new TransportError('PUBLISH_NACKED', 'the broker refused the message (basic.nack)', { messageId: id }));
      } else if (!this.closed) {
        this.waiting.push(p); // channel lost: sent again by flush() after the reconnect, within the deadline
      } else {
        this.settle(p, new TransportError('BROKER_CLOSED', 'the channel closed before the broker confirmed', { messageId: id }));
      }
    };
    try {
      ch.publish(this.topology.exchange, p.routingKey, p.content, p.options, confirmed);
    } catch (err) {
      confirmed(err); // channel closed under us
    }
  }

  private onReturn(msg: Message): void {
    const id = msg.properties.messageId as string | undefined;
    const list = id === undefined ? undefined : this.sent.get(id);
    const p = list?.find((x) => !x.returned);
    if (p) p.returned = msg;
  }

  private forget(id: string, p: Pending): void {
    const list = this.sent.get(id);
    if (!list) return;
    const i = list.indexOf(p);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.sent.delete(id);
  }

  private timeout(p: Pending): void {
    if (p.done) return;
    const i = this.waiting.indexOf(p);
    if (i >= 0) this.waiting.splice(i, 1);
    if (this.outbox && p.fallBack && !this.closed) {
      // Sent directly, no confirm in time (a link that went quiet without being detected yet):
      // store it instead, like a blocked publish (the wire copy may still arrive: a duplicate is
      // possible, a loss is not).
      p.done = true;
      this.store(p.event).then(p.resolve, p.reject);
      return;
    }
    this.settle(p, new TransportError('PUBLISH_TIMEOUT', `no broker confirm within ${this.timeoutMs} ms`, { messageId: p.event.id, connected: this.ready }));
  }

  private report(error: Error, entry?: OutboxEntry): void {
    try {
      this.onError?.(error, entry);
    } catch {
      // the reporter must not break publishing
    }
  }

  private settle(p: Pending, err?: Error): void {
    if (p.done) return;
    p.done = true;
    clearTimeout(p.timer);
    if (err) {
      this.counts.failed++;
      p.reject(err);
    } else p.resolve();
  }
}
