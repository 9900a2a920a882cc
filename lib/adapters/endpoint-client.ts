/**
 * The HTTP client of ONE target endpoint (an ERP, MES, WMS, QMS or EAM base URL): its keep-alive
 * agent, cookie jar, CSRF tokens, rate limit and circuit breaker, and the retry loop around them.
 *
 * An ATTEMPT is one try at the business request, the unit of the retry policy and the breaker.
 * Within one, a few exchanges do not count as attempts because nothing was processed: the repeat
 * after a 401 (with a refreshed token), after a 403 `x-csrf-token: Required` (with a new token)
 * and after a 412 (with a re-read ETag). Each happens at most once per send, so a target that
 * keeps answering them cannot loop us.
 *
 * Writes carry the target's repeatability key, identical on every attempt, and (SAP) the time of
 * the first attempt, which the caller keeps across redeliveries and replays (`firstSentAt`, the
 * idempotency claim's). That is what makes a retry safe after "committed, then the response was
 * lost" (timeout, reset): the target answers the repeat with the original document instead of
 * posting again.
 */
import type * as http from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { CircuitBreaker, CircuitOpenError, type CircuitBreakerOptions, type CircuitPermit, type CircuitSnapshot } from '../delivery/circuit-breaker';
import { classifyFailure, type FailureClassification } from '../delivery/failure-classifier';
import { TokenBucket } from '../delivery/rate-limiter';
import { decideRetry, retryPolicy, type RetryPolicy } from '../delivery/retry-policy';
import {
  AdapterError, AuthenticationError, parseTargetError, TargetCircuitOpenError, TargetRejectedError, TargetTimeoutError,
  TargetUnavailableError, type TargetRole,
} from './adapter-errors';
import { noAuth, type AuthProvider, type RequestHeaders } from './auth';
import { traceparent } from './correlation';
import { CookieJar } from './cookie-jar';
import { csrfTokenFrom, CsrfSessions, entitySetPath, isCsrfRequired, serviceRoot, type CsrfFetch } from './csrf';
import { createAgent, httpRequest, type HttpResponse, type TlsOptions } from './http-transport';

export type RepeatabilityMode = 'sap' | 'idempotency-key' | 'none';
export type RepeatHeader = 'Repeatability-Request-ID' | 'Idempotency-Key';

/** The repeatability a declared header stands for (SAP's comes with Repeatability-First-Sent and a 64-character limit). */
export function repeatabilityOf(header: RepeatHeader): RepeatabilityMode {
  return header === 'Repeatability-Request-ID' ? 'sap' : 'idempotency-key';
}

export interface EndpointClientOptions {
  baseUrl: string;
  role: TargetRole;
  auth?: AuthProvider;
  /** Per exchange, connect to last byte. */
  timeoutMs?: number;
  tls?: TlsOptions;
  maxSockets?: number;
  /** Requests per second to this target (every exchange counts); unlimited when absent. */
  ratePerSec?: number;
  /** Requests allowed at once before the rate applies; default ceil(ratePerSec). */
  burst?: number;
  retry?: Partial<RetryPolicy>;
  /** One breaker per client, i.e. per target; false: none. */
  breaker?: CircuitBreakerOptions | false;
  /** SAP Gateway: fetch and send x-csrf-token on writes. */
  csrf?: boolean;
  /**
   * 'sap': Repeatability-Request-ID + Repeatability-First-Sent; 'idempotency-key': Idempotency-Key,
   * each for writes that declare no `repeatHeader` (a declared one wins); 'none': no repeatability
   * header on any request (a target that takes none).
   */
  repeatability: RepeatabilityMode;
  /**
   * A retry delay beyond this (a long Retry-After) is not slept in-process: the send fails as
   * TARGET_UNAVAILABLE with `retryAfterMs` and the outbox schedules it instead.
   */
  maxInlineDelayMs?: number;
  now?: () => number;
  random?: () => number;
  /** Must let `now()` advance when a rate limit is set. */
  sleep?: (ms: number) => Promise<void>;
}

export type QueryValue = string | number | boolean | undefined;

export interface SendRequest {
  method: string;
  /** Appended to baseUrl; may carry its own query (SAP function imports: `ReleaseOrder?ManufacturingOrder='1'`). */
  path: string;
  query?: Record<string, QueryValue>;
  body?: unknown;
  headers?: Record<string, string>;
  /** The business idempotency key; a random one per send when absent (retries within the send stay safe). */
  repeatKey?: string;
  /** The header the operation declares for `repeatKey` (mapping profiles); the client's `repeatability` when absent, none when that is 'none'. */
  repeatHeader?: RepeatHeader;
  /** Generated when absent; every call carries one. */
  correlationId?: string;
  ifMatch?: string;
  /** GET this path first and send its ETag as If-Match (SAP actions); re-read once on 412. */
  etagFrom?: { path: string };
  /**
   * Epoch ms of the request's first attempt (the idempotency claim's first, kept across
   * redeliveries and replays), sent as Repeatability-First-Sent; the send's own start when absent.
   */
  firstSentAt?: number;
  /**
   * Writes: finds the document the request posts, without posting (a GET by its external key).
   * Called before an attempt whose predecessor's outcome is unknown (the request went out and no
   * answer came back), and before the first attempt when `outcomeUnknown` says an earlier send's
   * is; an answer found ends the send with `resolvedBy: 'lookup'`.
   */
  lookup?: () => Promise<Omit<SendResult, 'attempts'> | undefined>;
  /** An earlier send of this request may have posted (a redelivery, a claim taken over): look up first. */
  outcomeUnknown?: boolean;
}

export interface SendResult {
  status: number;
  headers: Record<string, string | string[]>;
  body: unknown;
  /** Attempts at the request itself (a lookup is none). */
  attempts: number;
  /** Set when the document was found by `lookup` instead of being posted (again). */
  resolvedBy?: 'lookup';
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_INLINE_DELAY_MS = 60_000;
/** SAP's limit for Repeatability-Request-ID. */
const MAX_SAP_REPEAT_ID = 64;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Why a ResponseFailure came from a CSRF exchange rather than the request itself. */
type FailureNote = 'csrf' | 'csrf-fetch';

/** A non-2xx answer, thrown inside an attempt; classifyFailure reads its status and Retry-After. */
class ResponseFailure extends Error {
  readonly status: number;
  readonly headers: HttpResponse['headers'];
  readonly body: unknown;

  constructor(res: HttpResponse, readonly method: string, readonly path: string, readonly note?: FailureNote) {
    super(`HTTP ${res.status} for ${method} ${path}`);
    this.status = res.status;
    this.headers = res.headers;
    this.body = res.body;
  }
}

/** The CSRF token fetch got answers, none carrying a token: nothing was sent, the target is up. */
class CsrfTokenMissing extends Error {
  constructor(readonly answers: Array<{ path: string; status: number }>) {
    super(`no x-csrf-token in the answers to ${answers.map((a) => `GET ${a.path} (HTTP ${a.status})`).join(', ')}`);
  }
}

interface SendContext {
  method: string;
  repeatability: RepeatabilityMode;
  correlationId: string;
  repeatKey: string;
  firstSent: string;
  etag: string | undefined;
  authRefreshed: boolean;
  csrfRenewed: boolean;
  etagReread: boolean;
}

export class EndpointClient {
  readonly role: TargetRole;
  private readonly base: string;
  private readonly agent: http.Agent;
  private readonly auth: AuthProvider;
  private readonly timeoutMs: number;
  private readonly policy: RetryPolicy;
  private readonly breaker: CircuitBreaker | undefined;
  private readonly bucket: TokenBucket | undefined;
  private readonly jar = new CookieJar();
  private readonly csrf: CsrfSessions | undefined;
  /** Per service root, the token fetch URL that last handed out a token: tried first next time. */
  private readonly csrfFrom = new Map<string, 'root' | 'entity-set'>();
  private readonly repeatability: RepeatabilityMode;
  private readonly maxInlineDelayMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly sleepFn: ((ms: number) => Promise<void>) | undefined;
  private readonly sleeps = new Set<{ timer: NodeJS.Timeout; reject: (err: Error) => void }>();
  private closed = false;

  constructor(options: EndpointClientOptions) {
    const url = new URL(options.baseUrl); // throws on a malformed base URL at deploy time, not at the first event
    this.base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    this.role = options.role;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.sleepFn = options.sleep;
    this.auth = options.auth ?? noAuth;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.policy = retryPolicy(options.retry);
    this.repeatability = options.repeatability;
    this.maxInlineDelayMs = options.maxInlineDelayMs ?? DEFAULT_MAX_INLINE_DELAY_MS;
    this.agent = createAgent({ secure: url.protocol === 'https:', keepAlive: true, maxSockets: options.maxSockets, tls: options.tls });
    this.breaker = options.breaker === false ? undefined : new CircuitBreaker({ now: this.now, ...options.breaker });
    if (options.ratePerSec !== undefined) {
      if (!(options.ratePerSec > 0)) throw new RangeError(`ratePerSec must be > 0, got ${options.ratePerSec}`);
      this.bucket = new TokenBucket(options.ratePerSec, options.burst ?? Math.max(1, Math.ceil(options.ratePerSec)), this.now);
    }
    this.csrf = options.csrf ? new CsrfSessions(() => this.jar.clear()) : undefined;
  }

  async send(req: SendRequest): Promise<SendResult> {
    const ctx = this.context(req);
    let unknown = req.outcomeUnknown === true;
    for (let attempt = 1; ; attempt++) {
      this.assertOpen(attempt - 1, req);
      if (unknown && req.lookup) {
        // Outside the attempt's breaker permit: the lookup is a send of its own.
        const found = await req.lookup();
        if (found) return { ...found, attempts: attempt - 1, resolvedBy: 'lookup' };
        unknown = false; // not there: it never posted, so posting now is the first posting
      }
      const permit = this.acquire(attempt - 1, req);
      try {
        const res = await this.attempt(req, ctx);
        permit?.success();
        return { status: res.status, headers: res.headers, body: res.body, attempts: attempt };
      } catch (err) {
        unknown ||= !SAFE_METHODS.has(ctx.method) && outcomeUnknown(err);
        const delayMs = this.afterFailure(err, attempt, req, ctx, permit);
        try {
          await this.wait(delayMs);
        } catch {
          throw this.closedError(attempt, req); // close() ended the wait
        }
      }
    }
  }

  /** For node status: closed / open / half-open and when trials resume. */
  breakerState(): CircuitSnapshot {
    return this.breaker?.snapshot() ?? { state: 'closed', consecutiveFailures: 0, openedAt: undefined, nextAttemptAt: undefined };
  }

  /** ms until an open breaker lets the next trial through (on the client's clock); undefined unless open. */
  nextTrialInMs(): number | undefined {
    return this.breaker?.state === 'open' ? this.breaker.retryAfterMs() : undefined;
  }

  /** Destroys the sockets and ends pending retry waits; later sends fail as TARGET_UNAVAILABLE. */
  close(): void {
    this.closed = true;
    this.agent.destroy();
    for (const s of this.sleeps) {
      clearTimeout(s.timer);
      s.reject(new Error('closed'));
    }
    this.sleeps.clear();
  }

  private context(req: SendRequest): SendContext {
    const repeatability = req.repeatHeader && this.repeatability !== 'none' ? repeatabilityOf(req.repeatHeader) : this.repeatability;
    let repeatKey = req.repeatKey ?? randomUUID();
    if (repeatability === 'sap' && repeatKey.length > MAX_SAP_REPEAT_ID) {
      repeatKey = createHash('sha256').update(repeatKey, 'utf8').digest('hex'); // 64 hex, stable per key
    }
    return {
      method: req.method.toUpperCase(),
      repeatability,
      correlationId: req.correlationId ?? randomUUID(),
      repeatKey,
      // IMF-fixdate, as RFC 7231 wants: the first attempt's time, the same on every retry of this send and, given by the caller, on every redelivery and replay
      firstSent: new Date(Number.isFinite(req.firstSentAt) ? req.firstSentAt as number : this.now()).toUTCString(),
      etag: undefined,
      authRefreshed: false,
      csrfRenewed: false,
      etagReread: false,
    };
  }

  /** One attempt: the request, plus the uncounted repeats for 401, CSRF and 412 (once per send). */
  private async attempt(req: SendRequest, ctx: SendContext): Promise<HttpResponse> {
    const write = !SAFE_METHODS.has(ctx.method);
    const root = this.csrf && write ? serviceRoot(req.path) : undefined;
    if (req.etagFrom && ctx.etag === undefined) ctx.etag = await this.readEtag(req.etagFrom.path, ctx);
    for (;;) {
      const headers = lowerCaseKeys(req.headers);
      if (write) Object.assign(headers, this.repeatabilityHeaders(ctx));
      const csrfToken = root === undefined ? undefined : await this.csrf?.token(root, this.csrfFetch(ctx, req.path));
      if (csrfToken !== undefined) headers['x-csrf-token'] = csrfToken;
      const ifMatch = ctx.etag ?? req.ifMatch;
      if (ifMatch !== undefined) headers['if-match'] = ifMatch;

      const res = await this.call(ctx, ctx.method, req.path, req.query, headers, req.body);
      if (res.status >= 200 && res.status < 300) return res;
      if (root !== undefined && csrfToken !== undefined && isCsrfRequired(res)) {
        if (ctx.csrfRenewed) throw new ResponseFailure(res, ctx.method, req.path, 'csrf');
        ctx.csrfRenewed = true;
        await this.csrf?.renew(root, csrfToken, this.csrfFetch(ctx, req.path));
        continue;
      }
      if (res.status === 412 && req.etagFrom && !ctx.etagReread) {
        ctx.etagReread = true; // someone changed the entity since we read it: read again, act on the new version
        ctx.etag = await this.readEtag(req.etagFrom.path, ctx);
        continue;
      }
      throw new ResponseFailure(res, ctx.method, req.path);
    }
  }

  private repeatabilityHeaders(ctx: SendContext): RequestHeaders {
    if (ctx.repeatability === 'sap') return { 'repeatability-request-id': ctx.repeatKey, 'repeatability-first-sent': ctx.firstSent };
    if (ctx.repeatability === 'idempotency-key') return { 'idempotency-key': ctx.repeatKey };
    return {};
  }

  private async readEtag(path: string, ctx: SendContext): Promise<string | undefined> {
    const res = await this.call(ctx, 'GET', path, undefined, {}, undefined);
    if (res.status < 200 || res.status >= 300) throw new ResponseFailure(res, 'GET', path);
    const header = res.headers.etag;
    if (typeof header === 'string' && header !== '') return header;
    const body = res.body as { d?: { __metadata?: { etag?: unknown } }; __metadata?: { etag?: unknown } } | undefined;
    const etag = body?.d?.__metadata?.etag ?? body?.__metadata?.etag;
    return typeof etag === 'string' ? etag : undefined;
  }

  /**
   * The token fetch: GET with `x-csrf-token: Fetch` on the service root, then on the entity set
   * the write goes to (the one that worked last time first). A token is taken from ANY answer that
   * carries one: gateways answer the fetch 404, 405 or 403 and still hand out the token and the
   * session cookie (the cookie jar keeps cookies of every answer), as SAP's Cloud SDK accepts.
   * Without a token: a 401 (the credentials') or a retryable status (5xx, 429...: the target's
   * state) ends the fetch at once; when every URL answered otherwise, CsrfTokenMissing
   * (retryable: nothing was sent).
   */
  private csrfFetch(ctx: SendContext, writePath: string): CsrfFetch {
    return async (root) => {
      const candidates: Array<['root' | 'entity-set', string]> = [['root', `${root}/`]];
      const entitySet = entitySetPath(root, writePath);
      if (entitySet !== undefined) candidates.push(['entity-set', entitySet]);
      if (this.csrfFrom.get(root) === 'entity-set') candidates.reverse();
      const answers: Array<{ path: string; res: HttpResponse }> = [];
      for (const [kind, path] of candidates) {
        const res = await this.call(ctx, 'GET', path, undefined, { 'x-csrf-token': 'Fetch' }, undefined);
        const token = csrfTokenFrom(res);
        if (token !== undefined) {
          this.csrfFrom.set(root, kind);
          return token;
        }
        const failure = new ResponseFailure(res, 'GET', path, 'csrf-fetch');
        // Refused credentials (another URL would only add a failed logon), or busy or down (5xx,
        // 429...: the target's state, not the URL's; retried, and counted by the breaker).
        if (res.status === 401 || classifyFailure(failure, this.now()).class === 'retryable') throw failure;
        answers.push({ path, res });
      }
      throw new CsrfTokenMissing(answers.map((a) => ({ path: a.path, status: a.res.status })));
    };
  }

  /** An exchange, repeated once with a refreshed credential after the first 401 of the send. */
  private async call(ctx: SendContext, method: string, path: string, query: SendRequest['query'], headers: RequestHeaders, body: unknown): Promise<HttpResponse> {
    for (;;) {
      const res = await this.exchange(ctx, method, path, query, headers, body);
      if (res.status !== 401 || ctx.authRefreshed) return res;
      ctx.authRefreshed = true;
      if (!(await this.auth.refresh())) return res;
    }
  }

  private async exchange(ctx: SendContext, method: string, path: string, query: SendRequest['query'], extra: RequestHeaders, body: unknown): Promise<HttpResponse> {
    await this.throttle(); // before the credential: a long wait must not send a token that expired meanwhile
    if (this.closed) throw new Error('closed'); // afterFailure reports it
    const headers: RequestHeaders = { accept: 'application/json', ...extra };
    headers['x-correlation-id'] = ctx.correlationId;
    headers.traceparent = traceparent(ctx.correlationId); // a new span per exchange, one trace per event
    const cookie = this.jar.header();
    if (cookie !== undefined) headers.cookie = cookie;
    await this.auth.apply(headers);
    const res = await httpRequest({ method, url: this.url(path, query), headers, body, timeoutMs: this.timeoutMs, agent: this.agent });
    this.jar.store(res.headers['set-cookie'], this.now());
    return res;
  }

  /** Ends the attempt: throws the final error, or returns how long to wait before the next attempt. */
  private afterFailure(err: unknown, attempt: number, req: SendRequest, ctx: SendContext, permit: CircuitPermit | undefined): number {
    if (this.closed) {
      permit?.release();
      throw this.closedError(attempt, req);
    }
    if (err instanceof CsrfTokenMissing) {
      permit?.release(); // the target answered; its gateway just gave no token
      throw this.noCsrfToken(err, attempt, ctx, req);
    }
    const failure = classifyFailure(err, this.now());
    if (err instanceof ResponseFailure) {
      if (failure.class === 'permanent') {
        permit?.success(); // the target is up and answering
        throw this.rejection(err, attempt, ctx);
      }
    } else if (err instanceof AdapterError) {
      permit?.release(); // the token endpoint or our own shutdown, not the target
      throw err.target === undefined ? this.retarget(err, attempt) : err;
    } else if (failure.class === 'permanent') {
      permit?.release(); // a bug on our side (TypeError...): says nothing about the target
      throw err;
    }
    permit?.failure();
    const decision = decideRetry(attempt, this.policy, failure, this.random);
    if (decision.retry && decision.delayMs <= this.maxInlineDelayMs) return decision.delayMs;
    throw this.exhausted(err, attempt, req, ctx, failure, decision.retry ? decision.delayMs : undefined);
  }

  /** No token from the fetch: retryable (nothing was posted), and it says so; never "correct the event". */
  private noCsrfToken(err: CsrfTokenMissing, attempt: number, ctx: SendContext, req: SendRequest): AdapterError {
    const answers = err.answers.map((a) => `GET ${a.path} answered HTTP ${a.status}`).join(', ');
    return new TargetUnavailableError(
      `${this.role} handed out no CSRF token for ${ctx.method} ${req.path}: the token fetch (x-csrf-token: Fetch) found no x-csrf-token header (${answers}). ` +
        `Nothing was posted; the event can be retried later. Check that the OData service is active on the gateway and that no proxy strips the x-csrf-token header, ` +
        `and that this endpoint really is SAP Gateway (its profile asks for CSRF tokens).`,
      { target: this.role, attempts: attempt, method: ctx.method, path: req.path },
    );
  }

  private rejection(err: ResponseFailure, attempt: number, ctx: SendContext): AdapterError {
    const detail = parseTargetError(err.body);
    const why = detail ? `: ${[detail.code, detail.message].filter(Boolean).join(' ')}` : '';
    const what = `${err.note === 'csrf-fetch' ? 'the CSRF token fetch ' : ''}${err.method} ${err.path}`;
    const init = { target: this.role, attempts: attempt, status: err.status, method: err.method, path: err.path, body: err.body, targetError: detail };
    if (err.status === 401) {
      const refreshed = ctx.authRefreshed ? ' even after a credential refresh' : '';
      return new AuthenticationError(`${this.role} refused the credentials for ${what} (HTTP 401${refreshed})${why}. Check the user and password or the OAuth client in the ${this.role} endpoint configuration; repeated failed logons can lock the service user.`, { ...init, retryable: false });
    }
    if (err.status === 403 && err.note === 'csrf') {
      return new AuthenticationError(`${this.role} rejected the CSRF token for ${what} twice (HTTP 403, x-csrf-token: Required). Check that no proxy strips the session cookie or the x-csrf-token header.`, { ...init, retryable: false });
    }
    if (err.status === 403) {
      return new AuthenticationError(`${this.role} forbids ${what} (HTTP 403)${why}. The service user lacks an authorization for this service: ask the ${this.role} administrators to check its roles.`, { ...init, retryable: false });
    }
    return new TargetRejectedError(`${this.role} rejected ${what} with HTTP ${err.status}${why}. Repeating it will not help: correct the event or the ${this.role} data, then replay it from the dead-letter store.`, init);
  }

  private exhausted(err: unknown, attempt: number, req: SendRequest, ctx: SendContext, failure: FailureClassification, tooLongMs?: number): AdapterError {
    const response = err instanceof ResponseFailure ? err : undefined;
    const code = (err as { code?: unknown } | undefined)?.code;
    const lastCode = typeof code === 'string' ? code : undefined;
    const what = `${ctx.method} ${req.path}${response?.note === 'csrf-fetch' ? ` (its CSRF token fetch GET ${response.path})` : ''}`;
    const init = {
      target: this.role, attempts: attempt, method: ctx.method, path: req.path, lastCode, cause: err,
      status: response?.status, body: response?.body, targetError: response ? parseTargetError(response.body) : undefined,
      retryAfterMs: tooLongMs ?? failure.retryAfterMs,
    };
    const tries = `${attempt} attempt${attempt === 1 ? '' : 's'}`;
    if (lastCode === 'ETIMEDOUT') {
      const risk = SAFE_METHODS.has(ctx.method) ? 'Check its load and the network path.'
        : ctx.repeatability === 'none' ? 'It may have processed the request: check in the target before replaying the event.'
          : 'It may have processed the request; a replay with the same key will not post twice.';
      return new TargetTimeoutError(`${this.role} did not answer ${what} within ${this.timeoutMs} ms (${tries}). ${risk}`, init);
    }
    const tls = lastCode && /CERT|TLS|SSL|VERIFY|SIGNATURE/i.test(lastCode) ? ' This is a TLS certificate problem: check the CA and host name in the endpoint\'s TLS settings.' : '';
    const later = tooLongMs !== undefined ? `; it asked to come back in ${Math.ceil(tooLongMs / 1000)} s` : '';
    return new TargetUnavailableError(`${this.role} is unavailable for ${what}: ${failure.reason} after ${tries}${later}.${tls} Check that ${this.base} is running and reachable from this Node-RED host; the event can be retried later.`, init);
  }

  /** An auth provider's error (no target yet): stamp this client's role and the attempt. */
  private retarget(err: AdapterError, attempt: number): AdapterError {
    const { status, method, path, body, targetError, lastCode, retryAfterMs, retryable } = err;
    return new AuthenticationError(`${this.role}: ${err.message}`, {
      target: this.role, attempts: attempt, retryable, status, method, path, body, targetError, lastCode, retryAfterMs, cause: err,
    });
  }

  private acquire(attempts: number, req: SendRequest): CircuitPermit | undefined {
    if (!this.breaker) return undefined;
    const permit = this.breaker.tryAcquire();
    if (permit) return permit;
    const waitMs = this.breaker.retryAfterMs();
    const method = req.method.toUpperCase();
    throw new TargetCircuitOpenError(
      `${this.role} circuit breaker is open after repeated failures: requests to ${this.base} are paused${waitMs > 0 ? ` for ${Math.ceil(waitMs / 1000)} s` : ' while a trial request runs'}; events are kept for retry. Check the ${this.role} system's health.`,
      { target: this.role, attempts, method, path: req.path, cause: new CircuitOpenError(waitMs, this.role) },
    );
  }

  private async throttle(): Promise<void> {
    if (!this.bucket) return;
    for (let waitMs = this.bucket.take(); waitMs > 0; waitMs = this.bucket.take()) await this.wait(waitMs);
  }

  private async wait(ms: number): Promise<void> {
    if (ms <= 0) return;
    if (this.sleepFn) return this.sleepFn(ms);
    await new Promise<void>((resolve, reject) => {
      const entry = {
        timer: setTimeout(() => {
          this.sleeps.delete(entry);
          resolve();
        }, ms),
        reject,
      };
      this.sleeps.add(entry);
    });
  }

  private assertOpen(attempts: number, req?: SendRequest): void {
    if (this.closed) throw this.closedError(attempts, req);
  }

  private closedError(attempts: number, req?: SendRequest): AdapterError {
    return new TargetUnavailableError(`${this.role} endpoint client is closed (the flow was redeployed or Node-RED is stopping); the event can be retried later.`, {
      target: this.role, attempts, method: req?.method.toUpperCase(), path: req?.path,
    });
  }

  private url(path: string, query: SendRequest['query']): string {
    const p = path.startsWith('/') ? path : `/${path}`;
    const q = encodeQuery(query);
    return q === '' ? this.base + p : `${this.base}${p}${p.includes('?') ? '&' : '?'}${q}`;
  }
}

/** Socket codes that mean the request never reached the target: nothing can have been posted. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN']);

/**
 * Whether a failed exchange may have been processed: a transport failure after the request may have
 * gone out (reset, timeout, broken pipe) or a gateway timeout (504). Refused connections, a CSRF or
 * auth failure and every other answer are known outcomes.
 */
function outcomeUnknown(err: unknown): boolean {
  if (err instanceof ResponseFailure) return err.status === 504;
  if (err instanceof AdapterError || !(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && !NOT_SENT.has(code);
}

/** %20 for spaces (OData `$filter=Material eq 'X'`; `+` is not a space to every server), `$` kept in names. */
function encodeQuery(query: SendRequest['query']): string {
  if (!query) return '';
  return Object.entries(query)
    .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
    .map(([name, value]) => `${encodeURIComponent(name).replace(/%24/g, '$')}=${encodeURIComponent(String(value))}`)
    .join('&');
}

function lowerCaseKeys(headers: Record<string, string> | undefined): RequestHeaders {
  const out: RequestHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value;
  return out;
}
