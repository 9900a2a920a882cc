import type { CanonicalEvent } from '../canonical/events';
import { PlantSyncError } from '../errors';
import { operationFor } from '../mapping/registry';
import type { MappingProfile } from '../mapping/engine';
import type { ReadOperation, VendorRequest } from '../mapping/types';
import type { EndpointClient, SendRequest } from './endpoint-client';

/** What one mapped call to a target returned. */
export interface CallResult {
  operation: string;
  status: number;
  attempts: number;
  /** Document numbers for writes; canonical data for reads. */
  result: unknown;
}

/** How a write repeats an earlier one. */
export interface WriteOptions {
  /** Epoch ms of the event's first attempt (the idempotency claim's): sent as the first-sent time on every retry, redelivery and replay. */
  firstSentAt?: number;
}

function toSend(req: VendorRequest, correlationId: string | undefined, options: WriteOptions = {}): SendRequest {
  const send: SendRequest = { method: req.method, path: req.path };
  if (options.firstSentAt !== undefined) send.firstSentAt = options.firstSentAt;
  if (req.query) send.query = req.query;
  if (req.body !== undefined) send.body = req.body;
  if (req.repeatKey) send.repeatKey = req.repeatKey;
  if (req.repeatHeader) send.repeatHeader = req.repeatHeader; // the operation's declaration, never guessed from the profile's name
  if (correlationId) send.correlationId = correlationId;
  if (req.needsEtagFrom) send.etagFrom = { path: req.needsEtagFrom.path };
  return send;
}

/**
 * Posts a canonical event to a target through its profile: the write operation for the event's
 * type, mapped completely before anything is sent (a mapping error sends nothing), with the
 * target's repeatability key derived from the event's idempotency key, then the vendor's answer
 * mapped to document numbers.
 */
export async function callWrite(client: EndpointClient, profile: MappingProfile, event: CanonicalEvent, options: WriteOptions = {}): Promise<CallResult> {
  const operation = operationFor(profile, event.type);
  const request = await operation.toVendor(event);
  const response = await client.send(toSend(request, event.correlationid, options));
  return { operation: operation.name, status: response.status, attempts: response.attempts, result: await mapResponse(operation.name, response.body, () => operation.fromVendorResponse(response.body)) };
}

/**
 * The target answered (a write is posted) but its answer does not map: a distinct, permanent
 * error carrying the raw answer, so nobody reads it as "nothing was sent".
 */
async function mapResponse<R>(operation: string, body: unknown, map: () => Promise<R>): Promise<R> {
  try {
    return await map();
  } catch (err) {
    const message = `${operation}: the target answered, but its answer does not map: ${(err as Error).message}`;
    const error = new PlantSyncError('RESPONSE_MAPPING_ERROR', message, (err as { details?: PlantSyncError['details'] }).details ?? []);
    (error as PlantSyncError & { response?: unknown }).response = body;
    throw error;
  }
}

/** Reads from a target with a named read operation (production order, stock, lot) into canonical data. */
export async function callRead(client: EndpointClient, profile: MappingProfile, name: string, params: Record<string, string>, correlationId?: string): Promise<CallResult> {
  const operation = profile.operation<ReadOperation>(name);
  if (operation.kind !== 'read') throw new PlantSyncError('CONFIG_ERROR', `${name} is not a read operation of ${profile.name}`);
  const request = await operation.toVendor(params);
  const response = await client.send(toSend(request, correlationId));
  return { operation: operation.name, status: response.status, attempts: response.attempts, result: await mapResponse(operation.name, response.body, () => operation.fromVendorResponse(response.body)) };
}
