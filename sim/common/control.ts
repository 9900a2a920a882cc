import type { SimConfig, SimCore } from './core';
import { Fail } from './fail';
import type { Call, Reply } from './http';

const CONFIG_NUMBERS = ['csrfTtlMs', 'tokenTtlSec'] as const;

function applyConfig(config: SimConfig, raw: unknown): void {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Fail(400, 'invalid_config', 'config must be a JSON object');
  const o = raw as Record<string, unknown>;
  const unknownKey = Object.keys(o).find((k) => k !== 'ignoreRepeatability' && !(CONFIG_NUMBERS as readonly string[]).includes(k));
  if (unknownKey) throw new Fail(400, 'invalid_config', `${unknownKey} is not a config option`);
  if (o.ignoreRepeatability !== undefined && typeof o.ignoreRepeatability !== 'boolean') {
    throw new Fail(400, 'invalid_config', 'ignoreRepeatability must be a boolean');
  }
  for (const k of CONFIG_NUMBERS) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) throw new Fail(400, 'invalid_config', `${k} must be a positive number`);
  }
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
