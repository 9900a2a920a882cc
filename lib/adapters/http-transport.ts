/**
 * One HTTP exchange on node:http / node:https. Not fetch: adapters need a keep-alive Agent per
 * endpoint (one TLS handshake, not one per posting) and per-endpoint TLS material (plant CAs,
 * client certificates), which undici only offers through its own dispatcher API.
 *
 * Failures keep a machine-readable `code` so classifyFailure can decide: the request timeout is
 * ETIMEDOUT (retryable), a server that destroys the socket gives ECONNRESET ("socket hang up"),
 * and a response cut short gives ECONNRESET too. Any status is a response, not an error: what a
 * status means is the caller's business.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { TransportError } from '../transport/transport-error';

export interface TlsOptions {
  /** Trusted CA certificates (PEM), e.g. the plant's own CA; replaces Node's default bundle. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate and key (PEM) for mutual TLS. */
  cert?: string | Buffer | Array<string | Buffer>;
  key?: string | Buffer | Array<string | Buffer>;
  passphrase?: string;
  /** Defaults to true; false only for a lab system with a self-signed certificate. */
  rejectUnauthorized?: boolean;
  /** SNI / certificate host name when it differs from the URL host (access by IP address). */
  servername?: string;
}

export interface AgentOptions {
  /** https.Agent when true; defaults to true when `tls` is given. */
  secure?: boolean;
  keepAlive?: boolean;
  /** Concurrent sockets per host: the endpoint's parallelism. */
  maxSockets?: number;
  /**
   * Idle keep-alive sockets are closed after this long. Below the usual server keep-alive timeout
   * (Node 5 s, SAP ICM and proxies longer), so we close first and never reuse a socket the
   * server is closing at that moment (which would surface as ECONNRESET on a fresh request).
   */
  idleTimeoutMs?: number;
  tls?: TlsOptions;
}

export const DEFAULT_MAX_SOCKETS = 10;
export const DEFAULT_IDLE_TIMEOUT_MS = 4_000;

export function createAgent(options: AgentOptions = {}): http.Agent {
  const common = {
    keepAlive: options.keepAlive ?? true,
    maxSockets: options.maxSockets ?? DEFAULT_MAX_SOCKETS,
    // The agent's socket timeout only destroys FREE sockets; active requests have their own timer.
    timeout: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    scheduling: 'lifo' as const, // reuse the warmest socket; spare ones age out
  };
  if (!(options.secure ?? options.tls !== undefined)) return new http.Agent(common);
  const tls = options.tls ?? {};
  return new https.Agent({ ...common, ...tls, rejectUnauthorized: tls.rejectUnauthorized ?? true });
}

export type OutgoingHeaders = Record<string, string | number | string[] | undefined>;

export interface HttpRequestOptions {
  method: string;
  url: string | URL;
  headers?: OutgoingHeaders;
  /** Object -> JSON; string and Buffer as they are; URLSearchParams as a form. */
  body?: unknown;
  /** Whole exchange, connect to last byte; 0 or undefined: none (avoid: a hung peer holds a socket forever). */
  timeoutMs?: number;
  agent?: http.Agent;
}

export interface HttpResponse {
  status: number;
  /** Lower-case names, as Node delivers them; set-cookie is an array. */
  headers: Record<string, string | string[]>;
  /** Parsed JSON when the content type is JSON and the text parses; else the text (undefined when empty JSON). */
  body: unknown;
  rawBody?: Buffer;
}

/** HTTP exchanges fail with the transports' one TransportError (code: Node's socket code, or ETIMEDOUT). */
export { TransportError };

export function httpRequest(options: HttpRequestOptions): Promise<HttpResponse> {
  const url = typeof options.url === 'string' ? new URL(options.url) : options.url;
  const client = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
  if (!client) return Promise.reject(new TypeError(`unsupported URL protocol ${url.protocol} in ${url.origin}`));
  const method = options.method.toUpperCase();
  const where = `${url.origin}${url.pathname}`; // no query: it may carry business data into logs
  const headers = lowerCaseKeys(options.headers ?? {});
  const payload = encodeBody(options.body);
  if (payload) {
    headers['content-type'] ??= payload.contentType;
    headers['content-length'] = String(payload.bytes.length);
  }

  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (err: Error | undefined, res?: HttpResponse) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (err) reject(err);
      else resolve(res as HttpResponse);
    };
    const fail = (err: unknown) => settle(asTransportError(err, method, where));

    const req = client.request(url, { method, headers, agent: options.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => settle(undefined, toResponse(res, Buffer.concat(chunks))));
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(new TransportError('ECONNRESET', `${method} ${where}: connection closed before the response was complete`, { method, url: where }));
      });
    });
    req.on('error', fail);
    if (options.timeoutMs !== undefined && options.timeoutMs > 0) {
      timer = setTimeout(() => {
        const err = new TransportError('ETIMEDOUT', `${method} ${where}: no complete response within ${options.timeoutMs} ms`, { method, url: where });
        settle(err);
        req.destroy(err); // frees the socket; the agent will not reuse it
      }, options.timeoutMs);
    }
    req.end(payload?.bytes);
  });
}

function encodeBody(body: unknown): { bytes: Buffer; contentType: string } | undefined {
  if (body === undefined || body === null) return undefined;
  if (Buffer.isBuffer(body)) return { bytes: body, contentType: 'application/octet-stream' };
  if (typeof body === 'string') return { bytes: Buffer.from(body, 'utf8'), contentType: 'text/plain; charset=utf-8' };
  if (body instanceof URLSearchParams) return { bytes: Buffer.from(body.toString(), 'utf8'), contentType: 'application/x-www-form-urlencoded' };
  return { bytes: Buffer.from(JSON.stringify(body), 'utf8'), contentType: 'application/json' };
}

function toResponse(res: http.IncomingMessage, raw: Buffer): HttpResponse {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) headers[name] = value;
  return { status: res.statusCode ?? 0, headers, body: decodeBody(headers['content-type'], raw), rawBody: raw };
}

const JSON_MEDIA_TYPE = /^[^;]*\bjson\b/i; // application/json, application/problem+json...

function decodeBody(contentType: string | string[] | undefined, raw: Buffer): unknown {
  const text = raw.toString('utf8');
  const type = Array.isArray(contentType) ? contentType[0] : contentType;
  if (!type || !JSON_MEDIA_TYPE.test(type)) return text;
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text; // a proxy's error page labelled JSON: the status still tells the story
  }
}

function lowerCaseKeys(headers: OutgoingHeaders): Record<string, string | number | string[]> {
  const out: Record<string, string | number | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name.toLowerCase()] = value;
  return out;
}

function asTransportError(err: unknown, method: string, where: string): TransportError {
  if (err instanceof TransportError) return err;
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : 'ERR_NETWORK';
  const text = typeof e?.message === 'string' ? e.message : String(err);
  return new TransportError(code, `${method} ${where}: ${text} (${code})`, { method, url: where }, { cause: err });
}
