import type { NodeMessage } from 'node-red';
import { classifyFailure } from '../../lib/delivery/failure-classifier';
import { statusForError } from '../../lib/delivery/http-status';
import { asPlantSyncError } from '../../lib/errors';

/**
 * The one error path of every PlantSync node: the structured detail goes on `msg.error`
 * ({code, message, retryable, details: [{pointer, message, keyword}], cause, ...}) and the error
 * goes to `done`, so that Catch nodes see it (Node-RED then moves the detail to `msg._error` and
 * copies `code` onto its own `msg.error`). An error that is not PlantSync's own (a pg or Node
 * error) is wrapped as UNEXPECTED_ERROR with its cause kept, retryable unless the classifier
 * finds it permanent: a refused store connection must never fail a key for good.
 * `msg.statusCode` is set for a `catch -> http response` path; `msg.payload` stays the input
 * (the original event for a dead letter and its replay). Never throws.
 */
export function failMessage(msg: NodeMessage, err: unknown, done: (err?: Error) => void): void {
  const error = asPlantSyncError(err, classifyFailure(err).class === 'retryable');
  const detail = error.toJSON();
  const out = msg as NodeMessage & { error?: unknown; statusCode?: number };
  out.error = detail;
  out.statusCode = statusForError(detail);
  done(error);
}
