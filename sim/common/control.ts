import { CSRF_TOKEN_ON, type SimConfig, type SimCore } from './core';
import { Fail } from './fail';
import type { Call, Reply } from './http';

const CONFIG_NUMBERS = ['csrfTtlMs', 'tokenTtlSec'] as const;
const CSRF_KEYS = ['csrfTokenOn', 'csrfFetchStatus'];

/** The SAP gateway's token-fetch switches. */
function applyCsrfConfig(config: SimConfig, o: Record<string, unknown>): void {
  if (o.csrfTokenOn !== undefined && !(CSRF_TOKEN_ON as readonly unknown[]).includes(o.csrfTokenOn)) {
    throw new Fail(400, 'invalid_config', `csrfTokenOn must be one of ${CSRF_TOKEN_ON.join(', ')}`);
  }
  const status = o.csrfFetchStatus;
  if (status !== undefined && !(status === 0 || (typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599))) {
    throw new Fail(400, 'invalid_config', 'csrfFetchStatus must be 0 (the read\'s own answer) or an HTTP error status 400..599');
  }
  if (o.csrfTokenOn !== undefined) config.csrfTokenOn = o.csrfTokenOn as SimConfig['csrfTokenOn'];
  if (status !== undefined) config.csrfFetchStatus = status as number;
}

function applyConfig(config: SimConfig, raw: unknown): void {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Fail(400, 'invalid_config', 'config must be a JSON object');
  const o = raw as Record<string, unknown>;
  const unknownKey = Object.keys(o).find((k) => k !== 'ignoreRepeatability' && !(CONFIG_NUMBERS as readonly string[]).includes(k) && !CSRF_KEYS.includes(k));
  if (unknownKey) throw new Fail(400, 'invalid_config', `${unknownKey} is not a config option`);
  if (o.ignoreRepeatability !== undefined && typeof o.ignoreRepeatability !== 'boolean') {
    throw new Fail(400, 'invalid_config', 'ignoreRepeatability must be a boolean');
  }
  for (const k of CONFIG_NUMBERS) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) throw new Fail(400, 'invalid_config', `${k} must be a positive number`);
  }
  applyCsrfConfig(config, o); // validates before anything below changes
  if (typeof o.ignoreRepeatability === 'boolean') config.ignoreRepeatability = o.ignoreRepeatability;
  for (const k of CONFIG_NUMBERS) if (typeof o[k] === 'number') config[k] = o[k] as number;
}

/** The unauthenticated /__sim control API; `reset` restores the system's seed data. */
export function control(core: SimCore, call: Call, reset: () => void): Reply {
  const route = `${call.method} ${call.url.pathname.replace(/\/+$/, '')}`;
  try {
    if ((route === 'PUT /__sim/faults' || route === 'PUT /__sim/config') && call.jsonError) {
      throw new Fail(400, 'invalid_json', call.jsonError);
    }
    switch (route) {
      case 'GET /__sim/ledger': return { status: 200, body: core.ledger.all() };
      case 'GET /__sim/postings': return { status: 200, body: core.ledger.postings() };
      case 'GET /__sim/faults': return { status: 200, body: core.faults.snapshot() };
      case 'PUT /__sim/faults':
        core.faults.set(call.json);
        return { status: 200, body: core.faults.snapshot() };
      case 'DELETE /__sim/faults':
        core.faults.clear();
        return { status: 200, body: core.faults.snapshot() };
      case 'POST /__sim/reset':
        core.resetShared();
        reset();
        return { status: 200, body: { reset: true } };
      case 'GET /__sim/config': return { status: 200, body: { ...core.config } };
      case 'PUT /__sim/config':
        applyConfig(core.config, call.json);
        return { status: 200, body: { ...core.config } };
      default: return { status: 404, body: { error: 'not_found', message: `no control route ${route}` } };
    }
  } catch (err) {
    if (err instanceof Fail) return { status: err.status, body: { error: err.code, message: err.message } };
    throw err;
  }
}
