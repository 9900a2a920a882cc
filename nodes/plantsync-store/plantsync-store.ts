import * as path from 'node:path';
import type { NodeAPI, NodeDef } from 'node-red';
import { DeadLetterStore } from '../../lib/delivery/dead-letter-store';
import type { IdempotencyStore } from '../../lib/idempotency/idempotency-store';
import { openIdempotencyStore, type StoreSpec } from '../../lib/idempotency/open-store';
import { ConfigCheck } from '../shared/config-check';
import { STORE_RANGES, type PlantSyncStoreNode, type StoreCredentials } from '../shared/store-node';

interface StoreNodeDef extends NodeDef {
  kind?: 'sqlite' | 'postgres';
  file?: string;
  host?: string;
  port?: string | number;
  database?: string;
  user?: string;
  ssl?: boolean;
  retentionDays?: string | number;
}

const HOUR = 3600000;

export = function register(RED: NodeAPI): void {
  function PlantSyncStoreNode(this: PlantSyncStoreNode, config: StoreNodeDef): void {
    RED.nodes.createNode(this, config);
    const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
    const base = path.join(userDir, 'plantsync');
    const kind = config.kind === 'postgres' ? 'postgres' : 'sqlite';
    const file = path.resolve(base, config.file || 'plantsync.db');
    const check = new ConfigCheck(config);
    const retentionMs = check.number('retentionDays', STORE_RANGES.retentionDays) * 24 * HOUR;
    const port = kind === 'postgres' ? check.number('port', STORE_RANGES.port) : STORE_RANGES.port.fallback;
    const problem = check.error();
    if (problem) {
      this.configError = problem.message;
      this.error(problem.message);
    }

    const spec = (): StoreSpec => {
      if (kind === 'sqlite') return { kind, file };
      const creds = this.credentials ?? {};
      if (creds.connectionString) return { kind, connectionString: creds.connectionString };
      const url = new URL('postgres://localhost');
      url.hostname = config.host || 'localhost';
      url.port = String(port);
      url.pathname = `/${encodeURIComponent(config.database || 'plantsync')}`;
      url.username = config.user || '';
      url.password = creds.password || '';
      if (config.ssl) url.searchParams.set('sslmode', 'require');
      return { kind, connectionString: url.toString() };
    };

    let idem: Promise<IdempotencyStore> | undefined;
    let dead: DeadLetterStore | undefined;
    // Settled keys past their retention are purged hourly, so the store stays small.
    const purgeTimer = setInterval(() => {
      idem?.then((s) => s.purge(retentionMs)).catch((err: Error) => this.warn(`purge failed: ${err.message}`));
    }, HOUR);
    purgeTimer.unref();

    this.idempotency = () => {
      // A failed open (database down at deploy) is not kept: the next message tries again.
      if (problem) return Promise.reject(problem);
      idem ??= openIdempotencyStore(spec()).catch((err: unknown) => {
        idem = undefined;
        throw err;
      });
      return idem;
    };
    // Dead letters stay in the local SQLite file (next to the idempotency data when that is SQLite).
    this.deadLetters = () => {
      dead ??= new DeadLetterStore(kind === 'sqlite' ? file : path.join(base, 'dead-letters.db'));
      return dead;
    };
    this.describe = () => (kind === 'sqlite' ? `SQLite ${file}` : `PostgreSQL ${config.host || 'localhost'}/${config.database || 'plantsync'}`);

    this.on('close', (done: () => void) => {
      clearInterval(purgeTimer);
      const closing: Promise<unknown>[] = [];
      if (idem) closing.push(idem.then((s) => s.close()));
      if (dead) closing.push(dead.close());
      Promise.allSettled(closing).then(() => done());
    });
  }

  RED.nodes.registerType<PlantSyncStoreNode, StoreNodeDef, unknown, StoreCredentials>('plantsync-store', PlantSyncStoreNode, {
    credentials: {
      password: { type: 'password' },
      connectionString: { type: 'password' },
    },
  });
};
