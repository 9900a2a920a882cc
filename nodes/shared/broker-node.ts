import type { Node, NodeAPI } from 'node-red';
import type { BrokerConnection, BrokerStatus } from '../../lib/transport/broker-connection';
import { TRANSPORT_DEFAULTS, type Topology } from '../../lib/transport/topology';
import type { NumberSetting } from './config-check';

export interface BrokerCredentials {
  password?: string;
  /** A full amqp(s)://user:password@host:port/vhost URL; overrides the URL, user and password fields. */
  fullUrl?: string;
}

/** What a consumer needs in its topology beyond what the broker config node fixes. */
export interface TopologyRequest {
  group: string;
  bindingKeys?: readonly string[];
  maxAttempts?: number;
}

/** What publish and consume nodes use of a `plantsync-broker` config node. */
export interface PlantSyncBrokerNode extends Node<BrokerCredentials> {
  /** The one connection of this config node; undefined when the configuration is broken. */
  connection?: BrokerConnection;
  /** Why the broker cannot be used (bad URL, retry tiers, CA file); reported per message as CONFIG_ERROR. */
  configError?: string;
  /** Default prefetch of consumers of this broker. */
  prefetch: number;
  /** Exchange and retry tiers of this broker applied to a consumer group (or to a publisher without a group). */
  topology(request?: TopologyRequest): Topology;
  /**
   * Calls `listener` with the current status at once and on every change; returns the
   * unsubscribe function. This is the status fan-out to the user nodes.
   */
  subscribe(listener: (status: BrokerStatus) => void): () => void;
  /**
   * A user node announces itself; the returned function is called once it has deregistered its
   * publisher or consumer. The config node waits for these before closing the connection, because
   * Node-RED closes config nodes alongside (not after) their users.
   */
  use(): () => void;
}

/** The broker config node of a user node, or why there is none usable. */
export function brokerOf(RED: NodeAPI, id: string | undefined): { broker?: PlantSyncBrokerNode; error?: string } {
  const broker = id ? (RED.nodes.getNode(id) as PlantSyncBrokerNode | null) : null;
  if (!broker) return { error: 'no plantsync-broker configured' };
  if (broker.configError || !broker.connection) return { broker, error: broker.configError ?? 'the broker is not usable' };
  return { broker };
}

/** Ranges checked at deploy; the editor validators (plantsync-broker.html) and the help use the same. */
export const BROKER_RANGES: Readonly<Record<'heartbeat' | 'prefetch', NumberSetting>> = {
  heartbeat: { label: 'heartbeat', min: 0, max: 600, integer: true, unit: 's (0: off)', fallback: 30 },
  // AMQP's prefetch count is 16 bits.
  prefetch: { label: 'prefetch', min: 1, max: 65535, integer: true, fallback: TRANSPORT_DEFAULTS.prefetch },
};

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60000, h: 3600000 };
/** Each tier is a queue with its own TTL; a day is beyond any sane redelivery wait. */
const MAX_TIERS = 10;
const MAX_TIER_MS = 24 * 3600000;

/** "1s,10s,60s" -> [1000, 10000, 60000]; units ms, s, m, h; a bare number is seconds. Empty = defaults. */
export function parseRetryTiers(text: string | undefined): number[] {
  if (!text || !text.trim()) return [...TRANSPORT_DEFAULTS.retryTiersMs];
  const parts = text.split(',');
  if (parts.length > MAX_TIERS) throw new Error(`at most ${MAX_TIERS} retry tiers, got ${parts.length}`);
  return parts.map((part) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(part);
    if (!m) throw new Error(`retry tier "${part.trim()}" is not a duration like 500ms, 10s, 5m`);
    const ms = Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 's']);
    if (ms < 1 || ms > MAX_TIER_MS) throw new Error(`retry tier "${part.trim()}" must be from 1 ms to 24 h`);
    return ms;
  });
}

