/**
 * RabbitMQ topology of PlantSync: names, defaults and idempotent declaration.
 *
 *   publishers --(routing key "<type>.<siteid>")--> topic exchange `plantsync.events`
 *   exchange --(binding keys, default "#")--> work queue `plantsync.<group>` (quorum)
 *   consumer failure --> retry queue `plantsync.<group>.retry.<ttl>` (x-message-ttl; dead-letters
 *     through the default exchange back to the work queue when the TTL expires)
 *   past the attempt limit, or malformed --> parking lot `plantsync.<group>.parking`
 *   returned to the queue (nack, lost channel) more than `deliveryLimit` times --> the broker
 *     dead-letters it to the parking lot (quorum work queues; RabbitMQ 4 would otherwise drop it
 *     after its default limit of 20)
 *
 * All defaults live in TRANSPORT_DEFAULTS; every name and tier can be overridden.
 */
import type { Channel } from 'amqplib';
import { TransportError } from './transport-error';

export type QueueType = 'quorum' | 'classic';

export const TRANSPORT_DEFAULTS = Object.freeze({
  exchange: 'plantsync.events',
  queuePrefix: 'plantsync',
  bindingKeys: Object.freeze(['#']) as readonly string[],
  /** Retry tiers: attempt 2 waits 1 s, attempt 3 waits 10 s, attempt 4 and later 60 s. */
  retryTiersMs: Object.freeze([1000, 10000, 60000]) as readonly number[],
  workQueueType: 'quorum' as QueueType,
  /** Classic: TTL-expired messages leave from the head, which is all a same-TTL tier needs. */
  retryQueueType: 'classic' as QueueType,
  parkingQueueType: 'quorum' as QueueType,
  prefetch: 50,
  /**
   * Returns of one message to a quorum work queue (nack, channel or connection lost, redeploy)
   * before the broker moves it to the parking lot. Set explicitly so RabbitMQ 3.x and 4.x behave
   * the same: 4.x defaults to 20 and, without a dead-letter target, drops the message.
   */
  deliveryLimit: 50,
  publishTimeoutMs: 10000,
  /** Routing-key segment used when an event carries no siteid. */
  unknownSite: 'unknown',
});

export interface TopologyOptions {
  /** Consumer group: names the work, retry and parking queues. Required for consumers. */
  group?: string;
  exchange?: string;
  queuePrefix?: string;
  /** Overrides `<prefix>.<group>`. */
  workQueue?: string;
  /** Overrides `<work queue>.parking`. */
  parkingQueue?: string;
  bindingKeys?: readonly string[];
  retryTiersMs?: readonly number[];
  /** Attempts before parking, counting the first delivery; default tiers + 1. */
  maxAttempts?: number;
  workQueueType?: QueueType;
  retryQueueType?: QueueType;
  parkingQueueType?: QueueType;
  /** See TRANSPORT_DEFAULTS.deliveryLimit; part of the work queue's arguments. */
  deliveryLimit?: number;
}

export interface RetryTier {
  queue: string;
  ttlMs: number;
}

/** Resolved names; what consumers, replay and tests use. */
export interface Topology {
  exchange: string;
  group?: string;
  workQueue?: string;
  parkingQueue?: string;
  bindingKeys: readonly string[];
  retryTiers: readonly RetryTier[];
  maxAttempts: number;
  workQueueType: QueueType;
  retryQueueType: QueueType;
  parkingQueueType: QueueType;
  deliveryLimit: number;
}

/** A name segment for a TTL: 1000 -> "1s", 1500 -> "1500ms". */
function ttlName(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

export function resolveTopology(options: TopologyOptions = {}): Topology {
  const d = TRANSPORT_DEFAULTS;
  const tiers = options.retryTiersMs ?? d.retryTiersMs;
  for (const t of tiers) {
    if (!Number.isInteger(t) || t < 1) throw new TransportError('CONFIG_ERROR', `retry tier TTL must be a positive integer of ms, got ${t}`);
  }
  const maxAttempts = options.maxAttempts ?? tiers.length + 1;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new TransportError('CONFIG_ERROR', `maxAttempts must be an integer >= 1, got ${maxAttempts}`);
  const deliveryLimit = options.deliveryLimit ?? d.deliveryLimit;
  if (!Number.isInteger(deliveryLimit) || deliveryLimit < 1) throw new TransportError('CONFIG_ERROR', `deliveryLimit must be an integer >= 1, got ${deliveryLimit}`);
  const group = options.group;
  const workQueue = options.workQueue ?? (group ? `${options.queuePrefix ?? d.queuePrefix}.${group}` : undefined);
  return {
    exchange: options.exchange ?? d.exchange,
    group,
    workQueue,
    parkingQueue: options.parkingQueue ?? (workQueue ? `${workQueue}.parking` : undefined),
    bindingKeys: options.bindingKeys ?? d.bindingKeys,
    retryTiers: workQueue ? tiers.map((ttlMs) => ({ queue: `${workQueue}.retry.${ttlName(ttlMs)}`, ttlMs })) : [],
    maxAttempts,
    workQueueType: options.workQueueType ?? d.workQueueType,
    retryQueueType: options.retryQueueType ?? d.retryQueueType,
    parkingQueueType: options.parkingQueueType ?? d.parkingQueueType,
    deliveryLimit,
  };
}

/** Routing key of an event: `<type>.<siteid>`, e.g. `mfg.operation.completed.v2.P100`. */
export function routingKeyOf(event: { type: string; siteid?: unknown }): string {
  const site = typeof event.siteid === 'string' && event.siteid !== '' ? event.siteid : TRANSPORT_DEFAULTS.unknownSite;
  return `${event.type}.${site}`;
}

/** Binding key for one event type at any (or one) site. */
export function bindingKeyFor(type: string, siteid = '*'): string {
  return `${type}.${siteid}`;
}

function queueArgs(type: QueueType, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return type === 'quorum' ? { 'x-queue-type': 'quorum', ...extra } : { 'x-queue-type': 'classic', ...extra };
}

/** The exchange only (what a publisher needs). Idempotent. */
export async function declareExchange(ch: Channel, topology: Topology): Promise<void> {
  await ch.assertExchange(topology.exchange, 'topic', { durable: true });
}

/**
 * Exchange, work queue with its bindings, retry tiers and parking lot. Idempotent with the same
 * options; a queue that exists with other arguments closes the channel with PRECONDITION_FAILED
 * (amqplib rejects), which is a configuration error to report, not to retry around.
 */
export async function declareTopology(ch: Channel, topology: Topology): Promise<void> {
  await declareExchange(ch, topology);
  const { workQueue, parkingQueue } = topology;
  if (!workQueue || !parkingQueue) return;
  // A quorum work queue counts returns per message: past the limit the broker parks it (at least
  // once) rather than dropping it.
  const workExtra: Record<string, unknown> =
    topology.workQueueType === 'quorum'
      ? {
          'x-delivery-limit': topology.deliveryLimit,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': parkingQueue,
          'x-dead-letter-strategy': 'at-least-once',
          'x-overflow': 'reject-publish',
        }
      : {};
  await ch.assertQueue(parkingQueue, { durable: true, arguments: queueArgs(topology.parkingQueueType) });
  await ch.assertQueue(workQueue, { durable: true, arguments: queueArgs(topology.workQueueType, workExtra) });
  for (const key of topology.bindingKeys) await ch.bindQueue(workQueue, topology.exchange, key);
  for (const tier of topology.retryTiers) {
    const extra: Record<string, unknown> = {
      'x-message-ttl': tier.ttlMs,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': workQueue,
    };
    // Quorum dead-lettering is at-most-once unless asked otherwise.
    if (topology.retryQueueType === 'quorum') Object.assign(extra, { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' });
    await ch.assertQueue(tier.queue, { durable: true, arguments: queueArgs(topology.retryQueueType, extra) });
  }
}

/** Every queue of the topology, for tests and tooling (work, retry tiers, parking). */
export function queuesOf(topology: Topology): string[] {
  return [topology.workQueue, ...topology.retryTiers.map((t) => t.queue), topology.parkingQueue].filter((q): q is string => !!q);
}
