/**
 * The one interface the publish and consume nodes use, whatever the transport: RabbitMQ (a
 * broker config node's connection or PLANTSYNC_AMQP_URL's) or the embedded local bus.
 */
import { Outbox } from '../delivery/outbox';
import type { BrokerConnection, BrokerStatus } from './broker-connection';
import { Consumer, type ConsumerStats, type DeliveryHandler } from './consumer';
import { LOCAL_EXCHANGE, type LocalBus } from './local-bus';
import { assertBindingKey } from './local-bus/topic';
import { Publisher } from './publisher';
import { replayParked, type ReplayOptions, type ReplayResult, type ReplaySelector } from './replay';
import type { TransportChoice } from './selection';
import { routingKeyOf, TRANSPORT_DEFAULTS, type Topology } from './topology';

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
  /** What was selected, and the name the node status and log show. */
  readonly choice: TransportChoice;
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

/** What a consumer needs in its topology beyond what the broker fixes. */
export interface TopologyRequest {
  group: string;
  bindingKeys?: readonly string[];
  maxAttempts?: number;
}

/** A RabbitMQ connection with its settings: a broker config node's, or PLANTSYNC_AMQP_URL's. */
export interface RabbitBroker {
  connection: BrokerConnection;
  /** Default prefetch of its consumers. */
  prefetch: number;
  /** Exchange and retry tiers applied to a consumer group (or to a publisher without a group). */
  topology(request?: TopologyRequest): Topology;
  /** Calls `listener` with the current status at once and on every change; returns the unsubscribe. */
  subscribe(listener: (status: BrokerStatus) => void): () => void;
}

export function rabbitTransport(broker: RabbitBroker, choice: TransportChoice, release: () => void): NodeTransport {
  const { connection } = broker;
  return {
    kind: 'rabbitmq',
    choice,
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

export function localTransport(bus: LocalBus, choice: TransportChoice, release: () => void): NodeTransport {
  return {
    kind: 'local',
    choice,
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
