import { TRANSPORT_DEFAULTS } from './topology';

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
