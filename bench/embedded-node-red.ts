/**
 * The real Node-RED runtime embedded in a benchmark process (not node-red-node-test-helper):
 * `require('node-red')`, `RED.init` with a temp user directory, no editor, no HTTP, this
 * repository loaded as the Node-RED module it is (package.json "node-red" section, like
 * settings.js), flows deployed through the runtime API (`RED.runtime.flows.setFlows`), and the
 * `onComplete` message hook to learn when a node called `done()`.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

interface CompleteEvent {
  msg: Record<string, unknown>;
  error?: unknown;
  node: { id: string };
}

interface NodeRedApp {
  init(server: http.Server, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  nodes: { getNode(id: string): unknown };
  hooks: { add(name: string, fn: (event: CompleteEvent) => void): void; remove(name: string): void };
  events: {
    on(name: string, fn: (e: { id: string; status?: { fill?: string; text?: string } }) => void): void;
    once(name: string, fn: () => void): void;
    removeListener(name: string, fn: () => void): void;
  };
  runtime: { flows: { setFlows(opts: { flows: { flows: unknown[] }; deploymentType?: string }): Promise<unknown> } };
}

/** A node in the running flows, as far as a bench touches it. */
export interface RunningNode {
  receive(msg: Record<string, unknown>): void;
}

export interface EmbeddedNodeRed {
  userDir: string;
  /** Node-RED's own version, from its package. */
  version: string;
  /** Full deploy of `flows`; resolves once the runtime has started them. */
  deploy(flows: object[]): Promise<void>;
  node<T = RunningNode>(id: string): T | null;
  /** Calls `fn` every time node `id` calls done(); one listener per node id, undefined removes it. */
  onComplete(id: string, fn?: (error: unknown, msg: Record<string, unknown>) => void): void;
  /** Calls `fn` with every status node `id` shows. */
  onStatus(id: string, fn?: (status: { fill?: string; text?: string }) => void): void;
  stop(): Promise<void>;
}

export async function startNodeRed(timeoutMs = 60000): Promise<EmbeddedNodeRed> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-bench-nr-'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const RED = require('node-red') as NodeRedApp;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const version = (require('node-red/package.json') as { version: string }).version;
  // The server is never listened on: with httpAdminRoot and httpNodeRoot false nothing is served.
  RED.init(http.createServer(), {
    userDir,
    flowFile: 'flows.json',
    nodesDir: [ROOT],
    httpAdminRoot: false,
    httpNodeRoot: false,
    disableEditor: true,
    credentialSecret: 'plantsync-bench',
    logging: { console: { level: 'warn', metrics: false, audit: false } },
    editorTheme: { projects: { enabled: false } },
    functionExternalModules: false,
    // Only PlantSync (and the core nodes): other Node-RED modules in node_modules stay unloaded.
    externalModules: { palette: { allowList: ['node-red-contrib-plantsync'] } },
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    RED.start(),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`Node-RED did not start within ${timeoutMs} ms`)), timeoutMs))),
  ]).finally(() => clearTimeout(timer));

  const completions = new Map<string, (error: unknown, msg: Record<string, unknown>) => void>();
  RED.hooks.add('onComplete.plantsyncBench', (e) => completions.get(e.node.id)?.(e.error, e.msg));
  const statuses = new Map<string, (s: { fill?: string; text?: string }) => void>();
  RED.events.on('node-status', (e) => statuses.get(e.id)?.(e.status ?? {}));

  let stopped = false;
  return {
    userDir,
    version,
    deploy: async (flows) => {
      // setFlows resolves once the flows are saved; the nodes exist after 'flows:started'.
      let started!: () => void;
      const whenStarted = new Promise<void>((resolve) => (started = resolve));
      RED.events.once('flows:started', started);
      try {
        await RED.runtime.flows.setFlows({ flows: { flows }, deploymentType: 'full' });
        await within(whenStarted, timeoutMs, 'the deployed flows to start');
      } finally {
        RED.events.removeListener('flows:started', started);
      }
      const ids = (flows as Array<{ id: string; type: string }>).filter((n) => n.type !== 'tab').map((n) => n.id);
      const missing = ids.filter((id) => !RED.nodes.getNode(id));
      if (missing.length > 0) throw new Error(`deployed nodes not running: ${missing.join(', ')} (is dist/ built?)`);
    },
    node: <T>(id: string) => (RED.nodes.getNode(id) as T | null) ?? null,
    onComplete: (id, fn) => (fn ? completions.set(id, fn) : completions.delete(id)),
    onStatus: (id, fn) => (fn ? statuses.set(id, fn) : statuses.delete(id)),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      RED.hooks.remove('onComplete.plantsyncBench');
      await RED.stop();
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}

/** Resolves when `check()` is true; rejects with `what` after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Rejects with `what` (a text, or a function giving it at that moment) if `work` takes longer than `timeoutMs`. */
export async function within<T>(work: Promise<T>, timeoutMs: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const text = () => (typeof what === 'function' ? what() : what);
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${text()}`)), timeoutMs))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
