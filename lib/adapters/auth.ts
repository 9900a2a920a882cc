/**
 * How an endpoint client authenticates. `apply` sets the request's headers (lower-case names);
 * `refresh` is called once after a 401 and says whether a retry can help: only a provider whose
 * credential can change (an OAuth token) returns true; static credentials return false, so a
 * wrong password is reported at once instead of being repeated into an account lockout.
 */
import type * as http from 'node:http';
import { classifyFailure } from '../delivery/failure-classifier';
import { AuthenticationError, parseTargetError } from './adapter-errors';
import { createAgent, httpRequest, type TlsOptions } from './http-transport';

export type RequestHeaders = Record<string, string>;

export interface AuthProvider {
  apply(headers: RequestHeaders): Promise<void>;
  /** After a 401: true if a retry may help (a new credential was obtained). */
  refresh(): Promise<boolean>;
  /** Frees sockets the provider holds (its token endpoint agent). */
  close?(): void;
}

export const noAuth: AuthProvider = Object.freeze({
  async apply(): Promise<void> {},
  async refresh(): Promise<boolean> {
    return false;
  },
});

/** RFC 7617 Basic with UTF-8 credentials. */
export function basicAuth(user: string, password: string): AuthProvider {
  return staticHeader('authorization', `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`);
}

/** A fixed key in a header of the target's choosing (x-api-key, apikey...). */
export function apiKeyAuth(header: string, value: string): AuthProvider {
  return staticHeader(header.toLowerCase(), value);
}

function staticHeader(name: string, value: string): AuthProvider {
  return {
    async apply(headers) {
      headers[name] = value;
    },
    async refresh() {
      return false;
    },
  };
}

export interface OAuth2ClientCredentialsOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
  /** A token is replaced this long before it expires (capped at half its lifetime). */
  refreshMarginMs?: number;
  /** Per token request. */
  timeoutMs?: number;
  tls?: TlsOptions;
  now?: () => number;
}

interface CachedToken {
  header: string;
  /** Epoch ms after which the token is replaced before use; Infinity when the server gave no lifetime. */
  refreshAt: number;
}

export const DEFAULT_REFRESH_MARGIN_MS = 30_000;
const DEFAULT_TOKEN_TIMEOUT_MS = 10_000;

export function oauth2ClientCredentials(options: OAuth2ClientCredentialsOptions): OAuth2ClientCredentials {
  return new OAuth2ClientCredentials(options);
}

/**
 * OAuth 2.0 client credentials grant (RFC 6749 4.4): client authenticated with HTTP Basic
 * (2.3.1, form-encoded id and secret), form body. The token is cached and shared: concurrent
 * callers wait for ONE token request (a burst of postings after a restart must not fetch a token
 * each, which some token endpoints throttle).
 */
export class OAuth2ClientCredentials implements AuthProvider {
  private token: CachedToken | undefined;
  private inflight: Promise<CachedToken> | undefined;
  private readonly now: () => number;
  private readonly agent: http.Agent | undefined;

  constructor(private readonly options: OAuth2ClientCredentialsOptions) {
    this.now = options.now ?? Date.now;
    // Token requests are rare: no keep-alive, just the TLS material — and only for an https token URL
    // (an https agent on an http URL is refused by Node).
    const secure = /^https:/i.test(options.tokenUrl);
    this.agent = options.tls && secure ? createAgent({ secure: true, keepAlive: false, tls: options.tls }) : undefined;
  }

  async apply(headers: RequestHeaders): Promise<void> {
    const token = this.token && this.now() < this.token.refreshAt ? this.token : await this.fetchShared();
    headers.authorization = token.header;
  }

  /** The target refused our token (revoked, or the clocks disagree): drop it and get a new one. */
  async refresh(): Promise<boolean> {
    if (!this.inflight) this.token = undefined;
    await this.fetchShared();
    return true;
  }

  close(): void {
    this.agent?.destroy();
  }

  private fetchShared(): Promise<CachedToken> {
    if (!this.inflight) {
      this.inflight = this.fetchToken().then(
        (token) => {
          this.token = token;
          this.inflight = undefined;
          return token;
        },
        (err: unknown) => {
          this.inflight = undefined;
          throw err;
        },
      );
    }
    return this.inflight;
  }

  private async fetchToken(): Promise<CachedToken> {
    const { tokenUrl, clientId, clientSecret, scope } = this.options;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope) form.set('scope', scope);
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
    const requestedAt = this.now();
    let res;
    try {
      res = await httpRequest({
        method: 'POST',
        url: tokenUrl,
        headers: { authorization: `Basic ${basic}`, accept: 'application/json' },
        body: form,
        timeoutMs: this.options.timeoutMs ?? DEFAULT_TOKEN_TIMEOUT_MS,
        agent: this.agent,
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new AuthenticationError(`could not reach the OAuth token endpoint ${tokenUrl} (${code ?? 'network error'}); check the URL and the network path from this Node-RED host`, {
        target: undefined, attempts: 0, retryable: classifyFailure(err).class === 'retryable', lastCode: code, cause: err,
      });
    }
    const body = res.body as Record<string, unknown> | undefined;
    const accessToken = typeof body === 'object' && body !== null ? body.access_token : undefined;
    if (res.status !== 200 || typeof accessToken !== 'string' || accessToken === '') {
      const detail = parseTargetError(res.body);
      const why = detail ? ` (${detail.code}${detail.message ? `: ${detail.message}` : ''})` : '';
      const hint = res.status === 400 || res.status === 401 ? 'check the client id, secret and scope in the endpoint configuration' : 'the token endpoint is not answering as an OAuth server should';
      throw new AuthenticationError(`OAuth token request to ${tokenUrl} failed with HTTP ${res.status}${why}; ${hint}`, {
        target: undefined, attempts: 0, status: res.status, body: res.body, targetError: detail,
        retryable: res.status === 200 ? false : classifyFailure({ status: res.status, headers: res.headers }).class === 'retryable',
      });
    }
    const lifetimeMs = Number(body?.expires_in) * 1000;
    const margin = Math.min(this.options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS, lifetimeMs / 2);
    // From the time we ASKED: the lifetime started at the server before the answer reached us.
    const refreshAt = Number.isFinite(lifetimeMs) && lifetimeMs > 0 ? requestedAt + lifetimeMs - margin : Infinity;
    return { header: `Bearer ${accessToken}`, refreshAt };
  }
}
