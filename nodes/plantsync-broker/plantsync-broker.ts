import * as fs from 'node:fs';
import { isIP } from 'node:net';
import * as path from 'node:path';
import type { NodeAPI, NodeDef } from 'node-red';
import { BrokerConnection, type BrokerConfig, type BrokerStatus } from '../../lib/transport/broker-connection';
import { resolveTopology, TRANSPORT_DEFAULTS } from '../../lib/transport/topology';
import type { TopologyRequest } from '../../lib/transport/node-transport';
import { parseRetryTiers } from '../../lib/transport/retry-tiers';
import { logConnectFailures } from '../../lib/transport/shared-transports';
import { BROKER_RANGES, type BrokerCredentials, type PlantSyncBrokerNode } from '../shared/broker-node';
import { ConfigCheck, envVarOf } from '../shared/config-check';

interface BrokerNodeDef extends NodeDef {
  url?: string;
  vhost?: string;
  user?: string;
  tls?: boolean;
  verify?: boolean;
  caFile?: string;
  heartbeat?: string | number;
  prefetch?: string | number;
  exchange?: string;
  retryTiers?: string;
  /** Test hook (not in the editor): reconnect backoff start and ceiling in ms. */
  reconnectMs?: [number, number];
}

/** Resolves the connection settings; throws a readable one-line message on a broken configuration. */
function brokerConfig(config: BrokerNodeDef, creds: BrokerCredentials, userDir: string, id: string, heartbeatSec: number): BrokerConfig {
  const full = creds.fullUrl?.trim();
  let u: URL;
  if (full) {
    try {
      u = new URL(full);
    } catch {
      throw new Error('the Full URL credential is not a URL: write it like amqp://user:password@host:5672/vhost');
    }
  } else if (!config.url?.trim() && !envVarOf(config, 'url')) {
    u = new URL('amqp://localhost:5672');
  } else {
    const check = new ConfigCheck(config);
    const url = check.url('url', 'broker URL', ['amqp:', 'amqps:'], 'amqp://host:5672');
    if (!url) throw new Error(check.error()?.message);
    u = url;
  }
  // The URL field is saved in the flow JSON: a password there would end up in git.
  if (!full && (u.username || u.password)) throw new Error('the URL field must not contain a user or password (it is stored in the flow): use the User and Password fields, or the Full URL credential');
  if (u.protocol !== 'amqp:' && u.protocol !== 'amqps:') throw new Error(`broker URL must start with amqp:// or amqps://, got ${u.protocol}`);
  if (config.tls && u.protocol === 'amqp:') u.protocol = 'amqps:';
  const out: BrokerConfig = {
    url: u.toString(),
    heartbeatSec,
    connectionName: `plantsync ${config.name || id}`,
  };
  // A full URL from the credentials carries its own user, password and vhost.
  if (!full) {
    if (config.vhost) out.vhost = config.vhost;
    if (config.user) out.username = config.user;
    if (creds.password) out.password = creds.password;
  }
  if (u.protocol === 'amqps:') {
    out.tls = { rejectUnauthorized: config.verify !== false };
    if (!isIP(u.hostname)) out.tls.servername = u.hostname;
    if (config.caFile) {
      const file = path.resolve(userDir, config.caFile);
      try {
        out.tls.ca = fs.readFileSync(file);
      } catch (err) {
        throw new Error(`CA file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
      }
    }
  }
  if (config.reconnectMs) out.reconnect = { initialDelayMs: config.reconnectMs[0], maxDelayMs: config.reconnectMs[1] };
  return out;
}

export = function register(RED: NodeAPI): void {
  function PlantSyncBrokerNode(this: PlantSyncBrokerNode, config: BrokerNodeDef): void {
    RED.nodes.createNode(this, config);
    const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
    const exchange = config.exchange || TRANSPORT_DEFAULTS.exchange;
    const check = new ConfigCheck(config);
    this.prefetch = check.number('prefetch', BROKER_RANGES.prefetch);
    const heartbeatSec = check.number('heartbeat', BROKER_RANGES.heartbeat);
    let tiers: number[] = [...TRANSPORT_DEFAULTS.retryTiersMs];
    try {
      const problem = check.error();
      if (problem) throw problem;
      tiers = parseRetryTiers(config.retryTiers);
      this.connection = new BrokerConnection(brokerConfig(config, this.credentials ?? {}, userDir, this.id, heartbeatSec));
    } catch (err) {
      this.configError = (err as Error).message;
      this.error(RED._('plantsync-broker.errors.config', { message: this.configError }));
    }

    this.topology = (request?: TopologyRequest) =>
      resolveTopology({ exchange, retryTiersMs: tiers, group: request?.group, bindingKeys: request?.bindingKeys, maxAttempts: request?.maxAttempts });

    const listeners = new Set<(s: BrokerStatus) => void>();
    const unsubscribe = this.connection?.onStatus((s) => {
      for (const l of listeners) l(s);
    });
    const unlog = this.connection && logConnectFailures(this.connection, (message) => this.warn(`${RED._('plantsync-broker.errors.connect')}: ${message}`));
    this.subscribe = (listener) => {
      listeners.add(listener);
      listener(this.connection?.status ?? { state: 'closed' });
      return () => listeners.delete(listener);
    };

    let users = 0;
    let allGone: (() => void) | undefined;
    this.use = () => {
      users++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (--users === 0) allGone?.();
      };
    };

    this.on('close', (done: () => void) => {
      // Users deregister while closing themselves (in parallel with this node): give them time,
      // less than Node-RED's 15 s close timeout, then close whatever is left.
      const waitUsers = users === 0 ? Promise.resolve() : new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 12000);
        allGone = () => {
          clearTimeout(t);
          resolve();
        };
      });
      waitUsers
        .then(() => this.connection?.close())
        .catch(() => undefined)
        .then(() => {
          unsubscribe?.();
          unlog?.();
          listeners.clear();
          done();
        });
    });
  }

  RED.nodes.registerType<PlantSyncBrokerNode, BrokerNodeDef, unknown, BrokerCredentials>('plantsync-broker', PlantSyncBrokerNode, {
    credentials: {
      password: { type: 'password' },
      fullUrl: { type: 'password' },
    },
  });
};
