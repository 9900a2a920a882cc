import { PlantSyncError } from '../errors';
import type { DeadLetterSelector } from './dead-letter-store';

/** Error codes in dead-letter records and integration events are upper-case identifiers; anything else is mapped onto that shape. */
export function normaliseErrorCode(code: unknown): string {
  const c = String(code ?? 'NODE_ERROR').toUpperCase().replace(/[^A-Z0-9_]/g, '_').replace(/^[^A-Z]+/, '');
  return (c || 'NODE_ERROR').slice(0, 40);
}

/**
 * A dead-letter selector from a command payload: nothing (everything parked), an id, a list of
 * ids, or an object with id / ids / correlationId / type / from / to / status / limit.
 */
export function parseDeadLetterSelector(payload: unknown): DeadLetterSelector {
  if (payload === null || payload === undefined || payload === '') return {};
  if (typeof payload === 'string') return { ids: [payload] };
  if (Array.isArray(payload)) return { ids: payload.map(String) };
  if (typeof payload !== 'object') throw new PlantSyncError('INVALID_INPUT', 'the selector must be an object, an id or a list of ids');
  const s = payload as Record<string, unknown>;
  const out: DeadLetterSelector = {};
  if (s.id !== undefined) out.ids = [String(s.id)];
  if (Array.isArray(s.ids)) out.ids = s.ids.map(String);
  for (const k of ['correlationId', 'type', 'from', 'to'] as const) if (typeof s[k] === 'string') out[k] = s[k] as string;
  if (typeof s.correlationid === 'string') out.correlationId = s.correlationid;
  if (s.status === 'parked' || s.status === 'replayed' || s.status === 'any') out.status = s.status;
  if (typeof s.limit === 'number') out.limit = s.limit;
  for (const k of ['from', 'to'] as const) {
    if (out[k] !== undefined && Number.isNaN(Date.parse(out[k] as string))) {
      throw new PlantSyncError('INVALID_INPUT', `selector.${k} is not a date`, [{ pointer: `/${k}`, message: 'must be an RFC 3339 date-time', keyword: 'format' }]);
    }
  }
  return out;
}
