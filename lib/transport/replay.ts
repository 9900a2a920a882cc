/**
 * Replay from the parking lot: moves the parked messages that match a selector back to the work
 * queue (attempt reset to 1, x-plantsync-replayed = true); the others are re-published to the
 * parking lot's tail in their order and stay parked. Every move is a confirmed publish followed by
 * the ack of the original, so a crash mid-replay duplicates at worst (the idempotency guard
 * downstream absorbs that), never loses.
 *
 * One pass looks at most at the messages present when it starts (re-parked ones are not seen
 * twice). Do not run two replays of one parking lot at once.
 */
import type { ChannelModel, GetMessage } from 'amqplib';
import { copyOptions, HEADERS } from './message';
import type { Topology } from './topology';
import { TransportError } from './transport-error';

export interface ReplaySelector {
  /** Every parked message (the other criteria are ignored). */
  all?: boolean;
  type?: string;
  correlationId?: string;
  /** Inclusive bounds on the message timestamp (event time, whole seconds). */
  from?: Date | number;
  to?: Date | number;
}

export interface ReplayOptions {
  /** At most this many messages are replayed (default 1000). */
  limit?: number;
  /** Confirms are awaited per batch of this many moves (default 100). */
  batchSize?: number;
}

export interface ReplayResult {
  examined: number;
  replayed: number;
  /** Looked at and left parked. */
  kept: number;
}

const ms = (v: Date | number) => (v instanceof Date ? v.getTime() : v);

export function matches(selector: ReplaySelector, msg: Pick<GetMessage, 'properties'>): boolean {
  if (selector.all) return true;
  const p = msg.properties;
  if (selector.type !== undefined && p.type !== selector.type) return false;
  if (selector.correlationId !== undefined && p.correlationId !== selector.correlationId) return false;
  if (selector.from !== undefined || selector.to !== undefined) {
    if (typeof p.timestamp !== 'number') return false;
    const t = p.timestamp * 1000;
    if (selector.from !== undefined && t < Math.floor(ms(selector.from) / 1000) * 1000) return false;
    if (selector.to !== undefined && t > ms(selector.to)) return false;
  }
  return selector.type !== undefined || selector.correlationId !== undefined || selector.from !== undefined || selector.to !== undefined;
}

export async function replayParked(model: ChannelModel, topology: Topology, selector: ReplaySelector, options: ReplayOptions = {}): Promise<ReplayResult> {
  const { workQueue, parkingQueue } = topology;
  if (!workQueue || !parkingQueue) throw new TransportError('CONFIG_ERROR', 'replay needs a topology with a work queue and a parking lot');
  const limit = options.limit ?? 1000;
  const batchSize = options.batchSize ?? 100;
  const ch = await model.createConfirmChannel();
  ch.on('error', () => undefined);
  const result: ReplayResult = { examined: 0, replayed: 0, kept: 0 };
  try {
    const { messageCount } = await ch.checkQueue(parkingQueue);
    let batch: GetMessage[] = [];
    const settle = async () => {
      if (batch.length === 0) return;
      await ch.waitForConfirms();
      ch.ack(batch[batch.length - 1], true); // acks the whole batch
      batch = [];
    };
    while (result.examined < messageCount && result.replayed < limit) {
      const msg = await ch.get(parkingQueue, { noAck: false });
      if (msg === false) break;
      result.examined++;
      if (matches(selector, msg)) {
        const headers = { [HEADERS.attempt]: 1, [HEADERS.replayed]: true, [HEADERS.replayedAt]: new Date().toISOString() };
        ch.sendToQueue(workQueue, msg.content, copyOptions(msg.properties, headers));
        result.replayed++;
      } else {
        ch.sendToQueue(parkingQueue, msg.content, copyOptions(msg.properties, {}));
        result.kept++;
      }
      batch.push(msg);
      if (batch.length >= batchSize) await settle();
    }
    await settle();
  } finally {
    await ch.close().catch(() => undefined);
  }
  return result;
}
