/**
 * SAP Gateway CSRF protection: every modifying request carries the x-csrf-token that a GET with
 * `x-csrf-token: Fetch` returned, together with the session cookie it was issued for (the
 * endpoint's CookieJar, which the client sends on every request). The fetch asks the service
 * root, then the entity set of the write, and takes the token from any answer that carries one,
 * whatever its status: gateways answer the fetch 404, 405 or 403 and still hand out a token and
 * the session cookie. Tokens are kept per service
 * root and fetched once per root however many writes wait for one; a write answered 403 with
 * `x-csrf-token: Required` (token expired or session lost) gets a fresh token and is repeated
 * once by the client. Nothing was posted on such a 403, so the repeat is not a retry.
 */
import type { HttpResponse } from './http-transport';

/** GET `<root>/` (then the entity set) with `x-csrf-token: Fetch` through the client (auth, cookies); resolves to the token. */
export type CsrfFetch = (root: string) => Promise<string>;

export class CsrfSessions {
  private readonly tokens = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<string>>();

  /** @param resetSession forgets the session cookies, for a server that keeps handing out a token it then rejects. */
  constructor(private readonly resetSession: () => void = () => {}) {}

  /**
   * The cached token of `root`, or a freshly fetched one. `fetch` is the caller's (it carries the
   * caller's correlation id); when several wait for one root, the first caller's fetch serves all.
   */
  token(root: string, fetch: CsrfFetch): Promise<string> {
    const cached = this.tokens.get(root);
    return cached !== undefined ? Promise.resolve(cached) : this.fetchCsrf(root, fetch);
  }

  /**
   * Fetches a new token for `root` (concurrent callers share one request). With `rejected`, the
   * token the server just refused: if it hands out the same one again, the session itself is
   * stale, so the cookies are dropped and a new session is started.
   */
  fetchCsrf(root: string, fetch: CsrfFetch, rejected?: string): Promise<string> {
    let pending = this.inflight.get(root);
    if (!pending) {
      pending = (async () => {
        try {
          let token = await fetch(root);
          if (rejected !== undefined && token === rejected) {
            this.resetSession();
            token = await fetch(root);
          }
          this.tokens.set(root, token);
          return token;
        } finally {
          this.inflight.delete(root);
        }
      })();
      this.inflight.set(root, pending);
    }
    return pending;
  }

  /** After a 403 Required: a new token, unless another write already replaced the rejected one. */
  renew(root: string, rejected: string, fetch: CsrfFetch): Promise<string> {
    const current = this.tokens.get(root);
    if (current !== undefined && current !== rejected) return Promise.resolve(current);
    this.tokens.delete(root);
    return this.fetchCsrf(root, fetch, rejected);
  }

  clear(): void {
    this.tokens.clear();
  }
}

/** A 403 that only asks for a (new) CSRF token, as opposed to a missing authorization. */
export function isCsrfRequired(res: Pick<HttpResponse, 'status' | 'headers'>): boolean {
  if (res.status !== 403) return false;
  const value = res.headers['x-csrf-token'];
  return (Array.isArray(value) ? value[0] : value)?.trim().toLowerCase() === 'required';
}

export function csrfTokenFrom(res: Pick<HttpResponse, 'headers'>): string | undefined {
  const value = res.headers['x-csrf-token'];
  const token = (Array.isArray(value) ? value[0] : value)?.trim();
  return token && token.toLowerCase() !== 'required' ? token : undefined;
}

const ODATA_SERVICE = /^(\/sap\/opu\/odata4?\/[^/]+\/[^/?(]+)/i;

/**
 * The service root a request path belongs to: `/sap/opu/odata/<namespace>/<SERVICE>` for SAP
 * Gateway paths, else the path without its last segment (and query).
 */
export function serviceRoot(path: string): string {
  const clean = path.split('?')[0];
  const m = ODATA_SERVICE.exec(clean);
  if (m) return m[1];
  const slash = clean.replace(/\/+$/, '').lastIndexOf('/');
  return slash > 0 ? clean.slice(0, slash) : '';
}

/**
 * The entity set (or function import) a write path addresses below its service root, without key,
 * navigation and query: `<root>/A_MaterialDocumentHeader`, `<root>/ReleaseOrder`. Undefined when
 * the path is the root itself.
 */
export function entitySetPath(root: string, path: string): string | undefined {
  const clean = path.split('?')[0];
  if (!clean.startsWith(root)) return undefined;
  const set = clean.slice(root.length).replace(/^\/+/, '').split('/')[0].replace(/\(.*$/, '');
  return set === '' ? undefined : `${root}/${set}`;
}
