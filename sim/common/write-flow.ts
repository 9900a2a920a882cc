import { type Call, header, type Reply } from './http';
import type { Ledger } from './ledger';
import { fingerprint, type RepeatCache } from './repeat-cache';

/** What a write did, for the reply, the ledger and the repeat cache. */
export interface Outcome {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** True when a document was created or changed (counted in /__sim/postings). */
  posted: boolean;
  /** A business-level key found in the body (SAP ExternalSystemConfirmation) when no header key applies. */
  key?: string;
  /** Set when the business logic itself answered with an earlier document. */
  replayOf?: number;
  /** Called with the ledger seq once recorded, e.g. to remember a confirmation's first posting. */
  onRecorded?: (seq: number) => void;
}

export interface WriteContext {
  ledger: Ledger;
  cache: RepeatCache;
  ignoreRepeatability: boolean;
}

export interface WriteSpec {
  /** The header key (Repeatability-Request-ID / Idempotency-Key), if the client sent one. */
  key: string | undefined;
  /** Extra headers on an answer from the cache. */
  replayHeaders?: Record<string, string>;
  conflict: () => Outcome;
  exec: () => Outcome;
}

/** The headers that make a write repeatable, recorded in the ledger so a test can see what each attempt carried. */
const REPEAT_HEADERS = ['repeatability-request-id', 'repeatability-first-sent', 'idempotency-key'];

export function ledgerHeaders(call: Call): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of REPEAT_HEADERS) {
    const value = header(call, name);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

export function ledgerBody(call: Call): unknown {
  if (call.json !== undefined) return call.json;
  return call.rawBody === '' ? null : call.rawBody;
}

/**
 * Runs one write through the repeat cache and records it: a repeated key returns the first response
 * (no second posting), the same key with another request is a conflict.
 */
export function runWrite(ctx: WriteContext, call: Call, spec: WriteSpec): { reply: Reply; seq: number } {
  const useCache = spec.key !== undefined && !ctx.ignoreRepeatability;
  const fp = fingerprint(call.method, call.rawUrl, ledgerBody(call));
  const base = { method: call.method, path: call.rawUrl, body: ledgerBody(call), headers: ledgerHeaders(call) };
  if (useCache && spec.key !== undefined) {
    const found = ctx.cache.lookup(spec.key, fp);
    if (found.kind === 'replay') {
      const { hit } = found;
      const seq = ctx.ledger.record({ ...base, key: spec.key, status: hit.status, response: hit.body, replayOf: hit.seq }, false);
      return { reply: { status: hit.status, body: hit.body, headers: { ...hit.headers, ...spec.replayHeaders } }, seq };
    }
    if (found.kind === 'conflict') {
      const o = spec.conflict();
      const seq = ctx.ledger.record({ ...base, key: spec.key, status: o.status, response: o.body }, false);
      return { reply: { status: o.status, body: o.body, headers: o.headers }, seq };
    }
  }
  const o = spec.exec();
  const key = spec.key ?? o.key ?? null;
  const seq = ctx.ledger.record({ ...base, key, status: o.status, response: o.body, replayOf: o.replayOf }, o.posted);
  o.onRecorded?.(seq);
  if (useCache && spec.key !== undefined) {
    ctx.cache.store(spec.key, { fingerprint: fp, status: o.status, body: o.body, headers: o.headers, seq: o.replayOf ?? seq });
  }
  return { reply: { status: o.status, body: o.body, headers: o.headers }, seq };
}
