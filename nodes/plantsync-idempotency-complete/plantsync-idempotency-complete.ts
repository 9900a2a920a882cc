import type { Node, NodeAPI, NodeDef } from 'node-red';
import { classifyFailure } from '../../lib/delivery/failure-classifier';
import { PlantSyncError } from '../../lib/errors';
import { failMessage } from '../shared/fail';
import { meta, type PlantSyncMessage } from '../shared/plantsync-meta';
import { CounterStatus, STATUS } from '../shared/status';
import type { PlantSyncStoreNode } from '../shared/store-node';
import { evaluateProperty } from '../shared/typed-input';

type Action = 'complete' | 'release' | 'fail' | 'failure';

interface CompleteNodeDef extends NodeDef {
  action?: Action;
  result?: string;
  resultType?: string;
}

/** The error a Catch node hands over: PlantSync's detail in `_error`, the runtime's in `error`. */
function errorOf(msg: PlantSyncMessage): { code?: string; message?: string; status?: number; retryable?: boolean } {
  const detail = (msg._error ?? msg.error ?? {}) as { code?: string; message?: string; statusCode?: number; status?: number; retryable?: boolean };
  const runtime = (msg.error ?? {}) as { code?: string; message?: string };
  return {
    code: detail.code ?? runtime.code,
    message: detail.message ?? runtime.message,
    status: detail.statusCode ?? detail.status ?? (msg as { statusCode?: number }).statusCode,
    retryable: typeof detail.retryable === 'boolean' ? detail.retryable : undefined,
  };
}

/** A failure is permanent when the failing node said so (adapter errors carry `retryable`), else as classified. */
function isPermanent(error: ReturnType<typeof errorOf>): boolean {
  if (error.retryable !== undefined) return !error.retryable;
  return classifyFailure({ ...error, statusCode: error.status }).class === 'permanent';
}

export = function register(RED: NodeAPI): void {
  function PlantSyncIdempotencyCompleteNode(this: Node, config: CompleteNodeDef): void {
    RED.nodes.createNode(this, config);
    const action: Action = config.action ?? 'complete';
    const status = new CounterStatus((s) => this.status(s));
    let settled = 0;

    this.on('input', (msg: PlantSyncMessage, send, done) => {
      const run = async () => {
        const claim = meta(msg).idempotency;
        if (!claim && action !== 'complete') {
          // A failure before the guard claimed anything (for example IN_FLIGHT): nothing to settle, pass it on to the dead letters.
          send(msg);
          done();
          return;
        }
        if (!claim) throw new PlantSyncError('NO_CLAIM', 'this message carries no idempotency claim: wire it from a plantsync-idempotency node');
        if (claim.status !== 'claimed' || claim.settled) {
          // Duplicates and conflicts hold no claim; an already settled one is left alone.
          send(msg);
          done();
          return;
        }
        const storeNode = RED.nodes.getNode(claim.store) as PlantSyncStoreNode | null;
        if (!storeNode) throw new PlantSyncError('CONFIG_ERROR', `the store ${claim.store} of this claim is not deployed`);
        const store = await storeNode.idempotency();
        let settledAs: 'completed' | 'released' | 'failed';
        if (action === 'complete') {
          const result = await evaluateProperty(RED, this, config.result || 'payload', config.resultType || 'msg', msg);
          await store.complete(claim.key, result ?? null, claim.token as string);
          settledAs = 'completed';
        } else {
          const error = errorOf(msg);
          const permanent = action === 'fail' || (action === 'failure' && isPermanent(error));
          if (permanent) {
            await store.fail(claim.key, { code: error.code ?? 'FAILED', message: error.message ?? 'failed' }, claim.token as string);
            settledAs = 'failed';
          } else {
            await store.release(claim.key, claim.token as string);
            settledAs = 'released';
          }
        }
        claim.settled = settledAs;
        settled += 1;
        status.update(STATUS.ok(`${settledAs} · ${settled}`));
        send(msg);
        done();
      };
      run().catch((err: unknown) => {
        status.update(STATUS.failed(err instanceof PlantSyncError ? err.code : 'error'));
        failMessage(msg, err, done);
      });
    });

    this.on('close', () => status.close());
  }

  RED.nodes.registerType('plantsync-idempotency-complete', PlantSyncIdempotencyCompleteNode);
};
