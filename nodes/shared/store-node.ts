import type { Node } from 'node-red';
import type { DeadLetterStore } from '../../lib/delivery/dead-letter-store';
import type { IdempotencyStore } from '../../lib/idempotency/idempotency-store';
import type { NumberSetting } from './config-check';

export interface StoreCredentials {
  password?: string;
  connectionString?: string;
}

/** What the worker nodes use of a `plantsync-store` config node. */
export interface PlantSyncStoreNode extends Node<StoreCredentials> {
  /** Rejects with CONFIG_ERROR (`configError`) when the settings are out of range. */
  idempotency(): Promise<IdempotencyStore>;
  /** Always usable: parking a failed event must not depend on the idempotency settings. */
  deadLetters(): DeadLetterStore;
  describe(): string;
  /** Why the idempotency store cannot be used, one line naming the fix; logged once at deploy. */
  configError?: string;
}

/** Ranges checked at deploy; the editor validators (plantsync-store.html) and the help use the same. */
export const STORE_RANGES: Readonly<Record<'port' | 'retentionDays', NumberSetting>> = {
  port: { label: 'PostgreSQL port', min: 1, max: 65535, integer: true, fallback: 5432 },
  retentionDays: { label: 'retention', min: 0.01, max: 3650, unit: 'days', fallback: 7 },
};
