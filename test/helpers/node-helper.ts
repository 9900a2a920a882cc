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

/** Resolves with the first message a helper node receives, or rejects after `ms`. */
export function nextMessage(node: TestNode, ms = 5000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message at ${node.id} within ${ms} ms`)), ms);
    node.once('input', (msg: Record<string, unknown>) => {
      clearTimeout(timer);
      resolve(msg);
    });
  });
}

/** Collects every message a helper node receives. */
export function collect(node: TestNode): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  node.on('input', (msg: Record<string, unknown>) => out.push(msg));
  return out;
}

/** The last status a node set, waiting past the status throttle. */
export function lastStatus(node: TestNode): () => Record<string, unknown> | undefined {
  let last: Record<string, unknown> | undefined;
  node.on('call:status', (call: { args: unknown[] }) => {
    last = call.args[0] as Record<string, unknown>;
  });
  return () => last;
}

export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
