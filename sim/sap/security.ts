import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { SimConfig } from '../common/core';
import { type Call, header, type Reply } from '../common/http';
import { odataError } from './odata';

/** Gateway security: OAuth2 client credentials or Basic on the services, and session-bound CSRF tokens. */

export interface SapAuthOptions {
  basic?: { user: string; password: string };
  oauth?: { clientId: string; clientSecret: string; tokenTtlSec?: number };
}

export const SESSION_COOKIE = 'SAP_SESSIONID_PS1_100';
const BASIC_REALM = 'Basic realm="SAP NetWeaver Application Server [PS1/100]"';

function basicCredentials(call: Call): [string, string] | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header(call, 'authorization') ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? undefined : [text.slice(0, i), text.slice(i + 1)];
}

function cookie(call: Call, name: string): string | undefined {
  for (const part of (header(call, 'cookie') ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function secret(): string {
  return randomBytes(18).toString('base64url');
}

export class SapSecurity {
  private readonly tokens = new Map<string, number>();
  private readonly sessions = new Map<string, { csrf: string; issuedAt: number }>();

  /** `now` is the clock token and CSRF lifetimes are measured on (tests pass a fake one). */
  constructor(
    private readonly auth: SapAuthOptions | 'none',
    private readonly config: SimConfig,
    private readonly now: () => number = Date.now,
  ) {}

  /** POST /sap/bc/sec/oauth2/token. With auth 'none' any client gets a (never checked) token. */
  token(call: Call): Reply {
    if (call.method !== 'POST') return { status: 405, headers: { allow: 'POST' }, body: { error: 'invalid_request' } };
    const oauth = this.auth === 'none' ? undefined : this.auth.oauth;
    if (this.auth !== 'none') {
      const creds = basicCredentials(call);
      if (!oauth || !creds || creds[0] !== oauth.clientId || creds[1] !== oauth.clientSecret) {
        return { status: 401, headers: { 'www-authenticate': 'Basic realm="oauth"' }, body: { error: 'invalid_client' } };
      }
    }
    const grant = new URLSearchParams(call.rawBody).get('grant_type');
    if (grant === null) return { status: 400, body: { error: 'invalid_request', error_description: 'grant_type is required' } };
    if (grant !== 'client_credentials') return { status: 400, body: { error: 'unsupported_grant_type' } };
    const accessToken = secret();
    const ttl = this.config.tokenTtlSec;
    this.tokens.set(accessToken, this.now() + ttl * 1000);
    return { status: 200, headers: { 'cache-control': 'no-store' }, body: { access_token: accessToken, token_type: 'Bearer', expires_in: ttl } };
  }

  /** undefined when the call may proceed, else the 401 to send. */
  authenticate(call: Call): Reply | undefined {
    if (this.auth === 'none') return undefined;
    const authorization = header(call, 'authorization') ?? '';
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (bearer && this.auth.oauth) {
      const expiresAt = this.tokens.get(bearer[1]);
      if (expiresAt !== undefined && this.now() < expiresAt) return undefined;
      return odataError(401, 'UNAUTHORIZED', 'Access token is invalid or expired', { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    const creds = basicCredentials(call);
    const basic = this.auth.basic;
    if (creds && basic && creds[0] === basic.user && creds[1] === basic.password) return undefined;
    const challenges = [...(this.auth.oauth ? ['Bearer realm="SAP"'] : []), ...(basic ? [BASIC_REALM] : [])];
    return odataError(401, 'UNAUTHORIZED', 'Logon failed', { 'www-authenticate': challenges });
  }

  /** Answer to "x-csrf-token: Fetch": the session's token, new if missing or expired. */
  csrfFetch(call: Call): Record<string, string> {
    let id = cookie(call, SESSION_COOKIE);
    let session = id === undefined ? undefined : this.sessions.get(id);
    if (!session || id === undefined) {
      id = secret();
      session = { csrf: secret(), issuedAt: this.now() };
      this.sessions.set(id, session);
    } else if (this.expired(session.issuedAt)) {
      session.csrf = secret();
      session.issuedAt = this.now();
    }
    return { 'x-csrf-token': session.csrf, 'set-cookie': `${SESSION_COOKIE}=${id}; path=/; HttpOnly` };
  }

  /**
   * A read with "x-csrf-token: Fetch", as the configured gateway answers it (config csrfTokenOn,
   * csrfFetchStatus): by default any authenticated read hands out the session's token, and the
   * answer is an error (404) that still carries the token and the session cookie, as real gateways
   * answer a fetch on a URL they do not serve to a GET.
   */
  csrfFetchAnswer(call: Call, reply: Reply, serviceRoot: boolean): Reply {
    const { csrfTokenOn: on, csrfFetchStatus: status } = this.config;
    const code = (STATUS_CODES[status] ?? 'ERROR').toUpperCase().replace(/[^A-Z0-9]+/g, '_');
    const answer = status ? odataError(status, code, `Token fetch answered with HTTP ${status} by the gateway`) : reply;
    const hands = on === 'any' || (on === 'service-root' && serviceRoot) || (on === 'entity-set' && !serviceRoot);
    return hands ? { ...answer, headers: { ...answer.headers, ...this.csrfFetch(call) } } : answer;
  }

  /** Writes need the token of the session cookie they carry. */
  csrfCheck(call: Call): Reply | undefined {
    const id = cookie(call, SESSION_COOKIE);
    const session = id === undefined ? undefined : this.sessions.get(id);
    const sent = header(call, 'x-csrf-token');
    if (session && sent === session.csrf && !this.expired(session.issuedAt)) return undefined;
    return odataError(403, 'FORBIDDEN', 'CSRF token validation failed', { 'x-csrf-token': 'Required' });
  }

  private expired(issuedAt: number): boolean {
    return this.now() - issuedAt >= this.config.csrfTtlMs;
  }
}
