import type { Node, NodeAPI, NodeDef } from 'node-red';
import { PlantSyncError } from '../../lib/errors';
import type { BrokerStatus } from '../../lib/transport/broker-connection';
import type { Delivery } from '../../lib/transport/consumer';
import type { TransportConsumer } from '../../lib/transport/node-transport';
import type { ReplaySelector } from '../../lib/transport/replay';
import { settlements } from '../../lib/delivery/settlement';
import { failMessage } from '../shared/fail';
import { meta, type PlantSyncMessage } from '../shared/plantsync-meta';
import { brokerStatus, CounterStatus, STATUS } from '../shared/status';
import { transportFor, transportName } from '../shared/transport';

interface ConsumeNodeDef extends NodeDef {
  /** A plantsync-broker config node (missing or broken: an error); empty = PLANTSYNC_AMQP_URL, else the embedded local bus. */
  broker?: string;
  group: string;
  /** Comma or newline separated binding keys; empty = every event ("#"). */
  bindingKeys?: string;
  prefetch?: string | number;
  /** Attempts before parking, counting the first; empty = retry tiers + 1. */
  maxAttempts?: string | number;
  /** Seconds a delivery may stay unsettled before it is failed (default 300). */
  settleTimeout?: string | number;
  /** Seconds close waits for in-flight deliveries before returning them to the queue (default 10). */
  closeTimeout?: string | number;
}

const seconds = (v: unknown, fallback: number) => (Number(v) > 0 ? Number(v) * 1000 : fallback * 1000);

/** The replay selector from a command payload: type, correlationId, from, to (ISO or ms), all. */
function selectorOf(payload: unknown): ReplaySelector {
  const p = (payload ?? {}) as Record<string, unknown>;
  const time = (v: unknown, name: string) => {
    if (v === undefined) return undefined;
    const ms = typeof v === 'number' ? v : Date.parse(String(v));
    if (!Number.isFinite(ms)) throw new PlantSyncError('INVALID_INPUT', `replay selector ${name} is not a time`, [{ pointer: `/payload/${name}`, message: 'must be an ISO time or epoch ms', keyword: 'format' }]);
    return ms;
  };
  const selector: ReplaySelector = {
    all: p.all === true,
    type: typeof p.type === 'string' ? p.type : undefined,
    correlationId: typeof p.correlationId === 'string' ? p.correlationId : undefined,
    from: time(p.from, 'from'),
    to: time(p.to, 'to'),
  };
  if (!selector.all && selector.type === undefined && selector.correlationId === undefined && selector.from === undefined && selector.to === undefined) {
    throw new PlantSyncError('INVALID_INPUT', 'a replay needs a selector: type, correlationId, from/to, or all: true', [{ pointer: '/payload', message: 'no selector', keyword: 'required' }]);
  }
  return selector;
}

/** The broker's own reply text of an amqplib channel error ("PRECONDITION_FAILED - inequivalent arg ..."), else the message. */
function brokerReason(err: Error): string {
  return /with message "([^"]*)"/.exec(err.message)?.[1] ?? err.message;
}

export = function register(RED: NodeAPI): void {
  function PlantSyncConsumeNode(this: Node, config: ConsumeNodeDef): void {
    RED.nodes.createNode(this, config);
    const refuse = (why: string, statusText = 'plantsync-consume.status.noBroker') => {
      this.status(STATUS.failed(statusText));
      this.error(RED._('plantsync-consume.errors.config', { message: why }));
      this.on('input', (msg: PlantSyncMessage, _send, done) => failMessage(msg, new PlantSyncError('CONFIG_ERROR', why), done));
    };
    if (!config.group) return refuse('no consumer group configured');
    const { transport, problem } = transportFor(RED, this, 'plantsync-consume', config.broker);
    if (!transport) return refuse(problem.message, problem.status);
    const via = transportName(RED, 'plantsync-consume', transport);
    const bindingKeys = (config.bindingKeys ?? '').split(/[\s,]+/).filter(Boolean);
    const maxAttempts = Number(config.maxAttempts) >= 1 ? Math.floor(Number(config.maxAttempts)) : undefined;
    const settleTimeoutMs = seconds(config.settleTimeout, 300);
    // Node-RED abandons a close after 15 s: stay under it so the returned deliveries are counted.
    const closeTimeoutMs = Math.min(seconds(config.closeTimeout, 10), 14000);
    // The deliveries handed out and not settled yet; settle nodes reach them through msg.plantsync.delivery.
    const ledger = settlements.open(this.id, {
      settleTimeoutMs,
      timeoutHint: 'wire a settle delivery (or settle claim + delivery) node at the end of every branch',
    });

    const status = new CounterStatus((s) => this.status(s));
    let state: BrokerStatus = { state: 'connecting' };
    let consumer: TransportConsumer | undefined;
    let setupError: Error | undefined;
    // Called twice per message: the text (a translated catalogue message) is built only when the
    // throttled status shows.
    const show = () =>
      status.update(() => {
        if (state.state !== 'connected' || !consumer) return brokerStatus(RED, 'plantsync-consume', via, state);
        if (setupError) return STATUS.failed(RED._('plantsync-consume.status.setupFailed', { reason: brokerReason(setupError).slice(0, 80) }));
        const s = consumer.stats();
        return STATUS.ok(RED._('plantsync-consume.status.counts', { transport: via, inFlight: ledger.size, acked: s.acked, retried: s.retried, parked: s.parked }));
      });

    // Each delivery goes out once and stays in flight (its handler pending) until a settle node,
    // the settle timeout or close settles it through its handle.
    const handler = (d: Delivery) =>
      new Promise<void>((resolve) => {
        const handle = ledger.track(async (action, err) => {
          try {
            await (action === 'ack' ? d.ack() : action === 'park' ? d.park(err) : d.fail(err));
          } finally {
            resolve();
            show();
          }
        });
        const msg: PlantSyncMessage = {
          _msgid: RED.util.generateId(),
          payload: d.event,
          amqp: {
            exchange: d.fields.exchange,
            routingKey: d.fields.routingKey,
            properties: d.properties,
            headers: d.headers,
            attempt: d.attempt,
            redelivered: d.redelivered,
            deliveryTag: d.fields.deliveryTag,
            transport: transport.kind,
          },
        };
        meta(msg).delivery = handle;
        this.send([msg, null]);
        show();
      });

    try {
      consumer = transport.consumer({
        group: config.group,
        bindingKeys: bindingKeys.length > 0 ? bindingKeys : undefined,
        maxAttempts,
        prefetch: Math.max(1, Number(config.prefetch) || transport.defaultPrefetch),
        handler,
        onError: (err) => this.warn(err instanceof Error ? err.message : String(err)),
        onSetup: (err) => {
          setupError = err;
          show();
        },
      });
    } catch (err) {
      ledger.close();
      transport.release();
      const why = (err as Error).message;
      this.status(STATUS.failed('plantsync-consume.status.configError'));
      this.error(RED._('plantsync-consume.errors.config', { message: why }));
      return;
    }
    const active = consumer;
    const unsubscribe = transport.subscribe((s) => {
      state = s;
      show();
    });

    // Input: replay commands only (msg.topic "replay", selector in msg.payload); counts on output 2.
    this.on('input', (msg: PlantSyncMessage, send, done) => {
      const run = async () => {
        if (msg.topic !== 'replay') throw new PlantSyncError('INVALID_INPUT', `unknown command "${String(msg.topic)}": the input takes msg.topic "replay"`);
        const selector = selectorOf(msg.payload);
        const limit = Number((msg.payload as { limit?: unknown }).limit) || undefined;
        const result = await active.replay(selector, { limit });
        send([null, { ...msg, payload: result }]);
        done();
      };
      run().catch((err: unknown) => failMessage(msg, err, done));
    });

    this.on('close', (done: () => void) => {
      unsubscribe();
      status.close();
      // Stop taking messages, let in-flight ones settle within the close timeout, return the rest.
      active
        .close(closeTimeoutMs)
        .catch((err: Error) => this.warn(err.message))
        .then(() => {
          ledger.close();
          transport.release();
          done();
        });
    });
  }

  RED.nodes.registerType('plantsync-consume', PlantSyncConsumeNode);
};
