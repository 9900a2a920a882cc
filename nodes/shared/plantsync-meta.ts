import type { NodeMessage } from 'node-red';
import type { DeliveryHandle } from '../../lib/delivery/settlement';

/** What the idempotency guard puts on `msg.plantsync.idempotency`. */
export interface ClaimInfo {
  /** The `plantsync-store` config node holding the claim. */
  store: string;
  key: string;
  status: 'claimed' | 'duplicate' | 'conflict' | 'failed';
  token?: string;
  attempt?: number;
  /** The claim took over an in-flight key whose lease had expired: its holder may have posted. */
  takeover?: boolean;
  /**
   * On a claim: when the key was first claimed (ISO 8601), the same on every redelivery and
   * replay; the request node sends it as the target's first-sent time (Repeatability-First-Sent).
   */
  firstAttemptAt?: string;
  /** The first attempt's stored result, on duplicates. */
  result?: unknown;
  reason?: unknown;
  storedHash?: string;
  /** Set by the settle claim node (plantsync-idempotency-complete) once the claim is settled. */
  settled?: 'completed' | 'released' | 'failed';
}

/** What the dead-letter node puts on `msg.plantsync.replay` when it sends a message again. */
export interface ReplayInfo {
  deadLetterId: string;
  replayCount: number;
}

export interface PlantSyncMeta {
  idempotency?: ClaimInfo;
  /** The settlement handle of a consumed delivery (set by plantsync-consume). */
  delivery?: DeliveryHandle;
  replay?: ReplayInfo;
  validation?: unknown;
  [k: string]: unknown;
}

export type PlantSyncMessage = NodeMessage & { plantsync?: PlantSyncMeta; error?: unknown; _error?: unknown; correlationid?: unknown };

/** The message's PlantSync metadata, created when missing. */
export function meta(msg: PlantSyncMessage): PlantSyncMeta {
  if (msg.plantsync === null || typeof msg.plantsync !== 'object') msg.plantsync = {};
  return msg.plantsync;
}
