/**
 * Mapped requests per second through `plantsync-request` (embedded Node-RED runtime, SAP profile:
 * operation confirmations with CSRF, repeatability headers and the full mapping) to the SAP
 * simulator in its own process, against plain `fetch` posting the same prepared bodies (same
 * CSRF token and headers) to the same simulator, in the same run, alternating rounds.
 *
 *   node dist/bench/request.bench.js [--count N] [--inflight C] [--rounds R] [--goal 0.6]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createEvent, type CanonicalEvent } from '../lib';
import { createProfile } from '../lib/mapping/engine';
import { PROFILES } from '../lib/mapping/registry';
import { benchArg } from './bench-args';

const COUNT = benchArg('count', 3000);
const INFLIGHT = benchArg('inflight', 32);
const ROUNDS = benchArg('rounds', 3);
const GOAL = benchArg('goal', 0.6);
const ROOT = path.resolve(__dirname, '..', '..');

function confirmations(round: string): CanonicalEvent[] {
  return Array.from({ length: COUNT }, (_, i) => createEvent({
    type: 'mfg.operation.completed.v2',
    source: '/plants/P100/mes',
    siteid: 'P100',
    idempotencykey: `bench:${round}:${i}`,
    data: {
      orderId: '1000124', operationId: '0010', workCenter: 'WC-PACK1', site: 'P100', actualStart: '2026-11-26T14:00:00Z',
      actualEnd: '2026-11-26T14:05:00Z', yield: { value: 1, uom: 'EA' }, scrap: { value: 0, uom: 'EA' }, confirmationType: 'Partial',
    },
  }));
}

async function startSimulator(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'sim', 'cli.js'), 'erp'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('simulator did not start')), 15000);
    child.stdout?.once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve((JSON.parse(d.toString().split('\n')[0]) as { url: string }).url);
    });
  });
  return { url, child };
}

/** Runs `work(i)` for i in 0..n-1 with at most `limit` at once; resolves with items per second. */
async function pace(n: number, limit: number, work: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < n) await work(next++);
  }));
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

async function plainFetch(url: string, events: CanonicalEvent[]): Promise<number> {
  const operation = createProfile(PROFILES['sap-s4hana']).writeFor('mfg.operation.completed.v2');
  if (!operation) throw new Error('no confirmation operation');
  const prepared = await Promise.all(events.map((e) => operation.toVendor(e)));
  const root = `${url}/sap/opu/odata/sap/API_PROD_ORDER_CONFIRMATION_2_SRV/`;
  const csrf = await fetch(root, { headers: { 'x-csrf-token': 'Fetch' } });
  const token = csrf.headers.get('x-csrf-token') as string;
  const cookie = csrf.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const firstSent = new Date().toUTCString();
  return pace(prepared.length, INFLIGHT, async (i) => {
    const req = prepared[i];
    const res = await fetch(`${url}${req.path}`, {
      method: req.method,
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': token, cookie, 'repeatability-request-id': req.repeatKey, 'repeatability-first-sent': firstSent },
      body: JSON.stringify(req.body),
    });
    await res.arrayBuffer();
    if (res.status !== 201) throw new Error(`plain fetch got ${res.status}`);
  });
}

interface EmbeddedRuntime {
  receive(msg: Record<string, unknown>): void;
  onOutput(cb: (msg: Record<string, unknown>) => void): void;
  stop(): Promise<void>;
}

async function embeddedNodeRed(url: string): Promise<EmbeddedRuntime> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-bench-nr-'));
  const at = { z: 't', x: 100, y: 100 };
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify([
    { id: 't', type: 'tab', label: 'bench' },
    { id: 'ep', type: 'plantsync-endpoint', role: 'ERP', profile: 'sap-s4hana', baseUrl: url, authType: 'none', timeoutMs: 10000, maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 500, failureThreshold: 50, openSeconds: 5 },
    { id: 'rq', type: 'plantsync-request', endpoint: 'ep', operation: 'auto', wires: [['sink']], ...at },
    { id: 'sink', type: 'junction', wires: [], ...at },
    { id: 'catch', type: 'catch', scope: ['rq'], uncaught: false, wires: [['sink']], ...at },
  ]));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const RED = require('node-red') as {
    init(server: http.Server, settings: Record<string, unknown>): void;
    start(): Promise<void>;
    stop(): Promise<void>;
    nodes: { getNode(id: string): { receive(m: unknown): void; on(e: string, cb: (m: Record<string, unknown>) => void): void } };
  };
  RED.init(http.createServer(), {
    userDir, flowFile: 'flows.json', nodesDir: [ROOT], httpAdminRoot: false, httpNodeRoot: false, disableEditor: true,
    credentialSecret: 'bench', logging: { console: { level: 'warn' } },
  });
  await RED.start();
  for (let i = 0; i < 100 && !RED.nodes.getNode('rq'); i++) await new Promise((r) => setTimeout(r, 100));
  return {
    receive: (msg) => RED.nodes.getNode('rq').receive(msg),
    onOutput: (cb) => RED.nodes.getNode('sink').on('input', cb),
    stop: async () => {
      await RED.stop();
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}

async function throughNode(runtime: EmbeddedRuntime, events: CanonicalEvent[], waiters: Map<string, (m: Record<string, unknown>) => void>): Promise<number> {
  return pace(events.length, INFLIGHT, (i) => new Promise<void>((resolve, reject) => {
    const id = `bench-${events[i].idempotencykey}`;
    waiters.set(id, (m) => {
      waiters.delete(id);
      if (m.error) reject(new Error(`request failed: ${JSON.stringify(m.error)}`));
      else resolve();
    });
    runtime.receive({ _msgid: id, payload: events[i] });
  }));
}

async function main(): Promise<void> {
  const sim = await startSimulator();
  const runtime = await embeddedNodeRed(sim.url);
  const waiters = new Map<string, (m: Record<string, unknown>) => void>();
  runtime.onOutput((m) => waiters.get(m._msgid as string)?.(m));
  try {
    await plainFetch(sim.url, confirmations('warm-plain').slice(0, 300));
    await throughNode(runtime, confirmations('warm-node').slice(0, 300), waiters);
    const plain: number[] = [];
    const node: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      plain.push(await plainFetch(sim.url, confirmations(`plain-${r}`)));
      node.push(await throughNode(runtime, confirmations(`node-${r}`), waiters));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const postings = ((await (await fetch(`${sim.url}/__sim/postings`)).json()) as unknown[]).length;
    const expected = 600 + 2 * ROUNDS * COUNT;
    if (postings !== expected) throw new Error(`simulator recorded ${postings} postings, expected ${expected}`);
    const result = {
      bench: 'request',
      operation: 'SAP confirmOperation (ProdnOrdConf2)',
      count: COUNT,
      inflight: INFLIGHT,
      plantsyncPerSec: Math.round(median(node)),
      plainFetchPerSec: Math.round(median(plain)),
      ratio: Number((median(node) / median(plain)).toFixed(3)),
      rounds: { node: node.map(Math.round), plain: plain.map(Math.round) },
      goal: GOAL,
      node: process.version,
    };
    console.log(JSON.stringify(result));
    if (result.ratio < GOAL) {
      console.error(`request bench: ratio ${result.ratio} is below the goal ${GOAL}`);
      process.exitCode = 1;
    }
  } finally {
    await runtime.stop();
    sim.child.kill('SIGTERM');
  }
}

main().catch((err: Error) => {
  console.error(err.stack);
  process.exitCode = 1;
});
