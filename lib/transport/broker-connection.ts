/**
 * One AMQP connection per broker configuration, shared by every publisher and consumer that
 * registers with it, with its own reconnect loop (amqplib's built-in recovery does not re-create
 * our channels or tell us the attempt number we show in the status).
 *
 * - The connection opens on the first `register` and closes after the last `deregister`.
 * - After any connection loss, or a channel failure a user reports through `fail()`, it reconnects
 *   with exponential backoff and jitter, then calls every user's `onConnected` again, which
 *   re-creates channels, re-declares topology and re-subscribes consumers. A channel failure of a
 *   running user rebuilds the whole connection: coarse, but one recovery path is easier to get right.
 * - A user's failed setup (its `onConnected` rejects, e.g. PRECONDITION_FAILED on a queue that
 *   exists with other arguments) is that user's alone: it is reported (`onSetupFailed`, `onSetup`)
 *   and only that setup is retried, with backoff, while the connection is up; the others go on.
 * - An intentional close never reconnects. A register() while a close is still finishing waits for
 *   it, then opens a new connection: each open has its own loop, and a close waits for its own.
 * - `blocked` / `unblocked` (broker resource alarms) become status changes; publishers pause.
 */
import * as amqp from 'amqplib';
import type { ChannelModel, Options } from 'amqplib';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { TransportError } from './transport-error';
import { backoffDelay } from '../delivery/retry-policy';

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

/** When a failed setup is tried again: `attempt` counts this user's failures on this connection from 1. */
export interface SetupRetry {
  attempt: number;
  nextInMs: number;
}

/** Outcome of one user's setup on the connection (see `onSetup`). */
export type SetupEvent = { user: BrokerUser; ok: true } | ({ user: BrokerUser; ok: false; error: Error } & SetupRetry);

/** Something that uses the connection: gets it after every (re)connect. */
export interface BrokerUser {
  /**
   * Creates channels, declares topology, subscribes. A rejection is this user's alone: it should
   * leave no channel of its own open; the connection reports it and calls `onConnected` again later.
   */
  onConnected(model: ChannelModel): Promise<void>;
  /** This user's `onConnected` rejected; it is retried after `retry.nextInMs` while the connection lasts. */
  onSetupFailed?(error: Error, retry: SetupRetry): void;
  /** The connection is gone (channels with it); stop using them. */
  onDisconnected?(error?: Error): void;
  /** The broker blocked / unblocked publishing. */
  onBlocked?(blocked: boolean): void;
}

export type StatusListener = (status: BrokerStatus) => void;
export type SetupListener = (event: SetupEvent) => void;

const DEFAULT_RECONNECT: Required<ReconnectOptions> = { initialDelayMs: 500, maxDelayMs: 30000, factor: 2 };

/** The core's backoff with jitter in the upper half (see backoffDelay): `attempt` counts from 1. */
export function reconnectDelay(attempt: number, options: ReconnectOptions = {}, random: () => number = Math.random): number {
  const o = { ...DEFAULT_RECONNECT, ...options };
  return backoffDelay(attempt, { baseDelayMs: o.initialDelayMs, maxDelayMs: o.maxDelayMs, factor: o.factor }, random, 'equal');
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

/** One open..close of the connection: its loop checks its own flag, never a later open's. */
interface Run {
  stopped: boolean;
  loop?: Promise<void>;
}

export class BrokerConnection {
  private readonly users = new Set<BrokerUser>();
  private readonly listeners = new Set<StatusListener>();
  private readonly setupListeners = new Set<SetupListener>();
  private model?: ChannelModel;
  private current: BrokerStatus = { state: 'closed' };
  /** The open run; undefined when closed or closing. */
  private active?: Run;
  /** A close in progress: a register() meanwhile opens again only after it. */
  private closing?: Promise<void>;
  private attempt = 0;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;
  private isBlocked = false;
  /** Bumped per connection: late events of an old connection are ignored. */
  private generation = 0;
  /** Users whose setup failed on the current connection: their failure count and retry timer. */
  private readonly retries = new Map<BrokerUser, { attempt: number; timer?: NodeJS.Timeout }>();

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

  /**
   * Calls `listener` after each user's setup on the connection: `ok: false` with the error and
   * when it is retried, `ok: true` when it succeeded. Returns unsubscribe.
   */
  onSetup(listener: SetupListener): () => void {
    this.setupListeners.add(listener);
    return () => this.setupListeners.delete(listener);
  }

  private get running(): boolean {
    return this.active !== undefined;
  }

  /**
   * Adds a user; opens the connection for the first one (after a close still in progress), or
   * hands the current one over, also while it is still being set up.
   */
  register(user: BrokerUser): void {
    if (this.users.has(user)) return;
    this.users.add(user);
    if (this.active) {
      // Set up, or being set up (the setup loop took its copy of the users before this one).
      if (this.model) void this.setUp(user, this.model, this.generation);
    } else {
      // Open; after the close still in progress, if any (its loop and connection end first).
      const run: Run = { stopped: false };
      this.active = run;
      const closing = this.closing;
      run.loop = closing ? closing.catch(() => undefined).then(() => (run.stopped ? undefined : this.run(run))) : this.run(run);
    }
  }

  /** Removes a user; the last one closes the connection. */
  async deregister(user: BrokerUser): Promise<void> {
    if (!this.users.delete(user)) return;
    const retry = this.retries.get(user);
    if (retry) clearTimeout(retry.timer);
    this.retries.delete(user);
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

  /**
   * A user's channel failed: rebuild the connection (unless closing). When the connection itself
   * dies, amqplib closes its channels first and emits the connection's own close right after, in
   * the same turn; so the drop waits for that turn to end, and the connection's reason
   * (CONNECTION_FORCED, ECONNRESET, a missed heartbeat) is the one reported, not "channel closed".
   */
  fail(err: unknown): void {
    if (!this.running || !this.model) return;
    const model = this.model;
    setImmediate(() => {
      if (!this.running || this.model !== model) return; // the connection's close came first
      this.dropModel(err instanceof Error ? err : new Error(String(err)));
      model.close().catch(() => undefined);
    });
  }

  /** Intentional close: no reconnect; users are told they are disconnected. Resolves when closed. */
  async close(): Promise<void> {
    const run = this.active;
    if (!run) return this.closing;
    this.active = undefined;
    run.stopped = true;
    const closing = this.shutDown(run);
    this.closing = closing;
    try {
      await closing;
    } finally {
      if (this.closing === closing) this.closing = undefined;
    }
  }

  private async shutDown(run: Run): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    this.clearRetries();
    const model = this.model;
    this.model = undefined;
    this.generation++;
    if (model) {
      for (const user of this.users) user.onDisconnected?.();
      await model.close().catch(() => undefined);
    }
    await run.loop;
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

  /** Connect, hand over, wait for loss, back off; until close() stops this run. */
  private async run(run: Run): Promise<void> {
    this.attempt = 0;
    while (!run.stopped) {
      let lastError: Error | undefined;
      if (this.attempt === 0) this.setStatus({ state: 'connecting' });
      try {
        await this.connectOnce(run);
        this.attempt = 0;
        await new Promise<void>((resolve) => (this.wake = resolve)); // until lost or closed
        this.wake = undefined;
        if (run.stopped) break;
      } catch (err) {
        lastError = explainConnectError(err as Error, this.config);
      }
      if (run.stopped) break;
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

  private async connectOnce(run: Run): Promise<void> {
    const { url, socket } = connectArgs(this.config);
    const model = await amqp.connect(url, socket);
    if (run.stopped) {
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
    // One at a time, in registration order. A user registered from here on is handed the
    // connection by register() itself (this.model is set), so none is missed and none twice.
    for (const user of [...this.users]) {
      if (generation !== this.generation) break;
      await this.setUp(user, model, generation);
    }
    if (generation !== this.generation) throw new Error(this.lostReason ?? 'connection lost during setup');
    if (!this.isBlocked) this.setStatus({ state: 'connected' });
  }

  /**
   * One user's setup on `model`. A failure stays that user's: reported, and retried with backoff
   * while this connection lasts; the connection and the other users are not touched.
   */
  private async setUp(user: BrokerUser, model: ChannelModel, generation: number): Promise<void> {
    const current = () => generation === this.generation && this.users.has(user);
    if (!current()) return;
    try {
      await user.onConnected(model);
    } catch (err) {
      if (!current()) return; // the connection went (its users are told) or the user left
      const error = err instanceof Error ? err : new Error(String(err));
      const retry = this.retries.get(user) ?? { attempt: 0 };
      this.retries.set(user, retry);
      retry.attempt++;
      const nextInMs = reconnectDelay(retry.attempt, this.config.reconnect);
      retry.timer = setTimeout(() => {
        retry.timer = undefined;
        void this.setUp(user, model, generation);
      }, nextInMs);
      this.reportSetup(user, { user, ok: false, error, attempt: retry.attempt, nextInMs });
      return;
    }
    if (!current()) return;
    this.retries.delete(user);
    this.reportSetup(user, { user, ok: true });
    if (this.isBlocked) user.onBlocked?.(true);
  }

  private reportSetup(user: BrokerUser, event: SetupEvent): void {
    try {
      if (!event.ok) user.onSetupFailed?.(event.error, { attempt: event.attempt, nextInMs: event.nextInMs });
    } catch {
      // a user's reporter must not break the connection
    }
    for (const listener of this.setupListeners) {
      try {
        listener(event);
      } catch {
        // nor a listener
      }
    }
  }

  private clearRetries(): void {
    for (const retry of this.retries.values()) clearTimeout(retry.timer);
    this.retries.clear();
  }

  /** Forget the connection, tell users, wake the loop to reconnect. */
  private dropModel(err: Error): void {
    this.generation++;
    this.model = undefined;
    this.lostReason = err.message;
    this.clearRetries();
    for (const user of this.users) user.onDisconnected?.(err);
    this.wake?.();
  }
}
