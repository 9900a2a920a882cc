import { createHash } from 'node:crypto';

/** A stored first response for a repeatability / idempotency key. */
export interface CachedResponse {
  fingerprint: string;
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Ledger seq of the first request (or of the posting it itself repeated). */
  seq: number;
}

export type CacheLookup =
  | { kind: 'miss' }
  | { kind: 'replay'; hit: CachedResponse }
  | { kind: 'conflict'; hit: CachedResponse };

/** JSON with sorted object keys, so the same body in another key order is the same request. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Method, path with query, and body: a key reused for anything else is a different request. */
export function fingerprint(method: string, rawUrl: string, body: unknown): string {
  return createHash('sha256').update(stableStringify({ method, rawUrl, body })).digest('hex');
}

/** First responses by key; the caller decides what a conflict looks like in its vendor's format. */
export class RepeatCache {
  private readonly map = new Map<string, CachedResponse>();

  lookup(key: string, fp: string): CacheLookup {
    const hit = this.map.get(key);
    if (!hit) return { kind: 'miss' };
    return hit.fingerprint === fp ? { kind: 'replay', hit } : { kind: 'conflict', hit };
  }

  store(key: string, entry: CachedResponse): void {
    if (!this.map.has(key)) this.map.set(key, entry);
  }

  clear(): void {
    this.map.clear();
  }
}
