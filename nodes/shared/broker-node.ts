import type { Node } from 'node-red';
import type { BrokerConnection, BrokerStatus } from '../../lib/transport/broker-connection';
import type { TopologyRequest } from '../../lib/transport/node-transport';
import { TRANSPORT_DEFAULTS, type Topology } from '../../lib/transport/topology';
import type { NumberSetting } from './config-check';

export interface BrokerCredentials {
  password?: string;
  /** A full amqp(s)://user:password@host:port/vhost URL; overrides the URL, user and password fields. */
  fullUrl?: string;
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

/** Ranges checked at deploy; the editor validators (plantsync-broker.html) and the help use the same. */
export const BROKER_RANGES: Readonly<Record<'heartbeat' | 'prefetch', NumberSetting>> = {
  heartbeat: { label: 'heartbeat', min: 0, max: 600, integer: true, unit: 's (0: off)', fallback: 30 },
  // AMQP's prefetch count is 16 bits.
  prefetch: { label: 'prefetch', min: 1, max: 65535, integer: true, fallback: TRANSPORT_DEFAULTS.prefetch },
};
