import { Fail } from './fail';
import { mulberry32 } from './prng';

/** One queued fault; it applies once, to the next request whose path and query contain `match` (and of `method`, when given). */
export interface FaultEntry {
  match?: string;
  /** Only requests of this HTTP method (e.g. POST, so a lookup GET on the same entity set passes). */
  method?: string;
  status?: number;
  retryAfterSec?: number;
  delayMs?: number;
  timeout?: true;
  dropAfterCommit?: true;
  body?: unknown;
}

export interface FaultPlanInput {
  queue?: FaultEntry[];
  latencyMs?: number;
  errorRate?: number;
  errorStatuses?: number[];
  /** Share (0..1) of writes (every method but GET and HEAD) that are processed, then answered by a dropped connection; seeded. */
  dropAfterCommitRate?: number;
  seed?: number;
}

/** What to do with one request. */
export interface FaultDecision {
  delayMs: number;
  status?: number;
  retryAfterSec?: number;
  body?: unknown;
  timeout?: boolean;
  dropAfterCommit?: boolean;
  /** Ledger label: status, errorRate, timeout or dropAfterCommit. */
  label?: string;
}

const DEFAULT_SEED = 1;

/** The control-API fault plan: a one-shot queue plus background latency and a seeded error rate. */
export class FaultPlan {
  private queue: FaultEntry[] = [];
  private latencyMs = 0;
  private errorRate = 0;
  private errorStatuses = [503];
  private dropAfterCommitRate = 0;
  private seed = DEFAULT_SEED;
  private random = mulberry32(DEFAULT_SEED);
  // Its own sequence, so adding a drop rate does not shift a seeded error-rate run.
  private dropRandom = mulberry32(DEFAULT_SEED);

  /** PUT /__sim/faults replaces the plan; a seed restarts the error-rate sequence. */
  set(input: unknown): void {
    const plan = parsePlan(input);
    this.queue = plan.queue ?? [];
    this.latencyMs = plan.latencyMs ?? 0;
    this.errorRate = plan.errorRate ?? 0;
    this.errorStatuses = plan.errorStatuses ?? [503];
    this.dropAfterCommitRate = plan.dropAfterCommitRate ?? 0;
    if (plan.seed !== undefined) {
      this.seed = plan.seed;
      this.random = mulberry32(plan.seed);
      this.dropRandom = mulberry32(plan.seed);
    }
  }

  clear(): void {
    this.queue = [];
    this.latencyMs = 0;
    this.errorRate = 0;
    this.errorStatuses = [503];
    this.dropAfterCommitRate = 0;
    this.seed = DEFAULT_SEED;
    this.random = mulberry32(DEFAULT_SEED);
    this.dropRandom = mulberry32(DEFAULT_SEED);
  }

  snapshot(): Required<Omit<FaultPlanInput, 'queue'>> & { queue: FaultEntry[] } {
    return {
      queue: this.queue.map((e) => ({ ...e })),
      latencyMs: this.latencyMs,
      errorRate: this.errorRate,
      errorStatuses: [...this.errorStatuses],
      dropAfterCommitRate: this.dropAfterCommitRate,
      seed: this.seed,
    };
  }

  /** Takes the first queued entry matching this request, else rolls the error rate, then (writes) the drop rate. */
  next(rawUrl: string, method = 'GET'): FaultDecision {
    const decoded = safeDecode(rawUrl);
    const i = this.queue.findIndex((e) => (e.method === undefined || e.method === method.toUpperCase())
      && (e.match === undefined || rawUrl.includes(e.match) || decoded.includes(e.match)));
    if (i >= 0) {
      const [e] = this.queue.splice(i, 1);
      const delayMs = this.latencyMs + (e.delayMs ?? 0);
      if (e.timeout) return { delayMs, timeout: true, label: 'timeout' };
      if (e.status !== undefined) return { delayMs, status: e.status, retryAfterSec: e.retryAfterSec, body: e.body, label: 'status' };
      if (e.dropAfterCommit) return { delayMs, dropAfterCommit: true, label: 'dropAfterCommit' };
      return { delayMs };
    }
    if (this.errorRate > 0 && this.random() < this.errorRate) {
      const status = this.errorStatuses[Math.floor(this.random() * this.errorStatuses.length)];
      return { delayMs: this.latencyMs, status, label: 'errorRate' };
    }
    const write = method !== 'GET' && method !== 'HEAD';
    if (write && this.dropAfterCommitRate > 0 && this.dropRandom() < this.dropAfterCommitRate) {
      return { delayMs: this.latencyMs, dropAfterCommit: true, label: 'dropAfterCommit' };
    }
    return { delayMs: this.latencyMs };
  }
}

/** Lets `match` be written with the quotes a client percent-encodes ('1000123' vs %271000123%27). */
function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function bad(message: string): Fail {
  return new Fail(400, 'invalid_fault_plan', message);
}

function nonNegative(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw bad(`${name} must be a non-negative number`);
  return v;
}

function httpStatus(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 100 || v > 599) throw bad(`${name} must be an HTTP status 100..599`);
  return v;
}

const ENTRY_KEYS = new Set(['match', 'method', 'status', 'retryAfterSec', 'delayMs', 'timeout', 'dropAfterCommit', 'body']);
const PLAN_KEYS = new Set(['queue', 'latencyMs', 'errorRate', 'errorStatuses', 'dropAfterCommitRate', 'seed']);

function parseEntry(raw: unknown, i: number): FaultEntry {
  const at = `queue[${i}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(`${at} must be an object`);
  const o = raw as Record<string, unknown>;
  const unknownKey = Object.keys(o).find((k) => !ENTRY_KEYS.has(k));
  if (unknownKey) throw bad(`${at}.${unknownKey} is not a fault option`);
  const entry: FaultEntry = {};
  if (o.match !== undefined) {
    if (typeof o.match !== 'string') throw bad(`${at}.match must be a string`);
    entry.match = o.match;
  }
  if (o.method !== undefined) {
    if (typeof o.method !== 'string' || !/^[A-Za-z]+$/.test(o.method)) throw bad(`${at}.method must be an HTTP method name`);
    entry.method = o.method.toUpperCase();
  }
  if (o.status !== undefined) entry.status = httpStatus(o.status, `${at}.status`);
  entry.retryAfterSec = nonNegative(o.retryAfterSec, `${at}.retryAfterSec`);
  entry.delayMs = nonNegative(o.delayMs, `${at}.delayMs`);
  for (const flag of ['timeout', 'dropAfterCommit'] as const) {
    if (o[flag] !== undefined && o[flag] !== true) throw bad(`${at}.${flag} must be true when given`);
    if (o[flag] === true) entry[flag] = true;
  }
  if (o.body !== undefined) entry.body = o.body;
  // The three outcomes exclude each other; delayMs may accompany any of them.
  const outcomes = [entry.status !== undefined, entry.timeout, entry.dropAfterCommit].filter(Boolean).length;
  if (outcomes > 1) throw bad(`${at}: status, timeout and dropAfterCommit exclude each other`);
  if ((entry.retryAfterSec !== undefined || entry.body !== undefined) && entry.status === undefined) {
    throw bad(`${at}: retryAfterSec and body need a status`);
  }
  for (const k of Object.keys(entry) as Array<keyof FaultEntry>) if (entry[k] === undefined) delete entry[k];
  return entry;
}

function parsePlan(raw: unknown): FaultPlanInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('the fault plan must be a JSON object');
  const o = raw as Record<string, unknown>;
  const unknownKey = Object.keys(o).find((k) => !PLAN_KEYS.has(k));
  if (unknownKey) throw bad(`${unknownKey} is not a fault plan option`);
  const plan: FaultPlanInput = {};
  if (o.queue !== undefined) {
    if (!Array.isArray(o.queue)) throw bad('queue must be an array');
    plan.queue = o.queue.map(parseEntry);
  }
  plan.latencyMs = nonNegative(o.latencyMs, 'latencyMs');
  const rate = nonNegative(o.errorRate, 'errorRate');
  if (rate !== undefined && rate > 1) throw bad('errorRate must be between 0 and 1');
  plan.errorRate = rate;
  const drop = nonNegative(o.dropAfterCommitRate, 'dropAfterCommitRate');
  if (drop !== undefined && drop > 1) throw bad('dropAfterCommitRate must be between 0 and 1');
  plan.dropAfterCommitRate = drop;
  if (o.errorStatuses !== undefined) {
    if (!Array.isArray(o.errorStatuses) || o.errorStatuses.length === 0) throw bad('errorStatuses must be a non-empty array');
    plan.errorStatuses = o.errorStatuses.map((s, i) => httpStatus(s, `errorStatuses[${i}]`));
  }
  if (o.seed !== undefined) {
    if (typeof o.seed !== 'number' || !Number.isInteger(o.seed)) throw bad('seed must be an integer');
    plan.seed = o.seed;
  }
  return plan;
}
