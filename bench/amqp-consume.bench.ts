/**
 * Consume-and-ack throughput against a private RabbitMQ node (quorum work queue), in one run:
 * PlantSync's Consumer (handler resolves at once -> ack) versus raw amqplib with manual acks, both
 * with prefetch 50, over the same preloaded messages.
 *
 *   node dist/bench/amqp-consume.bench.js [--events N] [--rounds R] [--prefetch P] [--goal 0.7]
 *
 * Prints one JSON line; exits 1 when the ratio of medians is below the goal.
 */
import * as amqp from 'amqplib';
import { BrokerConnection } from '../lib/transport/broker-connection';
import { Consumer } from '../lib/transport/consumer';
import { publishOptions, type EventLike } from '../lib/transport/message';
import { declareTopology, resolveTopology } from '../lib/transport/topology';
import { startRabbit } from '../test/helpers/rabbitmq';
import { benchArg } from './bench-args';

const EVENTS = benchArg('events', 20000);
const ROUNDS = benchArg('rounds', 3);
const PREFETCH = benchArg('prefetch', 50);
const GOAL = benchArg('goal', 0.7);

const event = (i: number): EventLike => ({
  specversion: '1.0', id: `bench-${i}`, source: '/plants/P100/mes', type: 'mfg.operation.completed.v2', subject: `WO-${i % 97}`,
  time: new Date().toISOString(), correlationid: `WO-${i % 97}`, idempotencykey: `op-${i}`, siteid: 'P100', data: { yield: { value: i, uom: 'EA' } },
});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<number> {
  const rabbit = await startRabbit();
  try {
    const topology = resolveTopology({ group: 'bench-consume' });
    const queue = topology.workQueue as string;
    const admin = await amqp.connect(rabbit.url);
    const ch = await admin.createConfirmChannel();
    await declareTopology(ch, topology);
    const preload = async () => {
      for (let i = 0; i < EVENTS; i++) {
        const e = event(i);
        ch.sendToQueue(queue, Buffer.from(JSON.stringify(e)), publishOptions(e));
        if ((i + 1) % 1000 === 0) await ch.waitForConfirms();
      }
      await ch.waitForConfirms();
    };

    const raw = async (): Promise<number> => {
      const model = await amqp.connect(rabbit.url);
      const c = await model.createChannel();
      await c.prefetch(PREFETCH);
      let n = 0;
      let start = 0n; // both contenders are timed from their first delivery
      await new Promise<void>((resolve) => {
        void c.consume(queue, (msg) => {
          if (!msg) return;
          if (start === 0n) start = process.hrtime.bigint();
          JSON.parse(msg.content.toString('utf8')); // the same work our consumer does per message
          c.ack(msg);
          if (++n === EVENTS) resolve();
        });
      });
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      await model.close();
      return EVENTS / s;
    };
    const ours = async (): Promise<number> => {
      const broker = new BrokerConnection({ url: rabbit.url });
      let n = 0;
      let done!: () => void;
      const finished = new Promise<void>((resolve) => (done = resolve));
      let start = 0n;
      const consumer = new Consumer(broker, {
        topology,
        prefetch: PREFETCH,
        handler: async () => {
          if (start === 0n) start = process.hrtime.bigint();
          if (++n === EVENTS) setImmediate(done);
        },
      }).start();
      await finished;
      while (consumer.stats().acked < EVENTS) await new Promise((r) => setImmediate(r));
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      await consumer.close(5000);
      return EVENTS / s;
    };

    const rawRates: number[] = [];
    const ourRates: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      await preload();
      rawRates.push(await raw());
      await preload();
      ourRates.push(await ours());
    }
    await admin.close();
    const plantsync = median(ourRates);
    const rawMedian = median(rawRates);
    const ratio = plantsync / rawMedian;
    console.log(JSON.stringify({
      bench: 'amqp-consume', queueType: topology.workQueueType, events: EVENTS, rounds: ROUNDS, prefetch: PREFETCH,
      plantsyncPerSec: Math.round(plantsync), rawManualAckPerSec: Math.round(rawMedian), ratio: Number(ratio.toFixed(3)), goal: GOAL, pass: ratio >= GOAL,
    }));
    return ratio >= GOAL ? 0 : 1;
  } finally {
    await rabbit.stop();
  }
}

main().then((code) => process.exit(code), (err) => {
  console.error(err);
  process.exit(2);
});
