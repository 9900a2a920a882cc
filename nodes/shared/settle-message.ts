/**
 * The nodes' side of lib/delivery/settlement: the handle a message carries on
 * `msg.plantsync.delivery`, and settling it. The rules (first settle wins, timeout, close) live in
 * the core.
 */
import { deliveryHandleOf, settlements, type DeliveryHandle, type DeliveryOutcome, type SettleAction } from '../../lib/delivery/settlement';
import type { PlantSyncMessage } from './plantsync-meta';
import { reportedError } from './reported-error';

/** The settlement handle of a consumed message, if it came from plantsync-consume. */
export function deliveryOf(msg: PlantSyncMessage): DeliveryHandle | undefined {
  return deliveryHandleOf(msg.plantsync?.delivery);
}

/** Settles the message's delivery (once: a message that settled it already is left alone); undefined without one. */
export async function settleDeliveryOf(msg: PlantSyncMessage, action: SettleAction, error?: unknown): Promise<DeliveryOutcome | undefined> {
  const handle = deliveryOf(msg);
  return handle ? settlements.settle(handle, action, error) : undefined;
}

/** The failure a message carries (behind a Catch node), as the error its delivery is failed with: code and message go into the retry headers. */
export function failureOf(msg: PlantSyncMessage, fallbackCode: string): Error {
  const e = reportedError(msg);
  return Object.assign(new Error(e.message ?? 'failed'), { code: e.code ?? fallbackCode });
}
