/**
 * The process-wide connections behind the selected transports: one RabbitMQ connection per
 * PLANTSYNC_AMQP_URL and one LocalBus per bus file, created by their first user and closed after
 * their last. A broker config node owns its own connection; it is only wrapped here.
 */
import { BrokerConnection } from './broker-connection';
import { LocalBus } from './local-bus';
import { localTransport, rabbitTransport, type NodeTransport, type RabbitBroker } from './node-transport';
import type { TransportChoice } from './selection';
import { resolveTopology, TRANSPORT_DEFAULTS } from './topology';

export interface TransportLog {
  warn(message: string): void;
}

/** A broker config node's connection, and its registration of a user (it waits for them on close). */
export interface ConfigNodeBroker extends RabbitBroker {
  use(): () => void;
}

/** A value shared by reference count: created by the first user, destroyed after the last. */
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

export class SharedTransports {
  /** Keyed by URL, so a changed variable (in tests) takes effect. */
  private readonly envBrokers = new Map<string, Shared<BrokerConnection>>();
  /** Keyed by file: consumers of one bus in one process must share its wake-ups. */
  private readonly localBuses = new Map<string, Shared<LocalBus>>();

  /**
   * The transport of `choice` for one node, which calls `release()` when done with it. `broker`
   * is the selected config node's broker (choice kind "broker"). Throws when the bus file cannot
   * be opened.
   */
  open(choice: TransportChoice, options: { log: TransportLog; broker?: ConfigNodeBroker }): NodeTransport {
    switch (choice.kind) {
      case 'broker': {
        if (!options.broker) throw new Error(`the broker ${choice.label} has no connection`);
        return rabbitTransport(options.broker, choice, options.broker.use());
      }
      case 'amqpUrl': {
        const { value: connection, release } = this.envBroker(choice, options.log);
        const tiers = choice.retryTiersMs;
        const broker: RabbitBroker = {
          connection,
          prefetch: TRANSPORT_DEFAULTS.prefetch,
          topology: (r) => resolveTopology({ retryTiersMs: tiers, group: r?.group, bindingKeys: r?.bindingKeys, maxAttempts: r?.maxAttempts }),
          subscribe: (listener) => {
            listener(connection.status);
            return connection.onStatus(listener);
          },
        };
        return rabbitTransport(broker, choice, release);
      }
      case 'localBus': {
        const { value: bus, release } = this.localBus(choice.file, choice.retryTiersMs);
        return localTransport(bus, choice, release);
      }
    }
  }

  private envBroker(choice: Extract<TransportChoice, { kind: 'amqpUrl' }>, log: TransportLog) {
    const { url } = choice.connection;
    let shared = this.envBrokers.get(url);
    if (!shared) {
      shared = new Shared(
        () => {
          const connection = new BrokerConnection(choice.connection);
          logConnectFailures(connection, (message) => log.warn(`[plantsync] PLANTSYNC_AMQP_URL (${choice.host}): cannot connect, retrying: ${message}`));
          return connection;
        },
        (c) => {
          this.envBrokers.delete(url);
          void c.close().catch(() => undefined);
        },
      );
      this.envBrokers.set(url, shared);
    }
    return shared.acquire();
  }

  private localBus(file: string, retryTiersMs: number[]) {
    let shared = this.localBuses.get(file);
    if (!shared) {
      shared = new Shared(
        () => new LocalBus(file, { retryTiersMs }),
        (bus) => {
          this.localBuses.delete(file);
          void bus.close().catch(() => undefined);
        },
      );
      this.localBuses.set(file, shared);
    }
    return shared.acquire();
  }
}

/** The registry of this process: every publish and consume node shares it. */
export const sharedTransports = new SharedTransports();
