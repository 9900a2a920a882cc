import type { EventEmitter } from 'node:events';

/** The parts of node-red-node-test-helper the tests use (the package ships no types). */
export interface TestNode extends EventEmitter {
  id: string;
  receive(msg: Record<string, unknown>): void;
}

export interface TestHelper {
  init(runtimePath: string, userSettings?: Record<string, unknown>): void;
  load(nodes: unknown | unknown[], flow: unknown[], credentials?: Record<string, unknown>): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): TestNode;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
  request(): { get(path: string): PromiseLike<{ status: number; body: unknown }> };
  log(): { args: unknown[][]; getCalls(): { args: unknown[] }[] };
  settings(userSettings: Record<string, unknown>): void;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const helper = require('node-red-node-test-helper') as TestHelper;
helper.init(require.resolve('node-red'));

type Waiter = (msg: Record<string, unknown>) => void;
const waiters = new WeakMap<TestNode, Set<Waiter>>();

/**
 * One permanent input listener per node feeding the current waiters. Node-RED keeps its input
 * handlers in an array it iterates while delivering, so adding and removing listeners per
 * message (`once`) breaks delivery to the other handlers.
 */
function waitersOf(node: TestNode): Set<Waiter> {
  let set = waiters.get(node);
  if (!set) {
    const fresh = new Set<Waiter>();
    node.on('input', (msg: Record<string, unknown>) => {
      for (const w of [...fresh]) w(msg);
    });
    waiters.set(node, fresh);
    set = fresh;
  }
  return set;
}

/** Resolves with the next message one of `nodes` receives (and which node), or rejects after `ms`. */
export function nextFrom(nodes: TestNode[], ms = 5000): Promise<{ node: TestNode; msg: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const registered: Array<[Set<Waiter>, Waiter]> = [];
    const cleanup = () => registered.forEach(([set, w]) => set.delete(w));
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no message at ${nodes.map((n) => n.id).join(' / ')} within ${ms} ms`));
    }, ms);
    for (const node of nodes) {
      const w: Waiter = (msg) => {
        clearTimeout(timer);
        cleanup();
        resolve({ node, msg });
      };
      waitersOf(node).add(w);
      registered.push([waitersOf(node), w]);
    }
  });
}

/** Resolves with the next message a helper node receives, or rejects after `ms`. */
export function nextMessage(node: TestNode, ms = 5000): Promise<Record<string, unknown>> {
  return nextFrom([node], ms).then((r) => r.msg);
}

/** Collects every message a helper node receives. */
export function collect(node: TestNode): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  node.on('input', (msg: Record<string, unknown>) => out.push(msg));
  return out;
}

/** The last status a node set, waiting past the status throttle. */
export function lastStatus(node: TestNode): () => Record<string, unknown> | undefined {
  // The helper reports each call on the next tick: a status set while the flow loaded may be
  // reported before this listener exists, so start from the spy's record of the node's calls.
  let last = statusesSoFar(node).pop();
  node.on('call:status', (call: { args: unknown[] }) => {
    last = call.args[0] as Record<string, unknown>;
  });
  return () => last;
}

/** Every status the node has set since the flow was loaded, oldest first (the helper's spy record). */
function statusesSoFar(node: TestNode): Record<string, unknown>[] {
  const spy = (helper as unknown as { _NodePrototype: { status: { getCalls?(): Array<{ thisValue: unknown; args: unknown[] }> } } })._NodePrototype.status;
  return (spy.getCalls?.() ?? []).filter((c) => c.thisValue === node).map((c) => c.args[0] as Record<string, unknown>);
}

export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Messages a node has finished: done() (`ok`) and done(err) (`failed`, the ones a Catch node gets). */
export interface Finished {
  ok: number;
  failed: number;
}

type CompleteEvent = { node: { id: string }; error?: unknown };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const hooks = require('@node-red/util').hooks as { add(id: string, cb: (e: CompleteEvent) => void): void };
let counting: Map<string, Finished> | undefined;

/**
 * Counts, from now on, the messages each node finishes, through Node-RED's own onComplete hook:
 * the positive sign that a node is done with what it was given (instead of a quiet window). The
 * latest call's counter is the one that counts.
 */
export function finished(): (nodeId: string) => Finished {
  if (!counting) {
    hooks.add('onComplete.plantsync-test', (e) => {
      const counts = counting as Map<string, Finished>;
      const c = counts.get(e.node.id) ?? { ok: 0, failed: 0 };
      if (e.error) c.failed++;
      else c.ok++;
      counts.set(e.node.id, c);
    });
  }
  const counts = new Map<string, Finished>();
  counting = counts;
  return (nodeId) => ({ ...(counts.get(nodeId) ?? { ok: 0, failed: 0 }) });
}

/**
 * Mocha hooks for node tests that need PLANT_ID set: starts the helper's server with the variable
 * set and restores it afterwards; each test's flow is unloaded after it.
 */
export function withPlantServer(plantId = 'P100'): void {
  const saved = process.env.PLANT_ID;
  before(() => {
    process.env.PLANT_ID = plantId;
    return helper.startServer();
  });
  after(() => {
    if (saved === undefined) delete process.env.PLANT_ID;
    else process.env.PLANT_ID = saved;
    return helper.stopServer();
  });
  afterEach(() => helper.unload());
}
