import { control } from './control';
import type { SimCore } from './core';
import { type Call, listen, type Reply, send } from './http';
import { ledgerBody, ledgerHeaders } from './write-flow';

/** What a system plugs into the shared request pipeline. */
export interface SystemHooks {
  /** Business handling; synchronous once the body is read, so a repeat is decided atomically. */
  handle(call: Call): { reply: Reply; seq?: number };
  /** Restores seed data (the ledger, faults and caches are cleared by the core). */
  resetData(): void;
  /** The system's error body for an injected fault status. */
  faultReply(status: number): Reply;
  /** The key a ledger entry of this request shows, for fault entries. */
  keyOf(call: Call): string | null;
}

export interface RunningSimulator {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface ListenOptions {
  port?: number;
  host?: '127.0.0.1';
}

/**
 * Serves one simulator: /__sim control routes first, then the fault plan (which acts before any
 * authentication, as a gateway or network would), then the system's business handler.
 */
export async function serve(core: SimCore, hooks: SystemHooks, options: ListenOptions = {}): Promise<RunningSimulator> {
  const host = await listen(async (call) => {
    if (call.url.pathname === '/__sim' || call.url.pathname.startsWith('/__sim/')) {
      send(call.res, control(core, call, hooks.resetData));
      return;
    }
    const fault = core.faults.next(call.rawUrl, call.method);
    if (fault.delayMs > 0 && !(await host.sleep(fault.delayMs))) return;
    const base = { method: call.method, path: call.rawUrl, key: hooks.keyOf(call), body: ledgerBody(call), headers: ledgerHeaders(call) };
    if (fault.status !== undefined) {
      const reply = hooks.faultReply(fault.status);
      if (fault.body !== undefined) reply.body = fault.body;
      if (fault.retryAfterSec !== undefined) reply.headers = { ...reply.headers, 'retry-after': String(fault.retryAfterSec) };
      core.ledger.record({ ...base, status: reply.status, response: reply.body, fault: fault.label }, false);
      send(call.res, reply);
      return;
    }
    if (fault.timeout) {
      core.ledger.record({ ...base, status: null, response: null, fault: 'timeout' }, false);
      host.hold(call.res);
      return;
    }
    const { reply, seq } = hooks.handle(call);
    if (fault.dropAfterCommit) {
      // The work is done and recorded; the client only sees its connection die.
      if (seq !== undefined) core.ledger.markFault(seq, 'dropAfterCommit');
      else core.ledger.record({ ...base, status: reply.status, response: reply.body, fault: 'dropAfterCommit' }, false);
      call.res.socket?.destroy();
      return;
    }
    send(call.res, reply);
  }, { host: options.host, port: options.port });
  return { url: host.url, port: host.port, close: host.close };
}
