/**
 * Publish throughput against a private RabbitMQ node (quorum work queue), in one run:
 * PlantSync's Publisher (confirm per message, 500 publishes in flight) versus raw amqplib on a
 * confirm channel with batched confirms (waitForConfirms every 500), same messages and properties.
 *
 *   node dist/bench/amqp-publish.bench.js [--events N] [--rounds R] [--goal 0.7]
 *
 * Contenders alternate over R rounds; medians are compared. Prints one JSON line; exits 1 when
 * the ratio is below the goal.
 */
import * as amqp from 'amqplib';
import { BrokerConnection } from '../lib/transport/broker-connection';
import { publishOptions, type EventLike } from '../lib/transport/message';
import { Publisher } from '../lib/transport/publisher';
import { declareTopology, resolveTopology, routingKeyOf } from '../lib/transport/topology';
import { startRabbit } from '../test/helpers/rabbitmq';
import { benchArg } from './bench-args';

const EVENTS = benchArg('events', 20000);
const ROUNDS = benchArg('rounds', 3);
const GOAL = benchArg('goal', 0.7);
const WINDOW = 500;

const event = (i: number): EventLike => ({
  specversion: '1.0', id: `bench-${i}`, source: '/plants/P100/mes', type: 'mfg.operation.completed.v2', subject: `WO-${i % 97}`,
  time: new Date().toISOString(), correlationid: `WO-${i % 97}`, idempotencykey: `op-${i}`, siteid: 'P100', data: { yield: { value: i, uom: 'EA' } },
});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<number> {
  const rabbit = await startRabbit();
  try {
    const topology = resolveTopology({ group: 'bench-publish' });
    const admin = await amqp.connect(rabbit.url);
    const adminCh = await admin.createChannel();
    await declareTopology(adminCh, topology);
    const events = Array.from({ length: EVENTS }, (_, i) => event(i));

    const raw = async (): Promise<number> => {
      const model = await amqp.connect(rabbit.url);
      const ch = await model.createConfirmChannel();
      const start = process.hrtime.bigint();
      for (let i = 0; i < events.length; i++) {
        const e = events[i];
        ch.publish(topology.exchange, routingKeyOf(e), Buffer.from(JSON.stringify(e)), publishOptions(e));
        if ((i + 1) % WINDOW === 0) await ch.waitForConfirms();
      }
      await ch.waitForConfirms();
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      await model.close();
      return events.length / s;
    };
    const ours = async (): Promise<number> => {
      const broker = new BrokerConnection({ url: rabbit.url });
      const publisher = new Publisher(broker, { topology }).start();
      await broker.whenConnected(10000);
      const start = process.hrtime.bigint();
      for (let i = 0; i < events.length; i += WINDOW) await Promise.all(events.slice(i, i + WINDOW).map((e) => publisher.publish(e)));
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      await publisher.close();
      return events.length / s;
    };

    const rawRates: number[] = [];
    const ourRates: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      rawRates.push(await raw());
      await adminCh.purgeQueue(topology.workQueue as string);
      ourRates.push(await ours());
      await adminCh.purgeQueue(topology.workQueue as string);
    }
    await admin.close();
    const plantsync = median(ourRates);
    const rawMedian = median(rawRates);
    const ratio = plantsync / rawMedian;
    console.log(JSON.stringify({
      bench: 'amqp-publish', queueType: topology.workQueueType, events: EVENTS, rounds: ROUNDS, window: WINDOW,
      plantsyncPerSec: Math.round(plantsync), rawBatchedConfirmsPerSec: Math.round(rawMedian), ratio: Number(ratio.toFixed(3)), goal: GOAL, pass: ratio >= GOAL,
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
