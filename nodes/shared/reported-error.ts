import type { PlantSyncMessage } from './plantsync-meta';

/** The failure a message carries, as read by the nodes behind a Catch node. */
export interface ReportedError {
  code?: string;
  message?: string;
  status?: number;
  retryable?: boolean;
  /** The node that raised it (Node-RED's Catch detail). */
  source?: { id: string; type?: string; name?: string };
}

/**
 * Reads the failure off a message: PlantSync's structured detail is in `msg._error` once a Catch
 * node has it (Node-RED moves the node's `msg.error` there), the runtime's own in `msg.error`.
 */
export function reportedError(msg: PlantSyncMessage): ReportedError {
  const detail = (msg._error ?? msg.error ?? {}) as { code?: string; message?: string; statusCode?: number; status?: number; retryable?: boolean };
  const runtime = (msg.error ?? {}) as { code?: string; message?: string; source?: ReportedError['source'] };
  return {
    code: detail.code ?? runtime.code,
    message: detail.message ?? runtime.message,
    // msg.statusCode is the failure's own only for foreign nodes (core http request); PlantSync's
    // detail carries `retryable`, and the statusCode it sets is the answer to an http in, not the cause.
    status: detail.statusCode ?? detail.status ?? (typeof detail.retryable === 'boolean' ? undefined : (msg as { statusCode?: number }).statusCode),
    retryable: typeof detail.retryable === 'boolean' ? detail.retryable : undefined,
    source: runtime.source,
  };
}
