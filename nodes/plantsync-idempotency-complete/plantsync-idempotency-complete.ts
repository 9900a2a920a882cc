import type { Node, NodeAPI, NodeDef } from 'node-red';
import { isPermanentFailure } from '../../lib/delivery/failure-classifier';
import { deliveryActionAfterClaim } from '../../lib/delivery/settlement';
import { PlantSyncError } from '../../lib/errors';
import { failMessage } from '../shared/fail';
import { reportedError } from '../shared/reported-error';
import { deliveryOf, failureOf, settleDeliveryOf } from '../shared/settle-message';
import { meta, type ClaimInfo, type PlantSyncMessage } from '../shared/plantsync-meta';
import { CounterStatus, STATUS } from '../shared/status';
import type { PlantSyncStoreNode } from '../shared/store-node';
import { evaluateProperty } from '../shared/typed-input';

type Action = 'complete' | 'release' | 'fail' | 'failure';

interface CompleteNodeDef extends NodeDef {
  action?: Action;
  result?: string;
  resultType?: string;
  /** Also settle the broker delivery; absent (flows saved before the option existed) means yes. */
  settleDelivery?: boolean | string;
}

/** The code a failed delivery carries into its retry headers when the message's error has none. */
const FAILURE_CODE: Record<Action, string> = { complete: 'HANDLER_FAILED', failure: 'HANDLER_FAILED', release: 'RELEASED', fail: 'FAILED' };

export = function register(RED: NodeAPI): void {
  function PlantSyncIdempotencyCompleteNode(this: Node, config: CompleteNodeDef): void {
    RED.nodes.createNode(this, config);
    const action: Action = config.action ?? 'complete';
    const alsoDelivery = config.settleDelivery !== false && config.settleDelivery !== 'false';
    const status = new CounterStatus((s) => this.status(s));
    let settled = 0;

    this.on('input', (msg: PlantSyncMessage, send, done) => {
      const run = async () => {
        const claim = meta(msg).idempotency;
        const delivery = alsoDelivery ? deliveryOf(msg) : undefined;
        // complete without a claim or a delivery is a wiring mistake; a failure before the guard
        // claimed anything (for example IN_FLIGHT) has nothing to settle but its delivery.
        if (!claim && !delivery && action === 'complete') {
          throw new PlantSyncError('NO_CLAIM', 'this message carries no idempotency claim: wire it from a plantsync-idempotency node');
        }
        let outcome: string | undefined;
        // Duplicates and conflicts hold no claim; an already settled one is left alone.
        if (claim && claim.status === 'claimed' && !claim.settled) {
          claim.settled = await settleClaim(claim);
          outcome = claim.settled;
        }
        // The delivery after the claim, by the core's rule (deliveryActionAfterClaim).
        if (delivery) {
          const how = deliveryActionAfterClaim(action, outcome !== undefined, reportedError(msg));
          const settledAs = await settleDeliveryOf(msg, how, how === 'ack' ? undefined : failureOf(msg, FAILURE_CODE[action]));
          // One settle point per delivery: a branch that fails after another branch acked cannot
          // take the ack back, so say so instead of dropping the failure silently.
          if (settledAs === 'already-acked' && action !== 'complete') this.warn(RED._('plantsync-idempotency-complete.errors.alreadyAcked'));
          outcome ??= settledAs;
        }
        if (outcome) {
          settled += 1;
          status.update(() => STATUS.ok(RED._('plantsync-idempotency-complete.status.settled', { outcome: RED._(`plantsync-idempotency-complete.status.${outcome}`), count: settled })));
        }
        send(msg);
        done();
      };

      const settleClaim = async (claim: ClaimInfo): Promise<'completed' | 'released' | 'failed'> => {
        const storeNode = RED.nodes.getNode(claim.store) as PlantSyncStoreNode | null;
        if (!storeNode) throw new PlantSyncError('CONFIG_ERROR', `the store ${claim.store} of this claim is not deployed`);
        const store = await storeNode.idempotency();
        if (action === 'complete') {
          const result = await evaluateProperty(RED, this, config.result || 'payload', config.resultType || 'msg', msg);
          await store.complete(claim.key, result ?? null, claim.token as string);
          return 'completed';
        }
        const error = reportedError(msg);
        const permanent = action === 'fail' || (action === 'failure' && isPermanentFailure(error));
        if (permanent) {
          await store.fail(claim.key, { code: error.code ?? 'FAILED', message: error.message ?? 'failed' }, claim.token as string);
          return 'failed';
        }
        await store.release(claim.key, claim.token as string);
        return 'released';
      };

      run().catch(async (err: unknown) => {
        const code = (err as { code?: unknown } | undefined)?.code;
        status.update(() => STATUS.failed(RED._('plantsync-idempotency-complete.status.failedWith', { code: typeof code === 'string' ? code : 'UNEXPECTED_ERROR' })));
        // A claim that could not be settled (LEASE_LOST, store down) must not hold its delivery
        // until the settle timeout: retry it now.
        if (alsoDelivery) await settleDeliveryOf(msg, 'fail', err).catch(() => undefined);
        failMessage(msg, err, done);
      });
    });

    this.on('close', () => status.close());
  }

  RED.nodes.registerType('plantsync-idempotency-complete', PlantSyncIdempotencyCompleteNode);
};
