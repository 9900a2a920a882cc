import type { NodeAPI, NodeStatus } from 'node-red';
import type { BrokerStatus } from '../../lib/transport/broker-connection';

/** Status presets shared by the nodes, following Node-RED practice for fill and shape. */
export const STATUS = Object.freeze({
  ok: (text: string): NodeStatus => ({ fill: 'green', shape: 'dot', text }),
  warn: (text: string): NodeStatus => ({ fill: 'yellow', shape: 'ring', text }),
  failed: (text: string): NodeStatus => ({ fill: 'red', shape: 'ring', text }),
  clear: (): NodeStatus => ({}),
});

/*
 * Status texts follow Node-RED's practice: a fixed text is sent as its catalogue key
 * ("plantsync-request.status.noEndpoint", or "node-red:common.status.connected"), which the editor
 * translates in the node's own namespace and language; a text with numbers is translated by the
 * runtime with RED._(key, values), as core nodes do (tcp in's "connections"), because the editor
 * translates a status key without values. No status text is put together from English here.
 */

/**
 * Node status of a broker user node (publish, consume) for the broker's state, naming the
 * transport (`transport`, from transportName). Texts come from the user node's own catalogue
 * (`<nodeType>.status.connected` ...): the runtime translates in the calling node's namespace,
 * where another node's keys are not found.
 */
export function brokerStatus(RED: NodeAPI, nodeType: string, transport: string, status: BrokerStatus): NodeStatus {
  switch (status.state) {
    case 'connected':
      return STATUS.ok(RED._(`${nodeType}.status.connected`, { transport }));
    case 'connecting':
      return STATUS.warn(RED._(`${nodeType}.status.connecting`, { transport }));
    case 'blocked':
      return STATUS.warn(RED._(`${nodeType}.status.blocked`, { transport, reason: status.reason }));
    case 'reconnecting':
      return STATUS.warn(RED._(`${nodeType}.status.reconnecting`, { transport, attempt: status.attempt }));
    case 'closed':
      return STATUS.failed(RED._(`${nodeType}.status.disconnected`, { transport }));
  }
}

/**
 * Counter status with throttling: counting every message must not flood the editor's websocket
 * at thousands of messages per second, so updates are coalesced to at most one per interval.
 * `update` also takes a function: it is called only when a status is actually shown, so a text
 * that is costly to build (a translated catalogue message) is not built per message.
 */
export class CounterStatus {
  private timer: NodeJS.Timeout | undefined;
  private pending: (() => NodeStatus) | undefined;
  private last = 0;

  constructor(
    private readonly set: (s: NodeStatus) => void,
    private readonly intervalMs = 250,
  ) {}

  update(status: NodeStatus | (() => NodeStatus)): void {
    const build = typeof status === 'function' ? status : () => status;
    const now = Date.now();
    if (now - this.last >= this.intervalMs && !this.timer) {
      this.last = now;
      this.set(build());
      return;
    }
    this.pending = build;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.last = Date.now();
      if (this.pending) this.set(this.pending());
      this.pending = undefined;
    }, this.intervalMs - Math.min(this.intervalMs, now - this.last));
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
