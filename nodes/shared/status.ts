import type { NodeStatus } from 'node-red';

/** Status presets shared by the nodes, following Node-RED practice for fill and shape. */
export const STATUS = Object.freeze({
  ok: (text: string): NodeStatus => ({ fill: 'green', shape: 'dot', text }),
  warn: (text: string): NodeStatus => ({ fill: 'yellow', shape: 'ring', text }),
  failed: (text: string): NodeStatus => ({ fill: 'red', shape: 'ring', text }),
  clear: (): NodeStatus => ({}),
});

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
