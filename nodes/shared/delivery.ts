/**
 * Explicit settlement of broker deliveries, the same idiom as the idempotency claims: the consume
 * node registers each delivery it sends out under a unique id and puts `{consumer, id}` on
 * `msg.plantsync.delivery`; a `plantsync-idempotency-complete` node at the end of the work looks
 * the consume node up and settles the delivery (ack, or fail to the next retry tier).
 */
import type { Node, NodeAPI } from 'node-red';
import type { PlantSyncMessage } from './plantsync-meta';

export type DeliveryOutcome = 'acked' | 'failed' | 'unknown';

/** What the consume node puts on `msg.plantsync.delivery`. */
export interface DeliveryRef {
  /** Id of the plantsync-consume node holding the delivery. */
  consumer: string;
  /** Unique delivery id (per consume node instance). */
  id: string;
  /** Set by the settle node: `unknown` when the delivery was no longer pending (timed out, or the consumer was redeployed). */
  settled?: DeliveryOutcome;
}

/** A consume node, as the settle node sees it. */
export interface DeliverySettler extends Node {
  /** Settles a pending delivery: no error -> ack; an error -> retry tier / parking lot. False when unknown. */
  settleDelivery(id: string, error?: unknown): Promise<boolean>;
}

interface Entry {
  settle(error?: unknown): Promise<void>;
  timer: NodeJS.Timeout;
}

/** A consume node's pending deliveries with their settle timeout. */
export class PendingDeliveries {
  private readonly entries = new Map<string, Entry>();

  get size(): number {
    return this.entries.size;
  }

  /**
   * Registers a delivery. `settle` acks (no error) or fails it; the first settle wins. After
   * `timeoutMs` without one, `onTimeout()` supplies the error it is failed with, so nothing stays
   * unsettled for ever.
   */
  add(id: string, settle: (error?: unknown) => Promise<void>, timeoutMs: number, onTimeout: () => unknown): void {
    const timer = setTimeout(() => {
      this.settle(id, onTimeout()).catch(() => undefined);
    }, timeoutMs);
    this.entries.set(id, { settle, timer });
  }

  /** Settles and forgets a delivery; false when it is not (or no longer) pending. */
  async settle(id: string, error?: unknown): Promise<boolean> {
    const entry = this.entries.get(id);
    if (!entry) return false;
    this.entries.delete(id);
    clearTimeout(entry.timer);
    await entry.settle(error);
    return true;
  }

  /**
   * Settles every pending delivery with `error` and forgets it. After the consumer closed its
   * channels this settles nothing at the broker (it has them back); it ends their handlers.
   */
  clear(error: unknown): void {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const entry of all) {
      clearTimeout(entry.timer);
      entry.settle(error).catch(() => undefined);
    }
  }
}

/** The delivery reference a message carries, if any. */
export function deliveryOf(msg: PlantSyncMessage): DeliveryRef | undefined {
  const d = msg.plantsync?.delivery as DeliveryRef | undefined;
  return d && typeof d === 'object' && typeof d.consumer === 'string' && typeof d.id === 'string' ? d : undefined;
}

/**
 * Settles the delivery of a message once (a second settle node on the same message leaves it
 * alone). A consume node that is gone (redeployed) counts as `unknown`: the broker has already
 * taken the delivery back and redelivers it.
 */
export async function settleDeliveryOf(RED: NodeAPI, msg: PlantSyncMessage, error?: unknown): Promise<DeliveryOutcome | undefined> {
  const ref = deliveryOf(msg);
  if (!ref || ref.settled) return ref?.settled;
  const consumer = RED.nodes.getNode(ref.consumer) as DeliverySettler | null;
  const known = typeof consumer?.settleDelivery === 'function' ? await consumer.settleDelivery(ref.id, error) : false;
  ref.settled = known ? (error === undefined ? 'acked' : 'failed') : 'unknown';
  return ref.settled;
}
