import { STATUS_CODES } from 'node:http';
import { type Checker, isObj, type Obj } from './checks';
import { SimCore } from './core';
import { Fail } from './fail';
import { type Call, header, type Reply } from './http';
import { type ListenOptions, type RunningSimulator, serve } from './server';
import { type Outcome, runWrite } from './write-flow';

/** Options shared by the MES, WMS and QMS simulators. */
export interface RestSimulatorOptions extends ListenOptions {
  /** Require this header and value on /api/v1 (401 {"error":"unauthorized"} otherwise). */
  apiKey?: { header: string; value: string };
  ignoreRepeatability?: boolean;
}

export interface ReadRoute {
  method: 'GET';
  pattern: RegExp;
  run(params: string[], call: Call): Reply;
}

export interface WriteRoute {
  method: 'POST' | 'PUT';
  pattern: RegExp;
  run(body: Obj, params: string[], call: Call): Outcome;
}

export interface RestSystem {
  system: string;
  routes: Array<ReadRoute | WriteRoute>;
  resetData(): void;
}

export const BASE_PATH = '/api/v1';
const MAX_KEY_LENGTH = 255;

export function restError(status: number, code: string, message: string): Reply {
  return { status, body: { error: code, message } };
}

/** The generic systems' units (UN/ECE Rec. 20), with the conversions a real WMS would do. */
export const GENERIC_UNITS = ['PCE', 'KGM', 'GRM', 'MTR', 'LTR'] as const;
const TO_BASE: Record<string, [string, number]> = { PCE: ['PCE', 1], KGM: ['KGM', 1], GRM: ['KGM', 0.001], MTR: ['MTR', 1], LTR: ['LTR', 1] };

export interface Qty {
  amount: number;
  unit: string;
}

/** amount in `from` expressed in `to`, or undefined when the dimensions differ. */
export function convert(amount: number, from: string, to: string): number | undefined {
  const [baseFrom, f] = TO_BASE[from] ?? [];
  const [baseTo, t] = TO_BASE[to] ?? [];
  if (baseFrom === undefined || baseFrom !== baseTo) return undefined;
  return round(amount * (f as number) / (t as number));
}

/** Keeps float arithmetic on stock from drifting (500 - 12.1 - ...). */
export function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

export function quantity(check: Checker, o: Obj, field: string, at = ''): Qty {
  const q = check.obj(o, field, at);
  const amount = check.num(q, 'amount', `${at}/${field}`, { min: 0 });
  const unit = check.oneOf(q, 'unit', GENERIC_UNITS, `${at}/${field}`);
  return { amount, unit };
}

function failOutcome(err: Fail): Outcome {
  return { status: err.status, body: { error: err.code, message: err.message }, posted: false };
}

function matchRoute(sys: RestSystem, method: string, path: string): { route?: ReadRoute | WriteRoute; params: string[]; pathKnown: boolean } {
  let pathKnown = false;
  for (const route of sys.routes) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    pathKnown = true;
    const wanted = method === 'HEAD' ? 'GET' : method;
    if (route.method === wanted) return { route, params: m.slice(1).map(decodeURIComponent), pathKnown };
  }
  return { params: [], pathKnown };
}

/** Serves a plain JSON REST system under /api/v1 with API-key auth and Idempotency-Key on writes. */
export async function startRestSimulator(sys: RestSystem, options: RestSimulatorOptions = {}): Promise<RunningSimulator> {
  const core = new SimCore(sys.system, { ignoreRepeatability: options.ignoreRepeatability ?? false });
  const apiKey = options.apiKey;

  const handle = (call: Call): { reply: Reply; seq?: number } => {
    const path = call.url.pathname;
    if (path !== BASE_PATH && !path.startsWith(`${BASE_PATH}/`)) return { reply: restError(404, 'not_found', `no route ${path}`) };
    if (apiKey && header(call, apiKey.header) !== apiKey.value) {
      return { reply: restError(401, 'unauthorized', `missing or wrong ${apiKey.header}`) };
    }
    const { route, params, pathKnown } = matchRoute(sys, call.method, path.slice(BASE_PATH.length));
    if (!route) {
      return { reply: pathKnown ? restError(405, 'method_not_allowed', `${call.method} not allowed on ${path}`) : restError(404, 'not_found', `no route ${path}`) };
    }
    if (route.method === 'GET') {
      try {
        return { reply: route.run(params, call) };
      } catch (err) {
        if (err instanceof Fail) return { reply: restError(err.status, err.code, err.message) };
        throw err;
      }
    }
    const key = header(call, 'idempotency-key');
    if (key !== undefined && (key === '' || key.length > MAX_KEY_LENGTH)) {
      return { reply: restError(400, 'invalid_request', `Idempotency-Key must be 1..${MAX_KEY_LENGTH} characters`) };
    }
    return runWrite(core, call, {
      key,
      replayHeaders: { 'idempotent-replayed': 'true' },
      conflict: () => failOutcome(new Fail(422, 'idempotency_key_reused', 'Idempotency-Key was used with a different request')),
      exec: () => {
        try {
          if (call.jsonError !== undefined) throw new Fail(400, 'invalid_request', `malformed JSON: ${call.jsonError}`);
          if (!isObj(call.json)) throw new Fail(400, 'invalid_request', 'body must be a JSON object');
          return route.run(call.json, params, call);
        } catch (err) {
          if (err instanceof Fail) return failOutcome(err);
          throw err;
        }
      },
    });
  };

  return serve(core, {
    handle,
    resetData: sys.resetData,
    faultReply: (status) => restError(status, (STATUS_CODES[status] ?? 'error').toLowerCase().replace(/[^a-z0-9]+/g, '_'), `injected fault ${status}`),
    keyOf: (call) => header(call, 'idempotency-key') ?? null,
  }, options);
}
