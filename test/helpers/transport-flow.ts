/**
 * Pieces shared by the node specs that run consume -> guard -> work -> settle flows, on RabbitMQ
 * or the local bus: a test "worker" node whose fate per delivery the test decides, the flow
 * around it, and running the shipped consume-and-post examples.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { HEADERS } from '../../lib/transport/message';
import { helper, nextMessage, type TestNode } from './node-helper';
import { REPO_ROOT } from './paths';

export type DeliveredMsg = Record<string, unknown> & {
  payload: { id: string };
  amqp: { attempt: number; headers: Record<string, unknown>; routingKey: string; exchange: string; deliveryTag: number; transport: string };
};
/** ok: done now; later: done after 400 ms (work still running); fail: retryable error; reject: permanent error; hold: never. */
export type Decision = 'ok' | 'later' | 'fail' | 'reject' | 'hold';

/** The "work" of the flow: records every delivery it sees and decides its fate per test. */
export const work = {
  /** Event ids whose side effect ran (decision ok). */
  effects: [] as string[],
  seen: [] as Array<{ id: string; attempt: number; headers: Record<string, unknown> }>,
  decide: ((): Decision => 'ok') as (msg: DeliveredMsg) => Decision,
  reset(): void {
    this.effects = [];
    this.seen = [];
    this.decide = () => 'ok';
  },
};

/** `test-worker`: ok / later -> output 1 (side effect recorded); fail / reject -> output 2 with a retryable / permanent error; hold -> nothing. */
export function workerNode(RED: NodeAPI): void {
  RED.nodes.registerType('test-worker', function (this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    this.on('input', (input, send, done) => {
      const msg = input as unknown as DeliveredMsg;
      work.seen.push({ id: msg.payload.id, attempt: msg.amqp.attempt, headers: msg.amqp.headers });
      const decision = work.decide(msg);
      if (decision === 'ok') {
        work.effects.push(msg.payload.id);
        send([input, null]);
      }
      if (decision === 'fail') send([null, { ...input, error: { code: 'ERP_UNAVAILABLE', message: 'ERP said 503', retryable: true } }]);
      if (decision === 'reject') send([null, { ...input, error: { code: 'ERP_REJECTED', message: 'ERP said 422', retryable: false } }]);
      if (decision === 'later') {
        setTimeout(() => {
          work.effects.push(msg.payload.id);
          send([input, null]);
          done();
        }, 400);
        return;
      }
      done();
    });
  });
}

export interface SettleFlowOptions {
  storeFile: string;
  leaseSeconds?: number;
  at: { z: string; x: number; y: number };
}

/**
 * guard -> worker -> settle complete (result = event id) / settle failure; duplicates -> settle
 * complete; a Catch on the guard and settle nodes -> settle failure. Ends in helper nodes
 * `after`, `afterdup`, `afterbad`. The consume node wires its first output to `guard`. This is
 * the wiring of flows saved before the guard settled duplicates itself (a settle node on the
 * duplicate output): the specs on it show that such flows keep working.
 */
export function settleFlow(o: SettleFlowOptions): Array<Record<string, unknown>> {
  const at = o.at;
  return [
    { id: 's', type: 'plantsync-store', kind: 'sqlite', file: o.storeFile, retentionDays: 7 },
    { id: 'guard', type: 'plantsync-idempotency', store: 's', keyType: 'auto', leaseSeconds: o.leaseSeconds ?? 60, wires: [['work'], ['dupok'], ['dupok']], ...at },
    { id: 'work', type: 'test-worker', wires: [['ok'], ['bad']], ...at },
    { id: 'ok', type: 'plantsync-idempotency-complete', action: 'complete', result: 'payload.id', resultType: 'msg', wires: [['after']], ...at },
    { id: 'dupok', type: 'plantsync-idempotency-complete', action: 'complete', wires: [['afterdup']], ...at },
    { id: 'bad', type: 'plantsync-idempotency-complete', action: 'failure', wires: [['afterbad']], ...at },
    // The guard's own errors (IN_FLIGHT after a redeploy) fail the delivery: it comes back later.
    { id: 'c', type: 'catch', scope: ['guard', 'ok', 'dupok'], uncaught: false, wires: [['bad']], ...at },
    ...['after', 'afterdup', 'afterbad'].map((id) => ({ id, type: 'helper', ...at })),
  ];
}

export const completedIds = (msgs: Record<string, unknown>[]): string[] => msgs.map((m) => (m.payload as { id: string }).id);

type FlowNode = { id: string; type: string; name?: string; payload?: string; wires?: string[][]; [k: string]: unknown };

/**
 * Loads a shipped consume-and-post example, or a flow saved from one (inject nodes dropped, debug nodes as helpers, the
 * store file and other nodes adapted by `adapt`), presses its "confirmation" inject twice and
 * checks what its description promises: the first posting fails, the retry (attempt 2) posts
 * once and acks, the second press is a duplicate settled without posting. Resolves with the
 * posted message.
 */
export async function runConsumeAndPostExample(
  file: string,
  nodes: unknown[],
  adapt: (n: FlowNode) => FlowNode,
  credentials: Record<string, unknown> = {},
  ready: (consumer: TestNode) => Promise<void> = async () => undefined,
): Promise<Record<string, unknown>> {
  // A file name is a shipped example; an absolute path another flow (a flow saved by an earlier version).
  const shipped = JSON.parse(fs.readFileSync(path.isAbsolute(file) ? file : path.join(REPO_ROOT, 'examples', file), 'utf8')) as FlowNode[];
  const runnable = shipped
    .filter((n) => n.type !== 'inject')
    .map((n) => (n.type === 'debug' ? { id: n.id, z: n.z, x: n.x, y: n.y, type: 'helper' } : n))
    .map(adapt);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const functionNode = require('@node-red/nodes/core/function/10-function.js');
  await helper.load([...nodes, functionNode], runnable, credentials);
  const node = (id: string) => helper.getNode(id) as TestNode;
  await ready(node(shipped.find((n) => n.type === 'plantsync-consume')!.id));
  const byName = (name: string) => node(shipped.find((n) => n.name === name)!.id);
  const inject = shipped.find((n) => n.type === 'inject' && n.name === 'confirmation')!;
  const press = () => node(inject.wires![0][0]).receive({ payload: JSON.parse(inject.payload as string) });

  const failed = nextMessage(byName('failed: retried'), 10000);
  const posted = nextMessage(byName('posted'), 10000);
  press();
  assert.equal(((await failed).plantsync as { delivery: { settled: string } }).delivery.settled, 'failed');
  const ok = await posted;
  assert.equal((ok.amqp as { attempt: number }).attempt, 2);
  assert.match((ok.payload as { documentNumber: string }).documentNumber, /^49\d+$/);

  const dup = nextMessage(byName('duplicate: first result'), 10000);
  press();
  assert.equal(((await dup).plantsync as { delivery: { settled: string } }).delivery.settled, 'acked');
  return ok;
}

/**
 * With one poison event parked after 3 attempts and its work now fixed: a replay command by
 * `selector` on consume node `consumer` brings it back once (attempt 1, replayed, with the parked
 * reason and attempts); a second replay of everything finds nothing.
 */
export async function assertReplayedOnce(consumer: TestNode, replayOut: TestNode, after: Record<string, unknown>[], selector: Record<string, unknown>): Promise<void> {
  const replayed = nextMessage(replayOut);
  consumer.receive({ topic: 'replay', payload: selector });
  assert.deepEqual((await replayed).payload, { examined: 1, replayed: 1, kept: 0 });
  const deadline = Date.now() + 10000;
  while (after.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(after.length, 1, 'the replayed event completed');
  const back = after[0] as DeliveredMsg;
  assert.equal(back.amqp.attempt, 1);
  assert.equal(back.amqp.headers[HEADERS.replayed], true);
  assert.equal(back.amqp.headers[HEADERS.parkedReason], 'ERP_UNAVAILABLE');
  assert.equal(back.amqp.headers[HEADERS.attempts], 3);

  const again = nextMessage(replayOut);
  consumer.receive({ topic: 'replay', payload: { all: true } });
  assert.deepEqual((await again).payload, { examined: 0, replayed: 0, kept: 0 });
  assert.equal(after.length, 1);
}

/** The environment variables that choose and tune the transport; a transport test starts without them. */
export const TRANSPORT_ENV = ['PLANTSYNC_AMQP_URL', 'PLANTSYNC_RETRY_TIERS', 'PLANTSYNC_BUS_FILE'] as const;

/**
 * Registers the hooks a transport node test needs: each test gets its own Node-RED user directory
 * (so its own local bus and stores), no transport variables from the caller's environment and
 * short retry tiers (`retryTiers: null` keeps the default tiers); afterwards the flow is unloaded, the environment restored and the folder removed.
 */
export function transportSandbox(prefix: string, options: { retryTiers?: string | null } = {}): { readonly dir: string } {
  let dir = '';
  const saved: Partial<Record<(typeof TRANSPORT_ENV)[number], string>> = {};
  beforeEach(() => {
    for (const k of TRANSPORT_ENV) {
      saved[k] = process.env[k];
      delete process.env[k];
    }
    const tiers = options.retryTiers === undefined ? '200ms,400ms' : options.retryTiers;
    if (tiers !== null) process.env.PLANTSYNC_RETRY_TIERS = tiers;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    helper.settings({ userDir: dir });
  });
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
    for (const k of TRANSPORT_ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
  };
}
