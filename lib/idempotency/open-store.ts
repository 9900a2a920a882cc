import type { IdempotencyStore, StoreEnvironment } from './idempotency-store';
import { PostgresIdempotencyStore } from './postgres-store';
import { SqliteIdempotencyStore } from './sqlite-store';

/** Where an idempotency store lives: an SQLite file (embedded default) or a shared PostgreSQL. */
export type StoreSpec =
  | { kind: 'sqlite'; file: string }
  | { kind: 'postgres'; connectionString: string; table?: string; poolSize?: number };

export async function openIdempotencyStore(spec: StoreSpec, env: StoreEnvironment = {}): Promise<IdempotencyStore> {
  switch (spec.kind) {
    case 'sqlite':
      return new SqliteIdempotencyStore(spec.file, env);
    case 'postgres':
      return PostgresIdempotencyStore.open(spec, env);
    default:
      throw new Error(`store kind ${(spec as { kind: string }).kind} is not available`);
  }
}
