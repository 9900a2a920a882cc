import { STATUS_CODES } from 'node:http';
import { isObj, type Obj } from './common/checks';
import { type CsrfTokenOn, SimCore } from './common/core';
import { Fail } from './common/fail';
import { type Call, header, type Reply } from './common/http';
import { type ListenOptions, type RunningSimulator, serve } from './common/server';
import { type Outcome, runWrite } from './common/write-flow';
import { seedState } from './sap/data';
import { listMaterialDocuments, postGoodsMovement, postUsageDecision, readInspectionLot, readStock, readUsageDecision } from './sap/inventory';
import { CONF, failReply, INSP, MDOC, odata, odataError, PO, SERVICES, STCK } from './sap/odata';
import { listConfirmations, postConfirmation, readOrder, releaseOrder, type ReleaseAnswer } from './sap/orders';
import { type SapAuthOptions, SapSecurity } from './sap/security';

/** An SAP S/4HANA-like ERP speaking OData v2 behind a gateway with OAuth/Basic, CSRF and repeatable requests. */

export type { SapAuthOptions } from './sap/security';

export interface SapSimulatorOptions extends ListenOptions {
  /** Default 'none': the services need no credentials (the token endpoint still issues tokens). */
  auth?: SapAuthOptions | 'none';
  /** Lifetime of a CSRF token (default 30 min). */
  csrfTtlMs?: number;
  /** Every POST posts: Repeatability-Request-ID and ExternalSystemConfirmation are not deduplicated. */
  ignoreRepeatability?: boolean;
  /** Which token fetches hand out a CSRF token: 'any' (default), 'service-root', 'entity-set' (any read below the root), 'none'. */
  csrfTokenOn?: CsrfTokenOn;
  /** The error status a token fetch is answered with, token and cookie still attached (default 404); 0: the read's own answer. */
  csrfFetchStatus?: number;
  /** The clock OAuth token and CSRF token lifetimes are measured on (default Date.now; tests advance a fake one). */
  now?: () => number;
  /**
   * Default true, as real SAP: production orders and reservations are stored and found only in
   * their internal form with leading zeros ('000001000123'). false also accepts '1000123'.
   */
  internalKeysOnly?: boolean;
  /** SAP plant codes of the seed sites, e.g. {P100: '1010'}; default: the plant codes are the site names. */
  plantCodes?: Readonly<Record<string, string>>;
  /** Ignore `$expand` on production orders, as some services and releases do: navigations stay deferred (default false). */
  ignoreExpand?: boolean;
  /** What ReleaseOrder answers: 'message' (default: the FunctionMessage its metadata declares), 'entity' (the order), 'none' (204). */
  releaseAnswer?: ReleaseAnswer;
}

export const TOKEN_PATH = '/sap/bc/sec/oauth2/token';
const ODATA_PATH = /^\/sap\/opu\/odata\/sap\/([^/]+)(?:\/(.*))?$/;
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const REPEATABILITY_ID = /^[\x21-\x7e]{1,64}$/;

const ENTITY_SETS: Record<string, string[]> = {
  [PO]: ['A_ProductionOrder_2', 'A_ProductionOrderOperation_2', 'A_ProductionOrderComponent_4'],
  [CONF]: ['ProdnOrdConf2'],
  [MDOC]: ['A_MaterialDocumentHeader', 'A_MaterialDocumentItem'],
  [STCK]: ['A_MatlStkInAcctMod'],
  [INSP]: ['A_InspectionLot', 'A_InspLotUsageDecision'],
};

interface Route {
  service: string;
  method: 'GET' | 'POST';
  pattern: RegExp;
  read?: (call: Call, m: RegExpExecArray) => Reply;
  write?: (call: Call, body: Obj) => Outcome;
  /** Function imports take their parameters in the query; the body may be empty. */
  bodyless?: boolean;
}

function upperSnake(status: number): string {
  return (STATUS_CODES[status] ?? 'ERROR').toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

export async function startSapSimulator(options: SapSimulatorOptions = {}): Promise<RunningSimulator> {
  const auth = options.auth ?? 'none';
  const core = new SimCore('erp', {
    ignoreRepeatability: options.ignoreRepeatability ?? false,
    ...(options.csrfTtlMs !== undefined ? { csrfTtlMs: options.csrfTtlMs } : {}),
    ...(options.csrfTokenOn !== undefined ? { csrfTokenOn: options.csrfTokenOn } : {}),
    ...(options.csrfFetchStatus !== undefined ? { csrfFetchStatus: options.csrfFetchStatus } : {}),
    ...(auth !== 'none' && auth.oauth?.tokenTtlSec !== undefined ? { tokenTtlSec: auth.oauth.tokenTtlSec } : {}),
  });
  const security = new SapSecurity(auth, core.config, options.now);
  const seed = { internalKeysOnly: options.internalKeysOnly, plantCodes: options.plantCodes };
  let state = seedState(seed);
  const orderOptions = { ignoreExpand: options.ignoreExpand ?? false, releaseAnswer: options.releaseAnswer ?? 'message' };

  const routes: Route[] = [
    { service: PO, method: 'GET', pattern: /^A_ProductionOrder_2\((.*)\)(?:\/(\w+))?$/, read: (call, m) => readOrder(state, call, m[1], m[2], orderOptions) },
    { service: PO, method: 'POST', pattern: /^ReleaseOrder$/, write: (call) => releaseOrder(state, call, orderOptions.releaseAnswer), bodyless: true },
    { service: CONF, method: 'GET', pattern: /^ProdnOrdConf2$/, read: (call) => listConfirmations(state, call) },
    { service: CONF, method: 'POST', pattern: /^ProdnOrdConf2$/, write: (call, body) => postConfirmation(state, call, body, core.config.ignoreRepeatability) },
    { service: MDOC, method: 'GET', pattern: /^A_MaterialDocumentHeader$/, read: (call) => listMaterialDocuments(state, call) },
    { service: MDOC, method: 'POST', pattern: /^A_MaterialDocumentHeader$/, write: (call, body) => postGoodsMovement(state, call, body) },
    { service: STCK, method: 'GET', pattern: /^A_MatlStkInAcctMod$/, read: (call) => readStock(state, call) },
    { service: INSP, method: 'GET', pattern: /^A_InspectionLot\((.*)\)$/, read: (call, m) => readInspectionLot(state, call, m[1]) },
    { service: INSP, method: 'GET', pattern: /^A_InspLotUsageDecision\((.*)\)$/, read: (_call, m) => readUsageDecision(state, m[1]) },
    { service: INSP, method: 'POST', pattern: /^A_InspLotUsageDecision$/, write: (call, body) => postUsageDecision(state, call, body) },
  ];

  const read = (call: Call, service: string, rest: string): Reply => {
    if (rest === '') return odata(200, { EntitySets: ENTITY_SETS[service] });
    for (const r of routes) {
      const m = r.service === service && r.method === 'GET' ? r.pattern.exec(rest) : null;
      if (m && r.read) return r.read(call, m);
    }
    return odataError(404, 'RESOURCE_NOT_FOUND', `Resource not found for segment '${rest}'`);
  };

  const write = (call: Call, service: string, rest: string): { reply: Reply; seq?: number } => {
    const candidates = routes.filter((r) => r.service === service && r.pattern.test(rest));
    const route = candidates.find((r) => r.method === call.method && r.write);
    if (!route?.write) {
      return { reply: candidates.length ? odataError(405, 'METHOD_NOT_ALLOWED', `${call.method} is not allowed on '${rest}'`) : odataError(404, 'RESOURCE_NOT_FOUND', `Resource not found for segment '${rest}'`) };
    }
    const ignore = core.config.ignoreRepeatability;
    const rrId = header(call, 'repeatability-request-id');
    if (rrId !== undefined && !ignore) {
      if (!REPEATABILITY_ID.test(rrId)) return { reply: odataError(400, 'BAD_REQUEST', 'Repeatability-Request-ID must be 1 to 64 visible ASCII characters') };
      if (!IMF_FIXDATE.test(header(call, 'repeatability-first-sent') ?? '')) {
        return { reply: odataError(400, 'BAD_REQUEST', 'Repeatability-First-Sent must accompany Repeatability-Request-ID as an RFC 7231 date') };
      }
    }
    const accepted = rrId !== undefined && !ignore ? { 'repeatability-result': 'accepted' } : undefined;
    const handler = route.write;
    return runWrite(core, call, {
      key: rrId,
      replayHeaders: accepted,
      conflict: () => {
        const r = odataError(422, 'REPEATABILITY_CONFLICT', `Repeatability-Request-ID ${rrId} was used with a different request`, { 'repeatability-result': 'rejected' });
        return { status: 422, body: r.body, headers: r.headers as Record<string, string>, posted: false };
      },
      exec: () => {
        try {
          if (call.jsonError !== undefined) throw new Fail(400, 'BAD_REQUEST', `Malformed JSON body: ${call.jsonError}`);
          const body = call.json === undefined && route.bodyless ? {} : call.json;
          if (!isObj(body)) throw new Fail(400, 'BAD_REQUEST', 'The request body must be a JSON object');
          const o = handler(call, body);
          return accepted ? { ...o, headers: { ...o.headers, ...accepted } } : o;
        } catch (err) {
          if (!(err instanceof Fail)) throw err;
          const r = failReply(err);
          return { status: r.status, body: r.body, headers: { ...(r.headers as Record<string, string>), ...accepted }, posted: false };
        }
      },
    });
  };

  const handle = (call: Call): { reply: Reply; seq?: number } => {
    if (call.url.pathname === TOKEN_PATH) return { reply: security.token(call) };
    const m = ODATA_PATH.exec(call.url.pathname);
    if (!m || !(SERVICES as readonly string[]).includes(m[1])) return { reply: odataError(404, 'RESOURCE_NOT_FOUND', `No service found for ${call.url.pathname}`) };
    const denied = security.authenticate(call);
    if (denied) return { reply: denied };
    let rest: string;
    try {
      rest = decodeURIComponent(m[2] ?? '').replace(/\/$/, '');
    } catch {
      return { reply: odataError(400, 'BAD_REQUEST', 'Malformed URI') };
    }
    if (call.method === 'GET' || call.method === 'HEAD') {
      let reply: Reply;
      try {
        reply = read(call, m[1], rest);
      } catch (err) {
        if (!(err instanceof Fail)) throw err;
        reply = failReply(err);
      }
      if ((header(call, 'x-csrf-token') ?? '').toLowerCase() === 'fetch') reply = security.csrfFetchAnswer(call, reply, rest === '');
      return { reply };
    }
    const forbidden = security.csrfCheck(call);
    if (forbidden) return { reply: forbidden };
    return write(call, m[1], rest);
  };

  return serve(core, {
    handle,
    resetData: () => {
      state = seedState(seed);
    },
    faultReply: (status) => odataError(status, upperSnake(status), `Injected fault ${status}`),
    keyOf: (call) => {
      const esc = isObj(call.json) && typeof call.json.ExternalSystemConfirmation === 'string' ? call.json.ExternalSystemConfirmation : '';
      return header(call, 'repeatability-request-id') ?? (esc || null);
    },
  }, options);
}
