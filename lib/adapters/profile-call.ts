import type { CanonicalEvent } from '../canonical/events';
import { PlantSyncError } from '../errors';
import { operationFor } from '../mapping/registry';
import type { MappingProfile } from '../mapping/engine';
import { failingMessage, functionMessages } from '../mapping/function-message';
import type { ReadOperation, VendorRequest, WriteOperation, WriteRequest } from '../mapping/types';
import { TargetRejectedError } from './adapter-errors';
import type { EndpointClient, SendRequest, SendResult } from './endpoint-client';

/** What one mapped call to a target returned. */
export interface CallResult {
  operation: string;
  status: number;
  attempts: number;
  /** Document numbers for writes; canonical data for reads. */
  result: unknown;
  /**
   * The target already had the document: the lookup found it after an unknown outcome, or the
   * target refused a repeat whose effect is there (a release of a released order).
   */
  repeated?: boolean;
  /** How a write's document was found without (another) posting: by its declared lookup. */
  resolvedBy?: 'lookup';
  /** The target's Repeatability-Result header (SAP documents `accepted` and `rejected`). */
  repeatability?: string;
}

export interface WriteOptions {
  /**
   * An earlier attempt at this event may have posted (a redelivery after a failure, a claim taken
   * over after its lease expired): the document is looked up before anything is posted.
   */
  outcomeUnknown?: boolean;
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

/** The lookup's GET; the document in the shape of the write's answer, or undefined (404 included). */
async function findDocument(client: EndpointClient, operation: WriteOperation, request: WriteRequest, correlationId: string | undefined): Promise<Omit<SendResult, 'attempts'> | undefined> {
  if (!request.lookup) return undefined;
  let res: SendResult;
  try {
    res = await client.send(toSend(request.lookup, correlationId));
  } catch (err) {
    if (err instanceof TargetRejectedError && err.status === 404) return undefined;
    throw err;
  }
  const body = operation.foundDocument(res.body, request.lookup);
  return body === undefined ? undefined : { status: res.status, headers: res.headers, body };
}

function header(res: SendResult, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Posts a canonical event to a target through its profile: the write operation for the event's
 * type, mapped completely before anything is sent (a mapping error sends nothing), with the
 * target's repeatability key derived from the event's idempotency key, then the vendor's answer
 * mapped to document numbers.
 *
 * What happened is decided here, not guessed: when the outcome of a posting is unknown the
 * operation's lookup finds the document before it is posted again; a function import's message
 * structure decides success by its type (E and A fail as TARGET_REJECTED with the message text);
 * an answer without the document is followed by the operation's `readAfter` GET; and a refusal
 * whose effect is already there (the lookup finds it) is a success marked as a repeat.
 */
export async function callWrite(client: EndpointClient, profile: MappingProfile, event: CanonicalEvent, options: WriteOptions = {}): Promise<CallResult> {
  const operation = operationFor(profile, event.type);
  const request = await operation.toVendor(event);
  const correlationId = event.correlationid;
  const send = toSend(request, correlationId, options);
  const lookup = () => findDocument(client, operation, request, correlationId);
  if (request.lookup) {
    send.lookup = lookup;
    send.outcomeUnknown = options.outcomeUnknown === true;
  }

  let response: SendResult;
  let repeated = false;
  try {
    response = await client.send(send);
  } catch (err) {
    const found = err instanceof TargetRejectedError ? await lookup() : undefined;
    if (!found) throw err;
    response = { ...found, attempts: (err as TargetRejectedError).attempts };
    repeated = true;
  }
  repeated ||= response.resolvedBy === 'lookup';

  const messages = functionMessages(response.body);
  const failing = failingMessage(messages);
  if (failing && !repeated) {
    const found = await lookup();
    if (!found) {
      const what = `${send.method.toUpperCase()} ${send.path}`;
      throw new TargetRejectedError(
        `${client.role} rejected ${what} with message ${failing.type}${failing.id ? ` ${failing.id}` : ''}: ${failing.text || '(no text)'}. Repeating it will not help: correct the event or the ${client.role} data, then replay it from the dead-letter store.`,
        { target: client.role, attempts: response.attempts, status: response.status, method: send.method.toUpperCase(), path: send.path, body: response.body, targetError: { code: failing.id ?? failing.type, message: failing.text } },
      );
    }
    response = { ...found, attempts: response.attempts };
    repeated = true;
  } else if (request.readAfter && !repeated && (response.status === 204 || messages.length > 0 || typeof response.body !== 'object' || response.body === null)) {
    // The action answered without the document (a message or no content): read its new state.
    const after = await client.send(toSend(request.readAfter, correlationId));
    response = { ...response, body: after.body };
  }

  const result: CallResult = {
    operation: operation.name, status: response.status, attempts: response.attempts,
    result: await mapResponse(operation.name, response.body, () => operation.fromVendorResponse(response.body)),
  };
  if (repeated) result.repeated = true;
  if (response.resolvedBy) result.resolvedBy = response.resolvedBy;
  const repeatability = header(response, 'repeatability-result');
  if (repeatability !== undefined) result.repeatability = repeatability;
  return result;
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

/**
 * Reads from a target with a named read operation (production order, stock, lot) into canonical
 * data. Navigations the service did not expand (it ignores `$expand`) are read from their own
 * navigation URLs before mapping.
 */
export async function callRead(client: EndpointClient, profile: MappingProfile, name: string, params: Record<string, string>, correlationId?: string): Promise<CallResult> {
  const operation = profile.operation<ReadOperation>(name);
  if (operation.kind !== 'read') throw new PlantSyncError('CONFIG_ERROR', `${name} is not a read operation of ${profile.name}`);
  const request = await operation.toVendor(params);
  const response = await client.send(toSend(request, correlationId));
  let body = response.body;
  for (const nav of operation.missingNavigations(body, request)) {
    const answer = await client.send(toSend(nav.request, correlationId));
    body = await mapResponse(operation.name, answer.body, async () => operation.withNavigation(body, nav.name, answer.body));
  }
  const mapped = body;
  return { operation: operation.name, status: response.status, attempts: response.attempts, result: await mapResponse(operation.name, mapped, () => operation.fromVendorResponse(mapped)) };
}
