import type { Node, NodeAPI, NodeDef } from 'node-red';
import { statusForError, statusForOutcome } from '../../lib/delivery/http-status';
import { BaseError, PlantSyncError } from '../../lib/errors';
import { businessHash, keyOfPayload } from '../../lib/idempotency/keys';
import { failMessage } from '../shared/fail';
import { settleDeliveryOf } from '../shared/settle-message';
import { meta, type PlantSyncMessage } from '../shared/plantsync-meta';
import { CounterStatus, STATUS } from '../shared/status';
import type { PlantSyncStoreNode } from '../shared/store-node';
import { evaluateProperty } from '../shared/typed-input';

interface IdempotencyNodeDef extends NodeDef {
  store: string;
  key?: string;
  keyType?: string;
  leaseSeconds?: string | number;
}

/** Why a conflicting delivery is parked (its reason in the parking lot). */
const conflictError = (key: string) =>
  new BaseError('IDEMPOTENCY_CONFLICT', `key ${key} was already processed with different data`, { retryable: false });

export = function register(RED: NodeAPI): void {
  function PlantSyncIdempotencyNode(this: Node, config: IdempotencyNodeDef): void {
    RED.nodes.createNode(this, config);
    const store = RED.nodes.getNode(config.store) as PlantSyncStoreNode | null;
    const leaseMs = Math.max(1, Number(config.leaseSeconds) || 60) * 1000;
    const keyType = config.keyType || 'auto';
    const status = new CounterStatus((s) => this.status(s));
    const counts = { new: 0, duplicate: 0, conflict: 0 };
    const label = () => RED._('plantsync-idempotency.status.counts', counts);
    // For an `http in` flow: duplicates and conflicts are answered here, the new path by the work.
    const answer = (msg: PlantSyncMessage, outcome: 'duplicate' | 'conflict') => {
      (msg as PlantSyncMessage & { statusCode?: number }).statusCode = statusForOutcome(outcome);
    };

    if (!store) {
      // A catalogue key: the editor translates it.
      this.status(STATUS.failed('plantsync-idempotency.status.noStore'));
      this.error(RED._('plantsync-idempotency.errors.noStore'));
    }

    this.on('input', (msg: PlantSyncMessage, send, done) => {
      const run = async () => {
        if (!store) throw new PlantSyncError('CONFIG_ERROR', 'no PlantSync store configured');
        // 'auto': the event's key by the one rule (lib/idempotency/keys.ts); else the flow's own.
        const key = keyType === 'auto' ? keyOfPayload(msg.payload) : await evaluateProperty(RED, this, config.key ?? '', keyType, msg);
        if (typeof key !== 'string' || key === '') {
          throw new PlantSyncError('INVALID_INPUT', 'the idempotency key is empty', [{ pointer: '', message: 'key must be a non-empty string', keyword: 'key' }]);
        }
        const replay = meta(msg).replay;
        const outcome = await (await store.idempotency()).claim(key, businessHash(msg.payload), leaseMs, { reclaimFailed: replay !== undefined });
        const info = { store: store.id, key };
        switch (outcome.status) {
          case 'claimed':
            counts.new += 1;
            meta(msg).idempotency = {
              ...info, status: 'claimed', token: outcome.token, attempt: outcome.attempt, takeover: outcome.takeover,
              firstAttemptAt: new Date(outcome.firstAttemptAt).toISOString(),
            };
            send([msg, null, null]);
            break;
          case 'duplicate':
            counts.duplicate += 1;
            meta(msg).idempotency = { ...info, status: 'duplicate', result: outcome.result };
            answer(msg, 'duplicate');
            // Already processed: a consumed duplicate is acked here, no settle node needed.
            await settleDeliveryOf(msg, 'ack');
            send([null, msg, null]);
            break;
          case 'failed':
            counts.duplicate += 1;
            meta(msg).idempotency = { ...info, status: 'failed', reason: outcome.reason };
            // A key failed for good answers as its first failure did (422, 502...).
            (msg as PlantSyncMessage & { statusCode?: number }).statusCode = statusForError({ ...(outcome.reason as object | undefined), retryable: false });
            // Failed for good on an earlier attempt: not worked again, so acked like a duplicate.
            await settleDeliveryOf(msg, 'ack');
            send([null, msg, null]);
            break;
          case 'conflict':
            counts.conflict += 1;
            meta(msg).idempotency = { ...info, status: 'conflict', storedHash: outcome.storedHash };
            answer(msg, 'conflict');
            // Never acked as if processed, never retried (it would conflict again): parked with the reason.
            await settleDeliveryOf(msg, 'park', conflictError(key));
            send([null, null, msg]);
            break;
          case 'in-flight':
            throw new PlantSyncError('IN_FLIGHT', `${key} is being processed elsewhere until ${new Date(outcome.leaseExpiresAt).toISOString()}; retry later`);
        }
        status.update(counts.conflict > 0 ? STATUS.warn(label()) : STATUS.ok(label()));
        done();
      };
      run().catch((err: unknown) => {
        const code = (err as { code?: unknown } | undefined)?.code;
        status.update(() => STATUS.failed(RED._('plantsync-idempotency.status.failedWith', { ...counts, code: typeof code === 'string' ? code : 'UNEXPECTED_ERROR' })));
        failMessage(msg, err, done);
      });
    });

    this.on('close', () => status.close());
  }

  RED.nodes.registerType('plantsync-idempotency', PlantSyncIdempotencyNode);
};
