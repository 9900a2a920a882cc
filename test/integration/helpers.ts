/**
 * Shared pieces of the end-to-end tests that run PlantSync's EndpointClient, mapping profiles and
 * profile-call glue against the peer-system simulators in sim/: the simulators' control API, a
 * recording HTTP proxy (for what the simulator ledger does not record: CSRF refusals, token
 * requests, request headers), clocks and sleeps, canonical event construction, and bounded waits.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdapterError } from '../../lib/adapters/adapter-errors';
import { EndpointClient, type EndpointClientOptions } from '../../lib/adapters/endpoint-client';
import { createEvent } from '../../lib/canonical/envelope';
import type { CanonicalEvent } from '../../lib/canonical/events';
import { MappingError } from '../../lib/mapping/errors';
import type { RetryPolicy } from '../../lib/delivery/retry-policy';
import { defaultRegistry } from '../../lib/validation/schema-registry';
import { startSapSimulator, type FaultEntry, type FaultPlanInput, type LedgerEntry, type RunningSimulator } from '../../sim';

/** Every control call and every send is bounded by these. */
export const CONTROL_TIMEOUT_MS = 5_000;
export const SEND_TIMEOUT_MS = 15_000;
/** Per exchange of the client under test. */
export const CLIENT_TIMEOUT_MS = 5_000;

/** The retry policy a PlantSync request node would be configured with in these tests. */
export const RETRY: RetryPolicy = { baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 4 };

/** Rejects when `promise` takes longer than `ms`, so a hang fails the test with a reason. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
    }),
  ]);
}

export function delay(ms: number): Promise<void> {
  assert.ok(ms >= 0 && ms <= 5_000, `test delay ${ms} ms out of bounds`);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- simulator control API ---------------------------------------------------------------------

async function controlCall(url: string, method: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(CONTROL_TIMEOUT_MS) };
  if (body !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

export interface SimControl {
  ledger(): Promise<LedgerEntry[]>;
  postings(): Promise<LedgerEntry[]>;
  faults(plan: FaultPlanInput): Promise<void>;
  /** What is left of the fault queue. */
  faultQueue(): Promise<FaultEntry[]>;
  config(config: {
    ignoreRepeatability?: boolean; csrfTtlMs?: number; tokenTtlSec?: number; csrfTokenOn?: 'any' | 'service-root' | 'entity-set' | 'none'; csrfFetchStatus?: number;
  }): Promise<Record<string, unknown>>;
  reset(): Promise<void>;
}

export function simControl(base: string): SimControl {
  const ok = async (method: string, path: string, body?: unknown) => {
    const res = await controlCall(`${base}/__sim/${path}`, method, body);
    assert.equal(res.status, 200, `${method} /__sim/${path}: ${JSON.stringify(res.body)}`);
    return res.body;
  };
  return {
    ledger: async () => (await ok('GET', 'ledger')) as LedgerEntry[],
    postings: async () => (await ok('GET', 'postings')) as LedgerEntry[],
    faults: async (plan) => {
      await ok('PUT', 'faults', plan);
    },
    faultQueue: async () => ((await ok('GET', 'faults')) as { queue: FaultEntry[] }).queue,
    config: async (config) => (await ok('PUT', 'config', config)) as Record<string, unknown>,
    reset: async () => {
      await ok('POST', 'reset');
    },
  };
}

/** The default config every test starts from (config survives POST /__sim/reset). */
export const DEFAULT_SIM_CONFIG = { ignoreRepeatability: false, csrfTtlMs: 30 * 60_000, csrfTokenOn: 'any', csrfFetchStatus: 404 } as const;

// ---- sleeps and clocks -------------------------------------------------------------------------

/** An injectable `sleep` that records the requested delays and really waits (bounded). */
export function recordingSleep() {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms: number) => {
      delays.push(ms);
      await delay(Math.min(ms, 5_000));
    },
  };
}

/** A fake clock: `sleep` advances it instead of waiting, and records the delay. */
export function fakeClock(start = Date.now()) {
  const state = { t: start };
  const delays: number[] = [];
  return {
    delays,
    now: () => state.t,
    advance: (ms: number) => {
      state.t += ms;
    },
    sleep: async (ms: number) => {
      delays.push(ms);
      state.t += ms;
    },
  };
}

// ---- clients -----------------------------------------------------------------------------------

/** Creates clients for one test and closes them all afterwards. */
export class ClientPool {
  private readonly clients: EndpointClient[] = [];
  private readonly closers: Array<() => void> = [];

  create(options: EndpointClientOptions): EndpointClient {
    const client = new EndpointClient(options);
    this.clients.push(client);
    return client;
  }

  onClose(fn: () => void): void {
    this.closers.push(fn);
  }

  closeAll(): void {
    for (const c of this.clients.splice(0)) c.close();
    for (const fn of this.closers.splice(0)) fn();
  }
}

// ---- events ------------------------------------------------------------------------------------

export const EVENT_TIME = '2026-11-26T09:15:00Z';

/** A canonical event as a producer node would emit it; it must validate against its schema. */
export function canonical<T>(type: string, data: T, source = '/plants/P100/mes', extra: { time?: string; idempotencykey?: string } = {}): CanonicalEvent<T> {
  const event = createEvent({ type, source, siteid: 'P100', data, time: extra.time ?? EVENT_TIME, idempotencykey: extra.idempotencykey }) as CanonicalEvent<T>;
  const result = defaultRegistry().validate(event);
  assert.ok(result.valid, `test event ${type} does not validate: ${JSON.stringify(result.valid ? [] : result.errors)}`);
  return event;
}

/** Asserts that `data` read from a target validates as the canonical event `type`. */
export function assertValidAs(type: string, data: unknown, source: string): void {
  const event = createEvent({ type, source, siteid: 'P100', data });
  const result = defaultRegistry().validate(event);
  assert.ok(result.valid, `read data does not validate as ${type}: ${JSON.stringify(result.valid ? [] : result.errors)}`);
}

// ---- failures ----------------------------------------------------------------------------------

async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  return within(p.then(() => assert.fail('expected the call to fail'), (e: unknown) => e), SEND_TIMEOUT_MS, 'call');
}

export async function adapterFailure(p: Promise<unknown>): Promise<AdapterError> {
  const err = await rejectionOf(p);
  assert.ok(err instanceof AdapterError, `expected an AdapterError, got ${String(err)}`);
  return err;
}

export async function mappingFailure(p: Promise<unknown>): Promise<MappingError> {
  const err = await rejectionOf(p);
  assert.ok(err instanceof MappingError, `expected a MappingError, got ${String(err)}`);
  return err;
}

// ---- quantities in canonical read results -------------------------------------------------------

export interface StockLine {
  material: string;
  site: string;
  storageLocation: string;
  lot?: string;
  stockType: string;
  quantity: { value: number; uom: string };
}

/** The quantity of the stock line at a place (undefined when the target lists none there). */
export function stockAt(items: unknown, where: { storageLocation: string; stockType: string; lot?: string }): { value: number; uom: string } | undefined {
  assert.ok(Array.isArray(items), `stock read result is not a list: ${JSON.stringify(items)}`);
  const line = (items as StockLine[]).find((s) => s.storageLocation === where.storageLocation && s.stockType === where.stockType && s.lot === where.lot);
  return line?.quantity;
}

// ---- recording proxy ---------------------------------------------------------------------------

/** One exchange that passed the proxy. */
export interface Exchange {
  method: string;
  /** Path and query as received. */
  path: string;
  requestHeaders: http.IncomingHttpHeaders;
  status?: number;
  responseHeaders?: http.IncomingHttpHeaders;
  /** The upstream connection died before a response. */
  error?: string;
}

export interface RecordingProxy {
  url: string;
  exchanges: Exchange[];
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer']);

function withoutHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([k, v]) => v !== undefined && !HOP_BY_HOP.has(k)));
}

/**
 * A transparent HTTP proxy on 127.0.0.1 in front of a simulator that records every exchange with
 * its headers. When the upstream connection dies (a dropAfterCommit fault), the client's socket is
 * destroyed too, so the client sees what it would see without the proxy.
 */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const exchanges: Exchange[] = [];
  const agent = new http.Agent({ keepAlive: false });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const exchange: Exchange = { method: req.method ?? 'GET', path: req.url ?? '/', requestHeaders: { ...req.headers } };
      exchanges.push(exchange);
      const headers = withoutHopByHop(req.headers);
      headers.host = upstream.host;
      headers['content-length'] = String(body.length);
      const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent, timeout: CONTROL_TIMEOUT_MS * 2 }, (up) => {
        const parts: Buffer[] = [];
        up.on('data', (c: Buffer) => parts.push(c));
        up.on('end', () => {
          const payload = Buffer.concat(parts);
          exchange.status = up.statusCode;
          exchange.responseHeaders = { ...up.headers };
          const back = withoutHopByHop(up.headers);
          back['content-length'] = String(payload.length);
          res.writeHead(up.statusCode ?? 502, back);
          res.end(payload);
        });
        up.on('error', (err) => {
          exchange.error = err.message;
          res.socket?.destroy();
        });
      });
      out.on('timeout', () => out.destroy(new Error('upstream timeout')));
      out.on('error', (err) => {
        exchange.error = err.message;
        res.socket?.destroy();
      });
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      await within(new Promise<void>((resolve) => server.close(() => resolve())), CONTROL_TIMEOUT_MS, 'proxy close');
    },
  };
}

/** A compact view of the exchanges for assertions and failure messages: "POST /path 201". */
export function trace(exchanges: Exchange[], strip = /\?.*$/): string[] {
  return exchanges.map((e) => `${e.method} ${e.path.replace(strip, '')} ${e.status ?? e.error ?? '-'}`);
}

/**
 * Registers the hooks of an unknown-outcome test: one SAP simulator that ignores the
 * repeatability header (so only a lookup can tell that a dropped posting happened), reset before
 * each test, with a fresh SAP client per test whose breaker is off (dropped connections are the
 * point there, not a reason to pause).
 */
export function sapIgnoringRepeatability(): { readonly sim: SimControl; readonly client: EndpointClient } {
  let erp: RunningSimulator | undefined;
  let sim: SimControl | undefined;
  let client: EndpointClient | undefined;
  const pool = new ClientPool();
  before(async () => {
    erp = await startSapSimulator({ host: '127.0.0.1', ignoreRepeatability: true });
    sim = simControl(erp.url);
  });
  after(async () => {
    await erp?.close();
  });
  beforeEach(async () => {
    await sim!.reset();
    client = pool.create({
      baseUrl: erp!.url, role: 'ERP', repeatability: 'sap', csrf: true, timeoutMs: CLIENT_TIMEOUT_MS, retry: RETRY, sleep: recordingSleep().sleep, random: () => 0.5, breaker: false,
    });
  });
  afterEach(() => pool.closeAll());
  return {
    get sim() {
      return sim!;
    },
    get client() {
      return client!;
    },
  };
}
