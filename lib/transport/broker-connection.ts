/**
 * One AMQP connection per broker configuration, shared by every publisher and consumer that
 * registers with it, with its own reconnect loop (amqplib's built-in recovery does not re-create
 * our channels or tell us the attempt number we show in the status).
 *
 * - The connection opens on the first `register` and closes after the last `deregister`.
 * - After any connection loss, or a channel failure a user reports through `fail()`, it reconnects
 *   with exponential backoff and jitter, then calls every user's `onConnected` again, which
 *   re-creates channels, re-declares topology and re-subscribes consumers. A channel failure
 *   rebuilds the whole connection: coarse, but one recovery path is easier to get right.
 * - An intentional close never reconnects.
 * - `blocked` / `unblocked` (broker resource alarms) become status changes; publishers pause.
 */
import * as amqp from 'amqplib';
import type { ChannelModel, Options } from 'amqplib';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { TransportError } from './transport-error';

export type BrokerStatus =
  | { state: 'connecting' }
  | { state: 'connected' }
  | { state: 'blocked'; reason: string }
  | { state: 'reconnecting'; attempt: number; nextInMs: number; error?: string }
  | { state: 'closed' };

export interface ReconnectOptions {
  initialDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
}

export interface BrokerConfig {
  /** amqp:// or amqps:// URL; credentials in it or below. */
  url: string;
  /** Overrides the URL's vhost. */
  vhost?: string;
  username?: string;
  password?: string;
  /** Heartbeat interval in seconds (default 30). */
  heartbeatSec?: number;
  /** TLS options for amqps (ca, cert, key, passphrase, servername, rejectUnauthorized). */
  tls?: Pick<TlsOptions, 'ca' | 'cert' | 'key' | 'passphrase' | 'servername' | 'rejectUnauthorized'>;
  /** TCP connect timeout (default 10 s). */
  connectTimeoutMs?: number;
  reconnect?: ReconnectOptions;
  /** Shown in the broker's management UI. */
  connectionName?: string;
}

/** Something that uses the connection: gets it after every (re)connect. */
export interface BrokerUser {
  /** Creates channels, declares topology, subscribes. A rejection counts as a channel failure. */
  onConnected(model: ChannelModel): Promise<void>;
  /** The connection is gone (channels with it); stop using them. */
  onDisconnected?(error?: Error): void;
  /** The broker blocked / unblocked publishing. */
  onBlocked?(blocked: boolean): void;
}

export type StatusListener = (status: BrokerStatus) => void;

const DEFAULT_RECONNECT: Required<ReconnectOptions> = { initialDelayMs: 500, maxDelayMs: 30000, factor: 2 };

/** Exponential backoff with jitter in the upper half: `attempt` counts from 1. */
export function reconnectDelay(attempt: number, options: ReconnectOptions = {}, random: () => number = Math.random): number {
  const o = { ...DEFAULT_RECONNECT, ...options };
  const ceiling = Math.min(o.maxDelayMs, o.initialDelayMs * o.factor ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** The URL and socket options amqplib gets (vhost, credentials and heartbeat applied). */
export function connectArgs(config: BrokerConfig): { url: Options.Connect; socket: Record<string, unknown> } {
  const u = new URL(config.url);
  const tlsUrl = u.protocol === 'amqps:';
  const vhostFromUrl = u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : '/';
  const url: Options.Connect = {
    protocol: tlsUrl ? 'amqps' : 'amqp',
    hostname: u.hostname,
    port: u.port ? Number(u.port) : tlsUrl ? 5671 : 5672,
    username: config.username ?? (u.username ? decodeURIComponent(u.username) : 'guest'),
    password: config.password ?? (u.password ? decodeURIComponent(u.password) : 'guest'),
    vhost: config.vhost ?? vhostFromUrl,
    heartbeat: config.heartbeatSec ?? 30,
  };
  const socket: Record<string, unknown> = {
    timeout: config.connectTimeoutMs ?? 10000,
    clientProperties: { connection_name: config.connectionName ?? 'plantsync' },
    ...(config.tls ?? {}),
  };
  return { url, socket };
}

/**
 * amqplib reports a refused virtual host only as "Expected ConnectionOpenOk; got
 * <ConnectionClose ...>" (the broker's reply text is dropped). RabbitMQ answers connection.open
 * with a close only when the vhost does not exist or the user has no permission on it, so say so.
 */
export function explainConnectError(err: Error, config: BrokerConfig): Error {
  if (!/Expected ConnectionOpenOk; got <ConnectionClose/.test(err.message)) return err;
  const vhost = connectArgs(config).url.vhost;
  return new Error(`the broker refused virtual host "${vhost}": it does not exist or the user has no permission on it`, { cause: err });
}

export class BrokerConnection {
  private readonly users = new Set<BrokerUser>();
  private readonly listeners = new Set<StatusListener>();
  private model?: ChannelModel;
  private current: BrokerStatus = { state: 'closed' };
  private running = false;
  private attempt = 0;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;
  private loop?: Promise<void>;
  private isBlocked = false;
  /** Bumped per connection: late events of an old connection are ignored. */
  private generation = 0;

  constructor(readonly config: BrokerConfig) {}

  get status(): BrokerStatus {
    return this.current;
  }

  /** Connected and not blocked: publishing now makes progress. */
  get writable(): boolean {
    return this.current.state === 'connected';
  }

  get connection(): ChannelModel | undefined {
    return this.current.state === 'connected' || this.current.state === 'blocked' ? this.model : undefined;
  }

  /** Calls `listener` on every status change (not with the current one). Returns unsubscribe. */
  onStatus(listener: StatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adds a user; opens the connection for the first one, or hands the live one over. */
  register(user: BrokerUser): void {
    if (this.users.has(user)) return;
    this.users.add(user);
    if (!this.running) {
      this.running = true;
      this.loop = this.run();
    } else if (this.model && this.connection) {
      const model = this.model;
      const generation = this.generation;
      user.onConnected(model).then(
        () => this.isBlocked && user.onBlocked?.(true),
        (err: unknown) => generation === this.generation && this.fail(err),
      );
    }
  }

  /** Removes a user; the last one closes the connection. */
  async deregister(user: BrokerUser): Promise<void> {
    if (!this.users.delete(user)) return;
    if (this.users.size === 0) await this.close();
  }

  /** Resolves with the live connection, waiting at most `timeoutMs`. */
  async whenConnected(timeoutMs: number): Promise<ChannelModel> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const model = this.connection;
      if (model) return model;
      if (!this.running) throw new TransportError('BROKER_CLOSED', 'the broker connection is closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new TransportError('NOT_CONNECTED', `not connected to the broker within ${timeoutMs} ms`, { status: this.current });
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, left);
        const off = this.onStatus(done);
        function done() {
          clearTimeout(t);
          off();
          resolve();
        }
      });
    }
  }

  /** A user's channel failed: rebuild the connection (unless closing). */
  fail(err: unknown): void {
    if (!this.running || !this.model) return;
    const model = this.model;
    this.dropModel(err instanceof Error ? err : new Error(String(err)));
    model.close().catch(() => undefined);
  }

  /** Intentional close: no reconnect; users are told they are disconnected. */
  async close(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    const model = this.model;
    this.model = undefined;
    this.generation++;
    if (model) {
      for (const user of this.users) user.onDisconnected?.();
      await model.close().catch(() => undefined);
    }
    await this.loop;
    this.setStatus({ state: 'closed' });
  }

  private setStatus(status: BrokerStatus): void {
    this.current = status;
    for (const listener of this.listeners) {
      try {
        listener(status);
      } catch {
        // a status listener must not break the connection
      }
    }
  }

  /** Connect, hand over, wait for loss, back off; until close(). */
  private async run(): Promise<void> {
    this.attempt = 0;
    while (this.running) {
      let lastError: Error | undefined;
      if (this.attempt === 0) this.setStatus({ state: 'connecting' });
      try {
        await this.connectOnce();
        this.attempt = 0;
        await new Promise<void>((resolve) => (this.wake = resolve)); // until lost or closed
        this.wake = undefined;
        if (!this.running) break;
      } catch (err) {
        lastError = explainConnectError(err as Error, this.config);
      }
      if (!this.running) break;
      this.attempt++;
      const delay = reconnectDelay(this.attempt, this.config.reconnect);
      this.setStatus({ state: 'reconnecting', attempt: this.attempt, nextInMs: delay, error: lastError?.message ?? this.lostReason });
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, delay);
      });
      this.wake = undefined;
    }
  }

  private lostReason?: string;

  private async connectOnce(): Promise<void> {
    const { url, socket } = connectArgs(this.config);
    const model = await amqp.connect(url, socket);
    if (!this.running) {
      await model.close().catch(() => undefined);
      return;
    }
    const generation = ++this.generation;
    this.model = model;
    this.isBlocked = false;
    model.on('error', () => undefined); // 'close' follows; the error alone must not crash the process
    model.on('close', (err?: Error) => {
      if (generation === this.generation) this.dropModel(err ?? new Error('connection closed by the broker'));
    });
    model.on('blocked', (reason: string) => {
      if (generation !== this.generation) return;
      this.isBlocked = true;
      this.setStatus({ state: 'blocked', reason });
      for (const user of this.users) user.onBlocked?.(true);
    });
    model.on('unblocked', () => {
      if (generation !== this.generation) return;
      this.isBlocked = false;
      this.setStatus({ state: 'connected' });
      for (const user of this.users) user.onBlocked?.(false);
    });
    try {
      for (const user of [...this.users]) await user.onConnected(model);
    } catch (err) {
      if (generation === this.generation) this.dropModel(err as Error);
      await model.close().catch(() => undefined);
      throw err;
    }
    if (generation !== this.generation) throw new Error(this.lostReason ?? 'connection lost during setup');
    if (!this.isBlocked) this.setStatus({ state: 'connected' });
  }

  /** Forget the connection, tell users, wake the loop to reconnect. */
  private dropModel(err: Error): void {
    this.generation++;
    this.model = undefined;
    this.lostReason = err.message;
    for (const user of this.users) user.onDisconnected?.(err);
    this.wake?.();
  }
}
