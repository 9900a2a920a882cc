/** Shared bits of the transport specs: events, an admin channel; the bounded waits of test/helpers/wait. */
import * as amqp from 'amqplib';
import { BrokerConnection } from '../../lib/transport/broker-connection';
import { queuesOf, type Topology } from '../../lib/transport/topology';

export const TYPE = 'mfg.operation.completed.v2';

export function makeEvent(i: number, over: Record<string, unknown> = {}): Record<string, unknown> & { id: string; type: string } {
  return {
    specversion: '1.0',
    id: `evt-${i}-${Math.random().toString(36).slice(2, 8)}`,
    source: '/plants/P100/mes',
    type: TYPE,
    subject: `WO-${i % 10}`,
    time: new Date(Date.UTC(2025, 0, 1, 8, 0, i % 60)).toISOString(),
    correlationid: `WO-${i % 10}`,
    idempotencykey: `op-${i}`,
    siteid: 'P100',
    sequence: i,
    data: { order: `WO-${i % 10}`, yield: { value: i, uom: 'EA' } },
    ...over,
  };
}

export { waitFor, within } from '../helpers/wait';

/** A broker connection that reconnects quickly (tests bound every wait). */
export function fastBroker(url: string): BrokerConnection {
  return new BrokerConnection({ url, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 }, heartbeatSec: 5 });
}

/** A plain amqplib connection for looking at queues. */
export class Admin {
  private constructor(readonly model: amqp.ChannelModel, readonly ch: amqp.Channel) {}

  static async open(url: string): Promise<Admin> {
    const model = await amqp.connect(url);
    const ch = await model.createChannel();
    return new Admin(model, ch);
  }

  async count(queue: string): Promise<number> {
    return (await this.ch.checkQueue(queue)).messageCount;
  }

  /** Reads (and acks) everything in a queue. */
  async drain(queue: string): Promise<amqp.GetMessage[]> {
    const out: amqp.GetMessage[] = [];
    for (let i = 0; i < 100000; i++) {
      const m = await this.ch.get(queue, { noAck: true });
      if (m === false) break;
      out.push(m);
    }
    return out;
  }

  async deleteTopology(topology: Topology): Promise<void> {
    for (const q of queuesOf(topology)) await this.ch.deleteQueue(q).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.model.close().catch(() => undefined);
  }
}

type Ctl = (args: string[], timeoutMs?: number) => Promise<string>;

/** The broker's view of the connections whose client named itself `connectionName`: one row each, with its open channels. */
export async function brokerConnections(ctl: Ctl, connectionName: string): Promise<Array<{ name: string; channels: number }>> {
  const rows = JSON.parse(await ctl(['list_connections', '--formatter', 'json', 'name', 'channels', 'client_properties'], 15000)) as Array<{
    name: string;
    channels: number;
    client_properties: Array<[string, string, unknown]>;
  }>;
  return rows
    .filter((r) => r.client_properties.some(([k, , v]) => k === 'connection_name' && v === connectionName))
    .map((r) => ({ name: r.name, channels: r.channels }));
}

/** The consumers the broker lists on `queue` (list_consumers: live, unlike list_queues' periodic stats). */
export async function queueConsumers(ctl: Ctl, queue: string): Promise<number> {
  const rows = JSON.parse(await ctl(['list_consumers', '--formatter', 'json', 'queue_name', 'consumer_tag'], 15000)) as Array<{ queue_name: string }>;
  return rows.filter((r) => r.queue_name === queue).length;
}
