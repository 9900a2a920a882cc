/** How a canonical event becomes an AMQP message, and the PlantSync header names. */
import type { MessageProperties, Options } from 'amqplib';
import { TransportError } from './transport-error';

export const HEADERS = Object.freeze({
  attempt: 'x-plantsync-attempt',
  lastErrorCode: 'x-plantsync-last-error-code',
  lastErrorMessage: 'x-plantsync-last-error',
  firstFailure: 'x-plantsync-first-failure',
  parkedReason: 'x-plantsync-parked-reason',
  parkedMessage: 'x-plantsync-parked-message',
  parkedAt: 'x-plantsync-parked-at',
  attempts: 'x-plantsync-attempts',
  replayed: 'x-plantsync-replayed',
  replayedAt: 'x-plantsync-replayed-at',
});

/** The envelope attributes the transport reads (a CanonicalEvent has them all). */
export interface EventLike {
  id: string;
  type: string;
  time?: string;
  subject?: string;
  correlationid?: string;
  idempotencykey?: string;
  siteid?: string;
  [key: string]: unknown;
}

export function assertEventLike(event: unknown): asserts event is EventLike {
  const e = event as Partial<EventLike> | null;
  if (!e || typeof e !== 'object' || typeof e.id !== 'string' || e.id === '' || typeof e.type !== 'string' || e.type === '') {
    throw new TransportError('INVALID_EVENT', 'a published event needs a non-empty string id and type');
  }
}

/** Persistent, confirmed-publish properties from the envelope. */
export function publishOptions(event: EventLike): Options.Publish {
  const headers: Record<string, unknown> = {};
  if (typeof event.idempotencykey === 'string') headers.idempotencykey = event.idempotencykey;
  if (typeof event.siteid === 'string') headers.siteid = event.siteid;
  const ms = typeof event.time === 'string' ? Date.parse(event.time) : NaN;
  return {
    persistent: true,
    mandatory: true,
    messageId: event.id,
    correlationId: typeof event.correlationid === 'string' ? event.correlationid : undefined,
    type: event.type,
    // AMQP timestamps are whole seconds.
    timestamp: Number.isFinite(ms) ? Math.floor(ms / 1000) : Math.floor(Date.now() / 1000),
    contentType: 'application/json',
    appId: 'plantsync',
    headers,
  };
}

/** Headers the broker adds per delivery; a re-published copy must not carry them. */
const BROKER_HEADERS = ['x-delivery-count'];

/** Publish options for a copy of a consumed message (retry, parking, replay), with new headers. */
export function copyOptions(props: MessageProperties, headers: Record<string, unknown>): Options.Publish {
  const merged: Record<string, unknown> = { ...(props.headers ?? {}), ...headers };
  for (const h of BROKER_HEADERS) delete merged[h];
  return {
    persistent: true,
    messageId: props.messageId,
    correlationId: props.correlationId,
    type: props.type,
    timestamp: props.timestamp,
    contentType: props.contentType,
    contentEncoding: props.contentEncoding,
    appId: props.appId,
    headers: merged,
  };
}

/** Attempt number of a delivery: the header, else 1. */
export function attemptOf(headers: Record<string, unknown> | undefined): number {
  const v = Number(headers?.[HEADERS.attempt]);
  return Number.isInteger(v) && v >= 1 ? v : 1;
}
