import * as path from 'node:path';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { PlantSyncError } from '../../lib/errors';
import type { BrokerStatus } from '../../lib/transport/broker-connection';
import type { TransportPublisher } from '../../lib/transport/node-transport';
import { failMessage } from '../shared/fail';
import type { PlantSyncMessage } from '../shared/plantsync-meta';
import { brokerStatus, CounterStatus, STATUS } from '../shared/status';
import { transportFor, transportName } from '../shared/transport';

interface PublishNodeDef extends NodeDef {
  /** A plantsync-broker config node (missing or broken: an error); empty = PLANTSYNC_AMQP_URL, else the embedded local bus. */
  broker?: string;
  /** Store-and-forward through a durable outbox while the broker is unreachable (default true). */
  outbox?: boolean;
  /** Events the outbox may hold before publishes fail with OUTBOX_FULL (default 100000). */
  outboxCapacity?: string | number;
  /** Per-publish timeout until the broker confirm, seconds (default 10). */
  timeout?: string | number;
}

/**
 * One publisher (on RabbitMQ: one confirm channel on the shared connection, and one outbox file)
 * per publish node: its lifetime follows the node (close waits for its own confirms and stops its
 * own drain), and a redeploy of one publish node never pauses another's store-and-forward.
 */
export = function register(RED: NodeAPI): void {
  function PlantSyncPublishNode(this: Node, config: PublishNodeDef): void {
    RED.nodes.createNode(this, config);
    const { transport, problem } = transportFor(RED, this, 'plantsync-publish', config.broker);
    if (!transport) {
      this.status(STATUS.failed(problem.status));
      this.error(RED._('plantsync-publish.errors.noBroker', { message: problem.message }));
      this.on('input', (msg: PlantSyncMessage, _send, done) => failMessage(msg, new PlantSyncError('CONFIG_ERROR', problem.message), done));
      return;
    }
    const via = transportName(RED, 'plantsync-publish', transport);
    const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
    const outboxName = `outbox-${this.id}.db`;
    const useOutbox = transport.kind === 'rabbitmq' && config.outbox !== false;
    const timeoutMs = Math.max(0.1, Number(config.timeout) || 10) * 1000;
    let publisher: TransportPublisher;
    try {
      publisher = transport.publisher({
        outboxFile: useOutbox ? path.join(userDir, 'plantsync', outboxName) : undefined,
        outboxCapacity: Number(config.outboxCapacity) >= 1 ? Math.floor(Number(config.outboxCapacity)) : undefined,
        timeoutMs,
        onError: (err) => this.warn(err.message),
      });
    } catch (err) {
      // The outbox file could not be opened: refuse messages, and give the transport back.
      transport.release();
      const why = (err as Error).message;
      this.status(STATUS.failed('plantsync-publish.status.configError'));
      this.error(RED._('plantsync-publish.errors.noBroker', { message: why }));
      this.on('input', (msg: PlantSyncMessage, _send, done) => failMessage(msg, new PlantSyncError('CONFIG_ERROR', why), done));
      return;
    }

    const status = new CounterStatus((s) => this.status(s));
    let state: BrokerStatus = { state: 'connecting' };
    const show = () => {
      const backlog = publisher.backlog();
      if (backlog > 0) status.update(STATUS.warn(RED._('plantsync-publish.status.buffering', { transport: via, count: backlog })));
      else if (transport.kind === 'local') status.update(STATUS.ok(RED._('plantsync-publish.status.local', { transport: via })));
      else status.update(brokerStatus(RED, 'plantsync-publish', via, state));
    };
    const unsubscribe = transport.subscribe((s) => {
      state = s;
      show();
    });
    const offBacklog = publisher.onBacklog(show);

    this.on('input', (msg: PlantSyncMessage, send, done) => {
      publisher.publish(msg.payload).then(
        (route) => {
          (msg as PlantSyncMessage & { amqp?: unknown }).amqp = route;
          send(msg);
          done();
        },
        (err: unknown) => {
          show();
          failMessage(msg, err, done);
        },
      );
    });

    this.on('close', (removed: boolean, done: () => void) => {
      unsubscribe();
      offBacklog();
      status.close();
      const backlog = publisher.backlog();
      if (removed && backlog > 0) this.warn(RED._('plantsync-publish.errors.orphanBacklog', { count: backlog, file: outboxName }));
      publisher
        .close()
        .catch((err: Error) => this.warn(err.message))
        .then(() => {
          transport.release();
          done();
        });
    });
  }

  RED.nodes.registerType('plantsync-publish', PlantSyncPublishNode);
};
