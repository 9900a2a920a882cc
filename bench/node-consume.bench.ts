/**
 * Consume-and-ack throughput through the `plantsync-consume` node in the real, embedded Node-RED
 * runtime (consume -> settle node `plantsync-idempotency-complete`, action complete, which acks
 * the delivery) versus raw amqplib with manual acks, at the same prefetch, over the same number
 * of preloaded persistent events in a consumer group's quorum work queue, against one private
 * RabbitMQ node, in one run.
 *
 *   node dist/bench/node-consume.bench.js [--events N] [--rounds R] [--prefetch P] [--goal 0.7]
 *
 * Each round preloads N events into a fresh group's queue, then consumes them; the clock runs
 * from the first ack to the last (N - 1 intervals), for both contenders alike. Node side: the flow
 * is deployed onto the preloaded queue; an event counts when the settle node calls `done()`,
 * which it does after the ack (onComplete hook), and every message must come out `acked`. Raw
 * side: `ch.consume` + `JSON.parse` (the work the node's consumer does) + `ch.ack`. After each
 * round the queue must be empty once the consumer is gone (every ack reached the broker).
 * Contenders alternate over R rounds after a warm-up; medians are compared. Prints a readable
 * line and one JSON line; exits 1 when the ratio is below the goal, 2 on error.
 */
import * as amqp from 'amqplib';
import { publishOptions, type EventLike } from '../lib/transport/message';
import { declareTopology, queuesOf, resolveTopology, type Topology } from '../lib/transport/topology';
import { startRabbit } from '../test/helpers/rabbitmq';
import { benchArg, runBench } from './bench-args';
import { median, startNodeRed, waitUntil, within } from './embedded-node-red';

const EVENTS = benchArg('events', 20000);
const ROUNDS = benchArg('rounds', 5);
const PREFETCH = benchArg('prefetch', 50);
const GOAL = benchArg('goal', 0.7);
const WARMUP = Math.min(EVENTS, 2000);
const ROUND_TIMEOUT_MS = Math.max(60000, EVENTS * 2);
const BENCH_TIMEOUT_MS = 15 * 60000;

const event = (i: number): EventLike => ({
  specversion: '1.0', id: `bench-${i}`, source: '/plants/P100/mes', type: 'mfg.operation.completed.v2', subject: `WO-${i % 97}`,
  time: new Date().toISOString(), correlationid: `WO-${i % 97}`, idempotencykey: `op-${i}`, siteid: 'P100', data: { yield: { value: i, uom: 'EA' } },
});

/** Counts acks; the clock (and this process's CPU time) runs from the first to the n-th. */
class AckClock {
  private count = 0;
  private first = 0n;
  private last = 0n;
  private cpu0?: NodeJS.CpuUsage;
  private cpu?: NodeJS.CpuUsage;
  constructor(private readonly n: number, private readonly finished: () => void) {}
  tick(): void {
    const now = process.hrtime.bigint();
    if (this.count === 0) {
      this.first = now;
      this.cpu0 = process.cpuUsage();
    }
    if (++this.count === this.n) {
      this.last = now;
      this.cpu = process.cpuUsage(this.cpu0);
      this.finished();
    }
  }
  get acked(): number {
    return this.count;
  }
  rate(): number {
    return (this.n - 1) / (Number(this.last - this.first) / 1e9);
  }
  /** CPU microseconds (user + system) of this process per event. */
  cpuPerEvent(): number {
    return this.cpu ? (this.cpu.user + this.cpu.system) / (this.n - 1) : NaN;
  }
}

interface Round {
  rate: number;
  cpuUs: number;
}

async function main(): Promise<number> {
  const rabbit = await startRabbit();
  const nr = await startNodeRed().catch(async (err: unknown) => {
    await rabbit.stop();
    throw err;
  });
  try {
    const admin = await amqp.connect(rabbit.url);
    const ch = await admin.createConfirmChannel();
    const payloads = Array.from({ length: EVENTS }, (_, i) => {
      const e = event(i);
      return { content: Buffer.from(JSON.stringify(e)), options: publishOptions(e) };
    });
    let queueType = 'unknown';
    let groups = 0;

    const listQueues = async (...columns: string[]) =>
      (await rabbit.ctl(['list_queues', '--quiet', '--no-table-headers', 'name', ...columns])).split('\n').map((l) => l.trim().split(/\s+/));
    /** A fresh group's topology, declared as the consume node declares it, with n events in its work queue. */
    const preloaded = async (n: number): Promise<Topology> => {
      const topology = resolveTopology({ group: `bench-node-consume-${++groups}` });
      const queue = topology.workQueue as string;
      await declareTopology(ch, topology);
      for (let i = 0; i < n; i++) {
        ch.sendToQueue(queue, payloads[i].content, payloads[i].options);
        if ((i + 1) % 1000 === 0) await ch.waitForConfirms();
      }
      await ch.waitForConfirms();
      const { messageCount } = await ch.checkQueue(queue);
      if (messageCount !== n) throw new Error(`preload: ${queue} holds ${messageCount} messages, expected ${n}`);
      if (queueType === 'unknown') queueType = (await listQueues('type')).find((cols) => cols[0] === queue)?.[1] ?? 'unknown';
      return topology;
    };
    /**
     * Before the consumer goes: the broker holds no message of the queue, ready or unacked, i.e.
     * every ack reached it. (Waiting matters: RabbitMQ may still be applying the last settles of a
     * quorum queue, and a channel closed before that gets those messages redelivered.)
     */
    const allAcked = async (topology: Topology, who: string) => {
      const queue = topology.workQueue as string;
      let counts: string[] = [];
      await waitUntil(async () => {
        counts = (await listQueues('messages_ready', 'messages_unacknowledged')).find((cols) => cols[0] === queue) ?? [];
        return counts[1] === '0' && counts[2] === '0';
      }, 15000, 'the acks').catch(() => {
        throw new Error(`${who}: not every ack reached the broker within 15 s (${queue}: ready ${counts[1]}, unacked ${counts[2]})`);
      });
    };
    /** After the consumer is gone: still nothing left, then the group's queues are deleted. */
    const drained = async (topology: Topology, who: string) => {
      const queue = topology.workQueue as string;
      await waitUntil(async () => (await ch.checkQueue(queue)).consumerCount === 0, 15000, `${who}: the consumer to leave ${queue}`);
      const { messageCount } = await ch.checkQueue(queue);
      if (messageCount !== 0) throw new Error(`${who}: ${messageCount} messages back in ${queue} after its consumer left`);
      for (const q of queuesOf(topology)) await ch.deleteQueue(q);
    };

    const raw = async (n: number, who: string): Promise<Round> => {
      const topology = await preloaded(n);
      const model = await amqp.connect(rabbit.url);
      let clock!: AckClock;
      const c = await model.createChannel();
      try {
        await c.prefetch(PREFETCH);
        await within(new Promise<void>((resolve) => {
          clock = new AckClock(n, resolve);
          void c.consume(topology.workQueue as string, (msg) => {
            if (!msg) return;
            JSON.parse(msg.content.toString('utf8')); // the same work the node's consumer does per message
            c.ack(msg);
            clock.tick();
          });
        }), ROUND_TIMEOUT_MS, () => `${who}: ${n} acks (${clock.acked} so far)`);
        await allAcked(topology, who);
      } finally {
        await c.close().catch(() => undefined);
        await model.close();
      }
      await drained(topology, who);
      return { rate: clock.rate(), cpuUs: clock.cpuPerEvent() };
    };

    const port = new URL(rabbit.url).port;
    const throughNode = async (n: number, who: string): Promise<Round> => {
      const topology = await preloaded(n);
      let clock!: AckClock;
      const finished = new Promise<void>((resolve) => (clock = new AckClock(n, resolve)));
      let fail!: (err: Error) => void;
      const failed = new Promise<never>((_, reject) => (fail = reject));
      failed.catch(() => undefined); // a failure after the round is over is of no interest
      nr.onComplete('settle', (error, msg) => {
        const settled = (msg.plantsync as { delivery?: { settled?: string } } | undefined)?.delivery?.settled;
        if (error || settled !== 'acked') fail(new Error(`settle node: ${error instanceof Error ? error.message : `delivery ${String(settled)}`}`));
        else clock.tick();
      });
      try {
        await nr.deploy([
          { id: 't', type: 'tab', label: 'bench' },
          { id: 'b', type: 'plantsync-broker', name: 'bench', url: `amqp://127.0.0.1:${port}`, user: 'guest', credentials: { password: 'guest' } },
          { id: 'con', type: 'plantsync-consume', z: 't', broker: 'b', group: topology.group, prefetch: PREFETCH, wires: [['settle'], []], x: 100, y: 100 },
          { id: 'settle', type: 'plantsync-idempotency-complete', z: 't', action: 'complete', wires: [[]], x: 300, y: 100 },
        ]);
        await within(Promise.race([finished, failed]), ROUND_TIMEOUT_MS, () => `${who}: ${n} settles (${clock.acked} so far)`);
        await allAcked(topology, who);
      } finally {
        nr.onComplete('settle');
        await nr.deploy([{ id: 't', type: 'tab', label: 'bench' }]); // closes the consumer
      }
      await drained(topology, who);
      return { rate: clock.rate(), cpuUs: clock.cpuPerEvent() };
    };

    await raw(WARMUP, 'raw warm-up');
    await throughNode(WARMUP, 'node warm-up');
    const rawRounds: Round[] = [];
    const nodeRounds: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      rawRounds.push(await raw(EVENTS, `raw round ${r + 1}`));
      nodeRounds.push(await throughNode(EVENTS, `node round ${r + 1}`));
    }
    const rawRates = rawRounds.map((x) => x.rate);
    const nodeRates = nodeRounds.map((x) => x.rate);
    await admin.close();

    const nodeMedian = median(nodeRates);
    const rawMedian = median(rawRates);
    const ratio = nodeMedian / rawMedian;
    const result = {
      bench: 'node-consume', queueType, events: EVENTS, rounds: ROUNDS, prefetch: PREFETCH, persistent: true,
      nodePerSec: Math.round(nodeMedian), rawManualAckPerSec: Math.round(rawMedian), ratio: Number(ratio.toFixed(3)), goal: GOAL, pass: ratio >= GOAL,
      perRound: { node: nodeRates.map(Math.round), raw: rawRates.map(Math.round) },
      // Diagnostic, steadier than rates on a shared machine: this process's CPU per event.
      cpuUsPerEvent: { node: Number(median(nodeRounds.map((x) => x.cpuUs)).toFixed(1)), raw: Number(median(rawRounds.map((x) => x.cpuUs)).toFixed(1)) },
      node: process.version, nodeRed: nr.version,
    };
    console.log(
      `node-consume: plantsync-consume -> settle ${result.nodePerSec} ev/s vs raw amqplib (manual ack) ${result.rawManualAckPerSec} ev/s = ${result.ratio} ` +
        `(goal ${GOAL}, ${queueType} queue, ${EVENTS} events x ${ROUNDS} rounds, prefetch ${PREFETCH}, Node ${process.version}, Node-RED ${nr.version})`,
    );
    console.log(JSON.stringify(result));
    return ratio >= GOAL ? 0 : 1;
  } finally {
    await nr.stop().catch((err: Error) => console.error(`stopping Node-RED: ${err.message}`));
    await rabbit.stop();
  }
}

runBench('node-consume', main, BENCH_TIMEOUT_MS);
