import type { NodeMessage } from 'node-red';
import { PlantSyncError } from '../../lib/errors';

/** An error that knows its structured form (PlantSyncError, MappingError, AdapterError). */
interface StructuredError extends Error {
  code: string;
  toJSON(): Record<string, unknown>;
}

function isStructured(err: unknown): err is StructuredError {
  return err instanceof Error && typeof (err as Partial<StructuredError>).code === 'string' && typeof (err as Partial<StructuredError>).toJSON === 'function';
}

/**
 * The one error path of every PlantSync node: the structured detail goes on `msg.error`
 * ({code, message, details: [{pointer, message, keyword}], ...}) and the error goes to `done`,
 * so that Catch nodes see it (Node-RED then moves the detail to `msg._error` and copies `code`
 * onto its own `msg.error`). Never throws.
 */
export function failMessage(msg: NodeMessage, err: unknown, done: (err?: Error) => void): void {
  const error = isStructured(err) ? err : new PlantSyncError('INVALID_INPUT', err instanceof Error ? err.message : String(err));
  (msg as NodeMessage & { error?: unknown }).error = error.toJSON();
  done(error);
}
