/**
 * Where the publish and consume nodes send and take events, behind one interface so switching is
 * configuration only:
 *
 *   1. the `plantsync-broker` config node the node names;
 *   2. else, when PLANTSYNC_AMQP_URL is set, one RabbitMQ connection from that URL shared by every
 *      such node of the process (default topology);
 *   3. else the embedded local bus: one durable SQLite file, `<userDir>/plantsync/bus.db`
 *      (PLANTSYNC_BUS_FILE overrides), shared by every such node of the process.
 *
 * PLANTSYNC_RETRY_TIERS ("1s,10s,60s") sets the retry tiers of 2 and 3.
 */
import * as path from 'node:path';
import type { NodeAPI } from 'node-red';
import { Outbox } from '../../lib/delivery/outbox';
import { BrokerConnection, type BrokerConfig, type BrokerStatus } from '../../lib/transport/broker-connection';
import { Consumer, type ConsumerStats, type DeliveryHandler } from '../../lib/transport/consumer';
import { LocalBus, LOCAL_EXCHANGE } from '../../lib/transport/local-bus';
import { assertBindingKey } from '../../lib/transport/local-bus/topic';
import { Publisher } from '../../lib/transport/publisher';
import { replayParked, type ReplayOptions, type ReplayResult, type ReplaySelector } from '../../lib/transport/replay';
import { resolveTopology, routingKeyOf, TRANSPORT_DEFAULTS } from '../../lib/transport/topology';
import { brokerOf, parseRetryTiers, type PlantSyncBrokerNode } from './broker-node';

export type TransportKind = 'rabbitmq' | 'local';

export interface TransportPublisher {
  /** Resolves once the event is durable: broker confirm, outbox commit, or local bus commit. */
  publish(event: unknown): Promise<{ exchange: string; routingKey: string }>;
  /** Events waiting in the store-and-forward outbox. */
  backlog(): number;
  /** Calls `listener` when the backlog changes; returns the unsubscribe function. */
  onBacklog(listener: () => void): () => void;
  close(): Promise<void>;
}

export interface ConsumeRequest {
  group: string;
  bindingKeys?: readonly string[];
  maxAttempts?: number;
  prefetch?: number;
  handler: DeliveryHandler;
  onError(error: unknown): void;
  /** RabbitMQ: the consumer's own setup failed (its queue exists with other arguments...) or succeeded again. */
  onSetup?(error?: Error): void;
}

export interface TransportConsumer {
  stats(): ConsumerStats;
  /** Stops taking messages, waits up to `timeoutMs` for running handlers, returns the rest. */
  close(timeoutMs: number): Promise<void>;
  /** Moves parked messages matching `selector` back to the work queue. */
  replay(selector: ReplaySelector, options: ReplayOptions): Promise<ReplayResult>;
}

export interface NodeTransport {
  readonly kind: TransportKind;
  /** What the node status and log name: the broker's name, the URL's host, or the bus file. */
  readonly label: string;
  readonly defaultPrefetch: number;
  /** Calls `listener` with the current status at once and on every change; returns the unsubscribe. */
  subscribe(listener: (status: BrokerStatus) => void): () => void;
  /** `onError`: problems with no message to go to (an outbox entry the broker keeps refusing, a failed channel setup). */
  publisher(options: { outboxFile?: string; outboxCapacity?: number; timeoutMs: number; onError?: (error: Error) => void }): TransportPublisher;
  /** Throws on a configuration the transport refuses (binding keys, attempts). */
  consumer(request: ConsumeRequest): TransportConsumer;
  /** The node is done with the transport (after closing its publisher or consumer). */
  release(): void;
}

/** A process-wide value shared by reference count: created by the first user, closed after the last. */
class Shared<T> {
  private value?: T;
  private users = 0;

  constructor(
    private readonly create: () => T,
    private readonly destroy: (value: T) => void,
  ) {}

  acquire(): { value: T; release: () => void } {
    this.value ??= this.create();
    this.users++;
    const value = this.value;
    let released = false;
    return {
      value,
      release: () => {
        if (released) return;
        released = true;
        if (--this.users === 0 && this.value === value) {
          this.value = undefined;
          this.destroy(value);
        }
      },
    };
  }
}

const envTiers = () => parseRetryTiers(process.env.PLANTSYNC_RETRY_TIERS);

/** The process-wide connection from PLANTSYNC_AMQP_URL (keyed by URL, so a changed variable in tests takes effect). */
const envBrokers = new Map<string, Shared<BrokerConnection>>();

function envBrokerConfig(url: string): BrokerConfig {
  const u = new URL(url);
  if (u.protocol !== 'amqp:' && u.protocol !== 'amqps:') throw new Error(`PLANTSYNC_AMQP_URL must start with amqp:// or amqps://, got ${u.protocol}`);
  const config: BrokerConfig = { url, heartbeatSec: 30, connectionName: 'plantsync (PLANTSYNC_AMQP_URL)' };
  if (u.protocol === 'amqps:') config.tls = { rejectUnauthorized: true, servername: u.hostname };
  return config;
}

function rabbitTransport(broker: Pick<PlantSyncBrokerNode, 'connection' | 'prefetch' | 'topology' | 'subscribe'>, label: string, release: () => void): NodeTransport {
  const connection = broker.connection!;
  return {
    kind: 'rabbitmq',
    label,
    defaultPrefetch: broker.prefetch,
    subscribe: (listener) => broker.subscribe(listener),
    publisher({ outboxFile, outboxCapacity, timeoutMs, onError }) {
      const outbox = outboxFile ? new Outbox(outboxFile, { capacity: outboxCapacity }) : undefined;
      const topology = broker.topology();
      const publisher = new Publisher(connection, { topology, timeoutMs, outbox, onError }).start();
      return {
        publish: (event) => publisher.publish(event).then(() => ({ exchange: topology.exchange, routingKey: routingKeyOf(event as { type: string }) })),
        backlog: () => outbox?.backlog() ?? 0,
        onBacklog: (listener) => outbox?.onChange(listener) ?? (() => undefined),
        close: () => publisher.close(5000).finally(() => outbox?.close()),
      };
    },
    consumer(request) {
      const topology = broker.topology({ group: request.group, bindingKeys: request.bindingKeys, maxAttempts: request.maxAttempts });
      const consumer = new Consumer(connection, { topology, handler: request.handler, prefetch: request.prefetch ?? broker.prefetch, onError: request.onError });
      // Only this consumer's setup failures: the shared connection and its other users carry on.
      const offSetup = connection.onSetup((e) => {
        if (e.user === consumer) request.onSetup?.(e.ok ? undefined : e.error);
      });
      consumer.start();
      return {
        stats: () => consumer.stats(),
        close: (ms) => consumer.close(ms).finally(offSetup),
        replay: async (selector, options) => replayParked(await connection.whenConnected(10000), topology, selector, options),
      };
    },
    release,
  };
}

/**
 * Logs each distinct connect failure of a connection once (refused login, unknown vhost,
 * untrusted certificate): a status only says "reconnecting", the log says why.
 */
export function logConnectFailures(connection: BrokerConnection, warn: (message: string) => void): () => void {
  let last: string | undefined;
  return connection.onStatus((s) => {
    if (s.state === 'reconnecting' && s.error && s.error !== last) {
      last = s.error;
      warn(s.error);
    } else if (s.state === 'connected') last = undefined;
  });
}

/** The RabbitMQ broker of PLANTSYNC_AMQP_URL as a transport; shares one connection per URL. */
function envRabbit(RED: NodeAPI, url: string): NodeTransport {
  const tiers = envTiers();
  const config = envBrokerConfig(url);
  let shared = envBrokers.get(url);
  if (!shared) {
    shared = new Shared(
      () => {
        const connection = new BrokerConnection(config);
        logConnectFailures(connection, (message) => RED.log.warn(`[plantsync] PLANTSYNC_AMQP_URL (${new URL(url).host}): cannot connect, retrying: ${message}`));
        return connection;
      },
      (c) => {
        envBrokers.delete(url);
        void c.close().catch(() => undefined);
      },
    );
    envBrokers.set(url, shared);
  }
  const { value: connection, release } = shared.acquire();
  const host = new URL(url).host;
  return rabbitTransport(
    {
      connection,
      prefetch: TRANSPORT_DEFAULTS.prefetch,
      topology: (r) => resolveTopology({ retryTiersMs: tiers, group: r?.group, bindingKeys: r?.bindingKeys, maxAttempts: r?.maxAttempts }),
      subscribe: (listener) => {
        listener(connection.status);
        return connection.onStatus(listener);
      },
    },
    host,
    release,
  );
}

/** One LocalBus per file in the process: consumers in one process must share its wake-ups. */
const localBuses = new Map<string, Shared<LocalBus>>();

function localTransport(file: string): NodeTransport {
  let shared = localBuses.get(file);
  if (!shared) {
    const tiers = envTiers();
    shared = new Shared(
      () => new LocalBus(file, { retryTiersMs: tiers }),
      (bus) => {
        localBuses.delete(file);
        void bus.close().catch(() => undefined);
      },
    );
    localBuses.set(file, shared);
  }
  const { value: bus, release } = shared.acquire();
  return {
    kind: 'local',
    label: file,
    defaultPrefetch: TRANSPORT_DEFAULTS.prefetch,
    subscribe(listener) {
      listener({ state: 'connected' });
      return () => undefined;
    },
    publisher() {
      // The bus is itself durable: a publish resolves after its commit, no outbox in front.
      const pending = new Set<Promise<unknown>>();
      return {
        publish(event) {
          const p = bus.publish(event).then(() => ({ exchange: LOCAL_EXCHANGE, routingKey: routingKeyOf(event as { type: string }) }));
          pending.add(p);
          const forget = () => pending.delete(p);
          p.then(forget, forget);
          return p;
        },
        backlog: () => 0,
        onBacklog: () => () => undefined,
        close: () => Promise.allSettled([...pending]).then(() => undefined),
      };
    },
    consumer(request) {
      const bindingKeys = request.bindingKeys ?? TRANSPORT_DEFAULTS.bindingKeys;
      bindingKeys.forEach(assertBindingKey);
      const consumer = bus.consume(request.group, request.handler, { bindingKeys, prefetch: request.prefetch, maxAttempts: request.maxAttempts, onError: request.onError });
      return {
        stats: () => consumer.stats(),
        close: (ms) => consumer.close(ms),
        replay: (selector, options) => bus.replayParked(request.group, selector, options),
      };
    },
    release,
  };
}

/**
 * The transport of a publish or consume node: its broker config node, else PLANTSYNC_AMQP_URL,
 * else the local bus. `error` says why none is usable (reported as CONFIG_ERROR per message).
 */
export function transportFor(RED: NodeAPI, brokerId: string | undefined): { transport?: NodeTransport; error?: string } {
  try {
    if (brokerId) {
      const { broker, error } = brokerOf(RED, brokerId);
      if (!broker || error) return { error };
      return { transport: rabbitTransport(broker, broker.name || broker.id, broker.use()) };
    }
    const url = process.env.PLANTSYNC_AMQP_URL?.trim();
    if (url) return { transport: envRabbit(RED, url) };
    const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
    const file = path.resolve(userDir, process.env.PLANTSYNC_BUS_FILE?.trim() || path.join('plantsync', 'bus.db'));
    return { transport: localTransport(file) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}
