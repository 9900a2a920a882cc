import * as path from 'node:path';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { PlantSyncError } from '../../lib/errors';
import { Outbox } from '../../lib/delivery/outbox';
import type { BrokerStatus } from '../../lib/transport/broker-connection';
import { Publisher } from '../../lib/transport/publisher';
import { routingKeyOf } from '../../lib/transport/topology';
import { brokerOf, brokerStatus } from '../shared/broker-node';
import { failMessage } from '../shared/fail';
import type { PlantSyncMessage } from '../shared/plantsync-meta';
import { CounterStatus, STATUS } from '../shared/status';

interface PublishNodeDef extends NodeDef {
  broker: string;
  /** Store-and-forward through a durable outbox while the broker is unreachable (default true). */
  outbox?: boolean;
  /** Per-publish timeout until the broker confirm, seconds (default 10). */
  timeout?: string | number;
}

/**
 * One Publisher (one confirm channel on the broker's shared connection) and one outbox file per
 * publish node: its lifetime follows the node (close waits for its own confirms and stops its own
 * drain), and a redeploy of one publish node never pauses another's store-and-forward.
 */
export = function register(RED: NodeAPI): void {
  function PlantSyncPublishNode(this: Node, config: PublishNodeDef): void {
    RED.nodes.createNode(this, config);
    const { broker, error } = brokerOf(RED, config.broker);
    const status = new CounterStatus((s) => this.status(s));
    if (!broker?.connection || error) {
      this.status(STATUS.failed(RED._('plantsync-publish.status.noBroker')));
      this.error(RED._('plantsync-publish.errors.noBroker', { message: error ?? '' }));
      this.on('input', (msg: PlantSyncMessage, _send, done) => failMessage(msg, new PlantSyncError('CONFIG_ERROR', error ?? 'no broker'), done));
      return;
    }
    const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
    const outbox = config.outbox === false ? undefined : new Outbox(path.join(userDir, 'plantsync', `outbox-${this.id}.db`));
    const timeoutMs = Math.max(0.1, Number(config.timeout) || 10) * 1000;
    const topology = broker.topology();
    const publisher = new Publisher(broker.connection, { topology, timeoutMs, outbox });
    const release = broker.use();

    let state: BrokerStatus = broker.connection.status;
    const show = () => {
      const backlog = outbox?.backlog() ?? 0;
      if (backlog > 0) status.update(STATUS.warn(RED._('plantsync-publish.status.buffering', { count: backlog })));
      else status.update(brokerStatus(RED, state));
    };
    const unsubscribe = broker.subscribe((s) => {
      state = s;
      show();
    });
    const offOutbox = outbox?.onChange(show);
    publisher.start();

    this.on('input', (msg: PlantSyncMessage, send, done) => {
      publisher.publish(msg.payload).then(
        () => {
          (msg as PlantSyncMessage & { amqp?: unknown }).amqp = { exchange: topology.exchange, routingKey: routingKeyOf(msg.payload as { type: string }) };
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
      offOutbox?.();
      status.close();
      const backlog = outbox?.backlog() ?? 0;
      if (removed && backlog > 0) this.warn(RED._('plantsync-publish.errors.orphanBacklog', { count: backlog, file: `outbox-${this.id}.db` }));
      publisher
        .close(5000)
        .then(() => outbox?.close())
        .catch((err: Error) => this.warn(err.message))
        .then(() => {
          release();
          done();
        });
    });
  }

  RED.nodes.registerType('plantsync-publish', PlantSyncPublishNode);
};
