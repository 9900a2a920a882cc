/**
 * Events per second through the `plantsync-publish` node in the real, embedded Node-RED runtime
 * versus raw amqplib on a confirm channel with batched confirms, against one private RabbitMQ node
 * (the group's quorum work queue bound to the exchange), in one run.
 *
 *   node dist/bench/node-publish.bench.js [--events N] [--rounds R] [--window W] [--sliding 0|1] [--outbox 1|0] [--goal 0.7]
 *
 * Node side: a deployed flow `plantsync-broker` + `plantsync-publish` (outbox on, the node's
 * default, unless --outbox 0); events go in with `node.receive(msg)` and one counts as done when
 * the node calls `done()` (it does so only after the broker's confirm), seen through the
 * runtime's onComplete hook. Raw side: `ch.publish` of the same events with the same properties
 * (`publishOptions`: persistent, mandatory, ids and headers), `waitForConfirms` every W.
 * Both are paced alike by default: W events go in, the next W only once all W are confirmed
 * (as the core bench does). `--sliding 1` feeds the node a sliding window of W instead (a new
 * event as soon as one is done), which is how a busy flow drives it; raw stays batched.
 *
 * Honesty checks: after every round the queue holds exactly N new messages, and the node's outbox
 * must not have stored a single event (a publish answered from the outbox would be "done" before
 * any broker confirm). Contenders alternate over R rounds after a warm-up; medians are compared.
 * Prints a readable line and one JSON line; exits 1 when the ratio is below the goal, 2 on error.
 */
import * as amqp from 'amqplib';
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { publishOptions, type EventLike } from '../lib/transport/message';
import { declareTopology, queuesOf, resolveTopology, routingKeyOf } from '../lib/transport/topology';
import { startRabbit } from '../test/helpers/rabbitmq';
import { benchArg, runBench } from './bench-args';
import { median, startNodeRed, waitUntil, within, type RunningNode } from './embedded-node-red';

const EVENTS = benchArg('events', 20000);
const ROUNDS = benchArg('rounds', 5);
const WINDOW = benchArg('window', 500);
const OUTBOX = benchArg('outbox', 1) !== 0;
const SLIDING = benchArg('sliding', 0) !== 0;
const GOAL = benchArg('goal', 0.7);
const WARMUP = Math.min(EVENTS, 2000);
/** Every round must finish well within this (a hung broker or node aborts the bench). */
const ROUND_TIMEOUT_MS = Math.max(60000, EVENTS * 2);
const BENCH_TIMEOUT_MS = 15 * 60000;

const event = (i: number): EventLike => ({
  specversion: '1.0', id: `bench-${i}`, source: '/plants/P100/mes', type: 'mfg.operation.completed.v2', subject: `WO-${i % 97}`,
  time: new Date().toISOString(), correlationid: `WO-${i % 97}`, idempotencykey: `op-${i}`, siteid: 'P100', data: { yield: { value: i, uom: 'EA' } },
});

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

interface Round {
  rate: number;
  /** This process's CPU microseconds (user + system) per event. */
  cpuUs: number;
}

/** Times `n` events of `work` (which resolves when all are confirmed). */
async function timed(n: number, work: () => Promise<void>): Promise<Round> {
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  await work();
  const s = seconds(start);
  const cpu = process.cpuUsage(cpu0);
  return { rate: n / s, cpuUs: (cpu.user + cpu.system) / n };
}

/** Events ever stored in the publish node's outbox file (AUTOINCREMENT sequence; 0 when none). */
function outboxStoredEver(file: string): number {
  if (!fs.existsSync(file)) return 0;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").get() as { seq: number } | undefined;
    return row?.seq ?? 0;
  } catch {
    return 0; // no sqlite_sequence yet: nothing was ever inserted
  } finally {
    db.close();
  }
}

async function main(): Promise<number> {
  const rabbit = await startRabbit();
  const nr = await startNodeRed().catch(async (err: unknown) => {
    await rabbit.stop();
    throw err;
  });
  try {
    const topology = resolveTopology({ group: 'bench-node-publish' });
    const queue = topology.workQueue as string;
    const admin = await amqp.connect(rabbit.url);
    const adminCh = await admin.createChannel();
    await declareTopology(adminCh, topology);
    const queueType = (await rabbit.ctl(['list_queues', '--quiet', '--no-table-headers', 'name', 'type']))
      .split('\n').map((l) => l.trim().split(/\s+/)).find((cols) => cols[0] === queue)?.[1] ?? 'unknown';
    const events = Array.from({ length: EVENTS }, (_, i) => event(i));

    const port = new URL(rabbit.url).port;
    await nr.deploy([
      { id: 't', type: 'tab', label: 'bench' },
      { id: 'b', type: 'plantsync-broker', name: 'bench', url: `amqp://127.0.0.1:${port}`, user: 'guest', credentials: { password: 'guest' } },
      { id: 'pub', type: 'plantsync-publish', z: 't', broker: 'b', outbox: OUTBOX, timeout: 30, wires: [[]], x: 100, y: 100 },
    ]);
    const outboxFile = path.join(nr.userDir, 'plantsync', 'outbox-pub.db');
    const pub = nr.node<RunningNode>('pub');
    if (!pub) throw new Error('the plantsync-publish node was not deployed (is dist/ built?)');
    let lastStatus = '';
    nr.onStatus('pub', (s) => (lastStatus = `${s.fill ?? ''} ${s.text ?? ''}`.trim()));
    await waitUntil(() => lastStatus.startsWith('green'), 30000, `the publish node to connect (status "${lastStatus}")`);

    const queued = async () => (await adminCh.checkQueue(queue)).messageCount;
    let expected = 0;
    const settleCount = async (n: number, who: string) => {
      expected += n;
      await waitUntil(async () => (await queued()) >= expected, 10000, `${expected} messages in ${queue} after ${who}`);
      const got = await queued();
      if (got !== expected) throw new Error(`${who}: ${queue} holds ${got} messages, expected ${expected}`);
      await adminCh.purgeQueue(queue);
      expected = 0;
    };

    const raw = async (n: number): Promise<Round> => {
      const model = await amqp.connect(rabbit.url);
      try {
        const ch = await model.createConfirmChannel();
        return await timed(n, async () => {
          for (let i = 0; i < n; i++) {
            const e = events[i];
            ch.publish(topology.exchange, routingKeyOf(e), Buffer.from(JSON.stringify(e)), publishOptions(e));
            if ((i + 1) % WINDOW === 0) await ch.waitForConfirms();
          }
          await ch.waitForConfirms();
        });
      } finally {
        await model.close();
      }
    };

    const throughNode = (n: number): Promise<Round> =>
      timed(n, () => new Promise<void>((resolve, reject) => {
        let sent = 0;
        let completed = 0;
        let failed = false;
        const feed = () => {
          // Batched: only once everything sent is done; sliding: whenever fewer than W are in flight.
          if (!SLIDING && completed < sent) return;
          while (!failed && sent < n && sent - completed < WINDOW) pub.receive({ payload: events[sent++] });
        };
        nr.onComplete('pub', (error) => {
          if (failed) return;
          if (error) {
            failed = true;
            reject(new Error(`plantsync-publish failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`));
            return;
          }
          completed++;
          if (completed === n) resolve();
          else feed();
        });
        feed();
      })).finally(() => nr.onComplete('pub'));

    // Warm-up (JIT, channels), then the outbox baseline: a measured round must not add to it.
    await within(raw(WARMUP), ROUND_TIMEOUT_MS, 'raw warm-up');
    await settleCount(WARMUP, 'raw warm-up');
    await within(throughNode(WARMUP), ROUND_TIMEOUT_MS, 'node warm-up');
    await settleCount(WARMUP, 'node warm-up');
    const outboxBefore = outboxStoredEver(outboxFile);

    const rawRounds: Round[] = [];
    const nodeRounds: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      rawRounds.push(await within(raw(EVENTS), ROUND_TIMEOUT_MS, `raw round ${r + 1}`));
      await settleCount(EVENTS, `raw round ${r + 1}`);
      nodeRounds.push(await within(throughNode(EVENTS), ROUND_TIMEOUT_MS, `node round ${r + 1}`));
      await settleCount(EVENTS, `node round ${r + 1}`);
      const stored = outboxStoredEver(outboxFile) - outboxBefore;
      if (stored > 0) throw new Error(`node round ${r + 1}: ${stored} events went to the outbox instead of straight to the broker; the round is not comparable`);
    }
    for (const q of queuesOf(topology)) await adminCh.deleteQueue(q);
    await admin.close();
    const rawRates = rawRounds.map((x) => x.rate);
    const nodeRates = nodeRounds.map((x) => x.rate);

    const nodeMedian = median(nodeRates);
    const rawMedian = median(rawRates);
    const ratio = nodeMedian / rawMedian;
    const result = {
      bench: 'node-publish', queueType, events: EVENTS, rounds: ROUNDS, window: WINDOW, nodeFeed: SLIDING ? 'sliding' : 'batched', outbox: OUTBOX, persistent: true,
      nodePerSec: Math.round(nodeMedian), rawBatchedConfirmsPerSec: Math.round(rawMedian), ratio: Number(ratio.toFixed(3)), goal: GOAL, pass: ratio >= GOAL,
      perRound: { node: nodeRates.map(Math.round), raw: rawRates.map(Math.round) },
      // Diagnostic, steadier than rates on a shared machine: this process's CPU per event.
      cpuUsPerEvent: { node: Number(median(nodeRounds.map((x) => x.cpuUs)).toFixed(1)), raw: Number(median(rawRounds.map((x) => x.cpuUs)).toFixed(1)) },
      node: process.version, nodeRed: nr.version,
    };
    console.log(
      `node-publish: plantsync-publish ${result.nodePerSec} ev/s vs raw amqplib (batched confirms) ${result.rawBatchedConfirmsPerSec} ev/s = ${result.ratio} ` +
        `(goal ${GOAL}, ${queueType} queue, ${EVENTS} events x ${ROUNDS} rounds, ${SLIDING ? 'sliding' : 'batched'} window ${WINDOW}, ` +
        `outbox ${OUTBOX ? 'on' : 'off'}, Node ${process.version}, Node-RED ${nr.version})`,
    );
    console.log(JSON.stringify(result));
    return ratio >= GOAL ? 0 : 1;
  } finally {
    await nr.stop().catch((err: Error) => console.error(`stopping Node-RED: ${err.message}`));
    await rabbit.stop();
  }
}

runBench('node-publish', main, BENCH_TIMEOUT_MS);
