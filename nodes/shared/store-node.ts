import type { Node } from 'node-red';
import type { DeadLetterStore } from '../../lib/delivery/dead-letter-store';
import type { IdempotencyStore } from '../../lib/idempotency/idempotency-store';

export interface StoreCredentials {
  password?: string;
  connectionString?: string;
}

/** What the worker nodes use of a `plantsync-store` config node. */
export interface PlantSyncStoreNode extends Node<StoreCredentials> {
  idempotency(): Promise<IdempotencyStore>;
  deadLetters(): DeadLetterStore;
  describe(): string;
}
