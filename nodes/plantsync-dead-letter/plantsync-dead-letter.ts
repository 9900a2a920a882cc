import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { normaliseErrorCode, parseDeadLetterSelector } from '../../lib/delivery/dead-letter-selector';
import type { DeadLetterRecord, DeadLetterSelector, FailureReason } from '../../lib/delivery/dead-letter-store';
import { integrationEvent } from '../../lib/delivery/integration-events';
import { PlantSyncError } from '../../lib/errors';
import { failMessage } from '../shared/fail';
import { reportedError } from '../shared/reported-error';
import { meta, type PlantSyncMessage } from '../shared/plantsync-meta';
import { STATUS } from '../shared/status';
import type { PlantSyncStoreNode } from '../shared/store-node';
import { evaluateProperty } from '../shared/typed-input';

interface DeadLetterNodeDef extends NodeDef {
  store: string;
  siteid?: string;
  siteidType?: string;
  target?: string;
}

const COMMANDS = new Set(['replay', 'list', 'purge', 'count']);

export = function register(RED: NodeAPI): void {
  function PlantSyncDeadLetterNode(this: Node, config: DeadLetterNodeDef): void {
    RED.nodes.createNode(this, config);
    const storeNode = RED.nodes.getNode(config.store) as PlantSyncStoreNode | null;
    const showCount = () => {
      if (!storeNode) return;
      const n = storeNode.deadLetters().count();
      const text = RED._('plantsync-dead-letter.status.parked', { count: n });
      this.status(n > 0 ? STATUS.failed(text) : STATUS.ok(text));
    };
    // A catalogue key: the editor translates it.
    if (!storeNode) this.status(STATUS.failed('plantsync-dead-letter.status.noStore'));
    else showCount();

    const site = async (msg: NodeMessage): Promise<string> =>
      String((await evaluateProperty(RED, this, config.siteid || 'PLANT_ID', config.siteidType || 'env', msg)) || 'unknown');

    const integrationEventOf = async (msg: NodeMessage, rec: DeadLetterRecord, kind: 'deadlettered' | 'replayed', selector?: DeadLetterSelector) =>
      integrationEvent(rec, kind, await site(msg), selector);

    const park = async (msg: PlantSyncMessage): Promise<DeadLetterRecord> => {
      const store = (storeNode as PlantSyncStoreNode).deadLetters();
      const failure = reportedError(msg);
      const now = new Date().toISOString();
      const claim = meta(msg).idempotency;
      const replay = meta(msg).replay;
      const previous = replay ? await store.get(replay.deadLetterId) : undefined;
      const reason: FailureReason = {
        code: normaliseErrorCode(failure.code),
        message: String(failure.message ?? 'failed'),
        attempts: claim?.attempt ?? 1,
        firstFailureAt: previous?.reason.firstFailureAt ?? now,
        lastFailureAt: now,
      };
      if (config.target) reason.target = config.target;
      const source = failure.source;
      const failedNode = source ? RED.nodes.getNode(source.id) : null;
      return store.add({
        original: msg.payload,
        reason,
        node: source ? { id: source.id, type: source.type, name: source.name } : undefined,
        flow: failedNode ? { id: failedNode.z } : { id: this.z },
        deadLetterId: replay?.deadLetterId,
      });
    };

    this.on('input', (msg: PlantSyncMessage, send, done) => {
      const run = async () => {
        if (!storeNode) throw new PlantSyncError('CONFIG_ERROR', 'no PlantSync store configured');
        const store = storeNode.deadLetters();
        const command = typeof msg.topic === 'string' && COMMANDS.has(msg.topic) && !msg.error && !msg._error ? msg.topic : undefined;
        if (!command) {
          const rec = await park(msg);
          const event = await integrationEventOf(msg, rec, 'deadlettered');
          send([null, { topic: 'deadlettered', payload: event ?? rec, deadLetter: rec }]);
        } else {
          const selector = parseDeadLetterSelector(msg.payload);
          if (command === 'list') {
            send([null, { ...msg, payload: await store.list(selector) }]);
          } else if (command === 'count') {
            send([null, { ...msg, payload: store.count(selector.status ?? 'parked') }]);
          } else if (command === 'purge') {
            send([null, { ...msg, payload: { purged: await store.purge(selector) } }]);
          } else {
            const records = await store.list(selector);
            const replayed = await store.markReplayed(records.map((r) => r.id));
            for (const rec of replayed) {
              const out: PlantSyncMessage = { payload: rec.original, topic: rec.type, plantsync: { replay: { deadLetterId: rec.id, replayCount: rec.replayCount } } };
              if (rec.correlationId) out.correlationid = rec.correlationId;
              const event = await integrationEventOf(msg, rec, 'replayed', selector);
              send([out, event ? { topic: 'replayed', payload: event } : null]);
            }
            send([null, { ...msg, payload: { replayed: replayed.map((r) => r.id) } }]);
          }
        }
        showCount();
        done();
      };
      run().catch((err: unknown) => failMessage(msg, err, done));
    });
  }

  RED.nodes.registerType('plantsync-dead-letter', PlantSyncDeadLetterNode);
};
