import type { Node, NodeAPI, NodeDef } from 'node-red';
import { settleActionForFailure } from '../../lib/delivery/settlement';
import { BaseError } from '../../lib/errors';
import { failMessage } from '../shared/fail';
import type { PlantSyncMessage } from '../shared/plantsync-meta';
import { reportedError } from '../shared/reported-error';
import { deliveryOf, failureOf, settleDeliveryOf } from '../shared/settle-message';
import { CounterStatus, STATUS } from '../shared/status';

/** ack: the work is done; failure: from a Catch node, retried or parked by the failure classifier. */
type Action = 'ack' | 'failure';

interface SettleDeliveryNodeDef extends NodeDef {
  action?: Action;
}

export = function register(RED: NodeAPI): void {
  function PlantSyncSettleDeliveryNode(this: Node, config: SettleDeliveryNodeDef): void {
    RED.nodes.createNode(this, config);
    const action: Action = config.action === 'failure' ? 'failure' : 'ack';
    const status = new CounterStatus((s) => this.status(s));
    let settled = 0;

    this.on('input', (msg: PlantSyncMessage, send, done) => {
      const run = async () => {
        if (!deliveryOf(msg)) {
          // Acking nothing is a wiring mistake; a failure of a message that came from elsewhere has nothing to settle.
          if (action === 'ack') throw new BaseError('NO_DELIVERY', 'this message carries no delivery to settle: wire it from a plantsync-consume node', { retryable: true });
          send(msg);
          return done();
        }
        const outcome = action === 'ack' ? await settleDeliveryOf(msg, 'ack') : await settleDeliveryOf(msg, settleActionForFailure(reportedError(msg)), failureOf(msg, 'HANDLER_FAILED'));
        // A failure after another branch acked cannot take the ack back: say so rather than drop it.
        if (outcome === 'already-acked' && action === 'failure') this.warn(RED._('plantsync-settle-delivery.errors.alreadyAcked'));
        settled += 1;
        status.update(() => STATUS.ok(RED._('plantsync-settle-delivery.status.settled', { outcome: RED._(`plantsync-settle-delivery.status.${outcome}`), count: settled })));
        send(msg);
        done();
      };
      run().catch((err: unknown) => {
        const code = (err as { code?: unknown } | undefined)?.code;
        status.update(() => STATUS.failed(RED._('plantsync-settle-delivery.status.failedWith', { code: typeof code === 'string' ? code : 'UNEXPECTED_ERROR' })));
        failMessage(msg, err, done);
      });
    });

    this.on('close', () => status.close());
  }

  RED.nodes.registerType('plantsync-settle-delivery', PlantSyncSettleDeliveryNode);
};
