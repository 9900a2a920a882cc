/**
 * Which transport a publish or consume node uses, decided from plain inputs only (what the node
 * layer found for the node's Broker field, the environment and the user directory):
 *
 *   1. a broker selected in the Broker field: that broker, and nothing else. A selected broker
 *      that is not deployed or whose configuration is broken is an error, never a fallback:
 *      events meant for one broker must not land quietly somewhere else;
 *   2. no broker selected and PLANTSYNC_AMQP_URL set: RabbitMQ at that URL (default topology);
 *   3. neither: the embedded local bus, `<userDir>/plantsync/bus.db` (PLANTSYNC_BUS_FILE, relative
 *      to the user directory, moves it).
 *
 * PLANTSYNC_RETRY_TIERS ("1s,10s,60s") sets the retry tiers of 2 and 3.
 */
import * as path from 'node:path';
import type { BrokerConfig } from './broker-connection';
import { parseRetryTiers } from './retry-tiers';

/** The node's Broker field as the node layer found it: the config node's id, name and URL. */
export type BrokerRef =
  | { id: string; found: false }
  | {
      id: string;
      found: true;
      name?: string;
      /** Its connection URL; only the host is kept (a credential URL carries the password). */
      url?: string;
      /** Why the config node cannot be used (its own configuration check). */
      configError?: string;
    };

export interface SelectionInput {
  /** Undefined: the node selects no broker. */
  broker?: BrokerRef;
  env: Readonly<Record<string, string | undefined>>;
  userDir: string;
}

/** `label` is what status and log name: the broker's name (else its host), the URL's host, or the bus file. */
export type TransportChoice =
  | { kind: 'broker'; brokerId: string; label: string; host: string }
  | { kind: 'amqpUrl'; label: string; host: string; connection: BrokerConfig; retryTiersMs: number[] }
  | { kind: 'localBus'; label: string; file: string; retryTiersMs: number[] };

export interface SelectionError {
  reason: 'brokerMissing' | 'brokerBroken' | 'envInvalid';
  /** Says what is wrong, where, and what to do; never a password. */
  message: string;
}

export type TransportSelection = { choice: TransportChoice; error?: undefined } | { choice?: undefined; error: SelectionError };

const hostOf = (url: string | undefined): string => {
  try {
    return url ? new URL(url).host : '';
  } catch {
    return '';
  }
};

export function selectTransport(input: SelectionInput): TransportSelection {
  const { broker, env } = input;
  if (broker) return selectBroker(broker);
  try {
    const retryTiersMs = retryTiers(env.PLANTSYNC_RETRY_TIERS);
    const url = env.PLANTSYNC_AMQP_URL?.trim();
    if (url) {
      const connection = envConnection(url);
      const host = hostOf(url);
      return { choice: { kind: 'amqpUrl', label: host, host, connection, retryTiersMs } };
    }
    const file = path.resolve(input.userDir, env.PLANTSYNC_BUS_FILE?.trim() || path.join('plantsync', 'bus.db'));
    const inUserDir = path.relative(path.resolve(input.userDir), file);
    const label = inUserDir && !inUserDir.startsWith('..') && !path.isAbsolute(inUserDir) ? inUserDir : file;
    return { choice: { kind: 'localBus', label, file, retryTiersMs } };
  } catch (err) {
    return { error: { reason: 'envInvalid', message: (err as Error).message } };
  }
}

function selectBroker(broker: BrokerRef): TransportSelection {
  if (!broker.found) {
    return {
      error: {
        reason: 'brokerMissing',
        message:
          `the plantsync-broker config node ${broker.id} selected in the Broker field is not deployed (deleted, disabled or not imported): ` +
          'deploy it or select another broker; nothing is sent to PLANTSYNC_AMQP_URL or the local bus instead',
      },
    };
  }
  const name = broker.name ? `"${broker.name}" (${broker.id})` : broker.id;
  if (broker.configError) {
    return { error: { reason: 'brokerBroken', message: `the plantsync-broker config node ${name} selected in the Broker field is misconfigured: ${broker.configError}` } };
  }
  const host = hostOf(broker.url);
  return { choice: { kind: 'broker', brokerId: broker.id, label: broker.name || host || broker.id, host } };
}

function retryTiers(text: string | undefined): number[] {
  try {
    return parseRetryTiers(text);
  } catch (err) {
    throw new Error(`PLANTSYNC_RETRY_TIERS: ${(err as Error).message}`, { cause: err });
  }
}

/** The connection settings of PLANTSYNC_AMQP_URL; the messages never repeat the URL (it may hold a password). */
function envConnection(url: string): BrokerConfig {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('PLANTSYNC_AMQP_URL is not a URL: write it like amqp://user:password@host:5672/vhost');
  }
  if (u.protocol !== 'amqp:' && u.protocol !== 'amqps:') throw new Error(`PLANTSYNC_AMQP_URL must start with amqp:// or amqps://, got ${u.protocol}`);
  const config: BrokerConfig = { url, heartbeatSec: 30, connectionName: 'plantsync (PLANTSYNC_AMQP_URL)' };
  if (u.protocol === 'amqps:') config.tls = { rejectUnauthorized: true, servername: u.hostname };
  return config;
}
