import type { NodeMessage } from 'node-red';
import { PlantSyncError } from '../../lib/errors';

/**
 * The one error path of every PlantSync node: the structured detail goes on `msg.error`
 * ({code, message, details: [{pointer, message, keyword}]}) and the error goes to `done`, so that
 * Catch nodes see it (Node-RED then moves the detail to `msg._error` and copies `code` onto its
 * own `msg.error`). Never throws.
 */
export function failMessage(msg: NodeMessage, err: unknown, done: (err?: Error) => void): void {
  const error = err instanceof PlantSyncError ? err : new PlantSyncError('INVALID_INPUT', err instanceof Error ? err.message : String(err));
  (msg as NodeMessage & { error?: unknown }).error = error.toJSON();
  done(error);
}
