import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One received request with its body already read (and parsed when it is JSON). */
export interface Call {
  method: string;
  /** Path and query exactly as received: what fault `match` and the ledger see. */
  rawUrl: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  /** Parsed JSON body; undefined when the body is empty, not JSON, or form-encoded. */
  json: unknown;
  jsonError?: string;
  res: http.ServerResponse;
}

export interface Reply {
  status: number;
  headers?: Record<string, string | string[]>;
  /** Serialised as JSON; undefined sends an empty body. */
  body?: unknown;
}

export interface HttpHost {
  url: string;
  port: number;
  /** Waits ms; resolves false when the server closed meanwhile, so the caller stops. */
  sleep(ms: number): Promise<boolean>;
  /** Never answers: the socket is destroyed after holdMs or when the server closes. */
  hold(res: http.ServerResponse): void;
  close(): Promise<void>;
}

export interface HttpOptions {
  host?: string;
  port?: number;
  maxBodyBytes?: number;
  holdMs?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const HOLD_MS = 30_000;

export function header(call: Call, name: string): string | undefined {
  const v = call.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function send(res: http.ServerResponse, reply: Reply): void {
  if (res.destroyed || res.headersSent) return; // the client gave up, or a fault already answered
  const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
  const headers: Record<string, string | string[] | number> = { ...reply.headers, 'content-length': Buffer.byteLength(text) };
  if (text !== '') headers['content-type'] = 'application/json; charset=utf-8';
  res.writeHead(reply.status, headers);
  res.end(text);
}

/** Starts a loopback HTTP server that reads bodies up to a limit and hands complete calls to `handle`. */
export async function listen(handle: (call: Call) => Promise<void>, options: HttpOptions = {}): Promise<HttpHost> {
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const holdMs = options.holdMs ?? HOLD_MS;
  const timers = new Set<NodeJS.Timeout>();
  const wakers = new Set<() => void>();
  const held = new Set<Socket>();
  let closed = false;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > maxBody) {
        tooLarge = true;
        // Answer at once and drop the connection rather than read an oversized upload.
        send(res, { status: 413, headers: { connection: 'close' }, body: { error: 'payload_too_large', message: `body exceeds ${maxBody} bytes` } });
        res.on('finish', () => req.destroy());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) return;
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const call: Call = {
        method: (req.method ?? 'GET').toUpperCase(),
        rawUrl: req.url ?? '/',
        url: new URL(req.url ?? '/', 'http://127.0.0.1'),
        headers: req.headers,
        rawBody,
        json: undefined,
        res,
      };
      const form = String(req.headers['content-type'] ?? '').includes('x-www-form-urlencoded');
      if (rawBody.trim() !== '' && !form) {
        try {
          call.json = JSON.parse(rawBody);
        } catch (err) {
          call.jsonError = (err as Error).message;
        }
      }
      handle(call).catch((err: unknown) => {
        send(res, { status: 500, body: { error: 'internal_error', message: String(err) } });
      });
    });
    req.on('error', () => res.destroy());
  });

  const sleep = (ms: number) => new Promise<boolean>((resolve) => {
    if (closed) return resolve(false);
    const wake = () => {
      clearTimeout(timer);
      timers.delete(timer);
      wakers.delete(wake);
      resolve(!closed);
    };
    const timer = setTimeout(wake, ms);
    timers.add(timer);
    wakers.add(wake);
  });

  const hold = (res: http.ServerResponse) => {
    const socket = res.socket;
    if (!socket) return;
    held.add(socket);
    socket.once('close', () => held.delete(socket));
    void sleep(holdMs).then(() => socket.destroy());
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const close = async () => {
    if (closed) return;
    closed = true;
    for (const wake of [...wakers]) wake(); // pending delays resolve false and their handlers stop
    for (const socket of held) socket.destroy();
    const done = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections(); // keep-alive sockets would otherwise delay close
    await done;
  };

  return { url: `http://127.0.0.1:${port}`, port, sleep, hold, close };
}
