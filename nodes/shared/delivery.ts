/**
 * Explicit settlement of broker deliveries, the same idiom as the idempotency claims: the consume
 * node registers each delivery it sends out under a unique id and puts `{consumer, id}` on
 * `msg.plantsync.delivery`; a `plantsync-idempotency-complete` node at the end of the work looks
 * the consume node up and settles the delivery (ack, or fail to the next retry tier).
 */
import type { Node, NodeAPI } from 'node-red';
import type { PlantSyncMessage } from './plantsync-meta';

/**
 * `already-acked` / `already-failed`: another settle node settled this delivery first (a flow
 * that fans out to several settle nodes); `unknown`: no longer pending (timed out, consumer gone).
 */
export type DeliveryOutcome = 'acked' | 'failed' | 'already-acked' | 'already-failed' | 'unknown';

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
  /** Settles a pending delivery: no error -> ack; an error -> retry tier / parking lot. */
  settleDelivery(id: string, error?: unknown): Promise<DeliveryOutcome>;
}

/**
 * Consume nodes by id from their construction until their close has finished. Node-RED takes a
 * closing node out of RED.nodes.getNode before its close handler runs, yet the deliveries it
 * waits for during close (work still running in nodes that were not redeployed) must be settled.
 */
const consumers = new Map<string, DeliverySettler>();

/** Registers a consume node; the returned function deregisters it (call it when close is done). */
export function registerConsumer(node: DeliverySettler): () => void {
  consumers.set(node.id, node);
  return () => {
    if (consumers.get(node.id) === node) consumers.delete(node.id);
  };
}

interface Entry {
  settle(error?: unknown): Promise<void>;
  timer: NodeJS.Timeout;
}

/** How many settled delivery ids a consume node remembers, to tell a second settle from an unknown one. */
const RECENT = 10000;

/** A consume node's pending deliveries with their settle timeout. */
export class PendingDeliveries {
  private readonly entries = new Map<string, Entry>();
  private readonly recent = new Map<string, 'acked' | 'failed'>();

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

  /** Settles a pending delivery once; a later settle learns how the first one went. */
  async settle(id: string, error?: unknown): Promise<DeliveryOutcome> {
    const entry = this.entries.get(id);
    if (!entry) {
      const earlier = this.recent.get(id);
      return earlier ? (`already-${earlier}` as const) : 'unknown';
    }
    this.entries.delete(id);
    clearTimeout(entry.timer);
    const outcome = error === undefined ? 'acked' : 'failed';
    this.recent.set(id, outcome);
    if (this.recent.size > RECENT) this.recent.delete(this.recent.keys().next().value as string);
    await entry.settle(error);
    return outcome;
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
  const consumer = consumers.get(ref.consumer) ?? (RED.nodes.getNode(ref.consumer) as DeliverySettler | null);
  ref.settled = typeof consumer?.settleDelivery === 'function' ? await consumer.settleDelivery(ref.id, error) : 'unknown';
  return ref.settled;
}
