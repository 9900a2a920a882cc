import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { createEvent, isCanonicalEvent } from '../../lib/canonical/envelope';
import type { DeadLetterRecord, DeadLetterSelector, FailureReason } from '../../lib/delivery/dead-letter-store';
import { PlantSyncError } from '../../lib/errors';
import { failMessage } from '../shared/fail';
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

/** Error codes in integration events are upper-case identifiers; anything else is mapped onto that shape. */
function errorCode(code: unknown): string {
  const c = String(code ?? 'NODE_ERROR').toUpperCase().replace(/[^A-Z0-9_]/g, '_').replace(/^[^A-Z]+/, '');
  return (c || 'NODE_ERROR').slice(0, 40);
}

function selectorOf(payload: unknown): DeadLetterSelector {
  if (payload === null || payload === undefined || payload === '') return {};
  if (typeof payload === 'string') return { ids: [payload] };
  if (Array.isArray(payload)) return { ids: payload.map(String) };
  if (typeof payload !== 'object') throw new PlantSyncError('INVALID_INPUT', 'the selector must be an object, an id or a list of ids');
  const s = payload as Record<string, unknown>;
  const out: DeadLetterSelector = {};
  if (s.id !== undefined) out.ids = [String(s.id)];
  if (Array.isArray(s.ids)) out.ids = s.ids.map(String);
  for (const k of ['correlationId', 'type', 'from', 'to'] as const) if (typeof s[k] === 'string') out[k] = s[k] as string;
  if (typeof s.correlationid === 'string') out.correlationId = s.correlationid;
  if (s.status === 'parked' || s.status === 'replayed' || s.status === 'any') out.status = s.status;
  if (typeof s.limit === 'number') out.limit = s.limit;
  for (const k of ['from', 'to'] as const) {
    if (out[k] !== undefined && Number.isNaN(Date.parse(out[k] as string))) {
      throw new PlantSyncError('INVALID_INPUT', `selector.${k} is not a date`, [{ pointer: `/${k}`, message: 'must be an RFC 3339 date-time', keyword: 'format' }]);
    }
  }
  return out;
}

export = function register(RED: NodeAPI): void {
  function PlantSyncDeadLetterNode(this: Node, config: DeadLetterNodeDef): void {
    RED.nodes.createNode(this, config);
    const storeNode = RED.nodes.getNode(config.store) as PlantSyncStoreNode | null;
    const showCount = () => {
      if (!storeNode) return;
      const n = storeNode.deadLetters().count();
      this.status(n > 0 ? STATUS.failed(`DLQ ${n}`) : STATUS.ok('DLQ 0'));
    };
    if (!storeNode) this.status(STATUS.failed(RED._('plantsync-dead-letter.status.noStore')));
    else showCount();

    const site = async (msg: NodeMessage): Promise<string> =>
      String((await evaluateProperty(RED, this, config.siteid || 'PLANT_ID', config.siteidType || 'env', msg)) || 'unknown');

    /** An integration event about a record, when the original is a canonical event. */
    const integrationEvent = async (msg: NodeMessage, rec: DeadLetterRecord, kind: 'deadlettered' | 'replayed', selector?: DeadLetterSelector) => {
      if (!isCanonicalEvent(rec.original)) return null;
      const siteid = await site(msg);
      const ref = { originalId: rec.original.id, originalType: rec.original.type, originalSource: rec.original.source, attempts: rec.reason.attempts, deadLetterId: rec.id };
      const data =
        kind === 'deadlettered'
          ? { ...ref, errors: [{ code: errorCode(rec.reason.code), message: rec.reason.message.slice(0, 500) || 'failed' }], firstFailureAt: rec.reason.firstFailureAt, lastFailureAt: rec.reason.lastFailureAt, ...(rec.flow ? { flow: rec.flow.id } : {}), ...(rec.node ? { node: rec.node.id } : {}) }
          : { ...ref, replayCount: rec.replayCount, selector: JSON.stringify(selector ?? {}).slice(0, 500) };
      return createEvent({
        type: `mfg.integration.${kind}.v1`,
        source: `/plants/${siteid}/node-red`,
        siteid,
        cause: rec.original,
        // The same record can be dead-lettered and replayed several times: each is its own fact.
        idempotencykey: `mfg.integration.${kind}:${rec.id}:${kind === 'replayed' ? rec.replayCount : rec.reason.lastFailureAt}`,
        data,
      });
    };

    const park = async (msg: PlantSyncMessage): Promise<DeadLetterRecord> => {
      const store = (storeNode as PlantSyncStoreNode).deadLetters();
      const detail = (msg._error ?? msg.error ?? {}) as { code?: string; message?: string };
      const runtime = (msg.error ?? {}) as { message?: string; code?: string; source?: { id: string; type?: string; name?: string } };
      const now = new Date().toISOString();
      const claim = meta(msg).idempotency;
      const replay = meta(msg).replay;
      const previous = replay ? await store.get(replay.deadLetterId) : undefined;
      const reason: FailureReason = {
        code: errorCode(detail.code ?? runtime.code),
        message: String(detail.message ?? runtime.message ?? 'failed'),
        attempts: claim?.attempt ?? 1,
        firstFailureAt: previous?.reason.firstFailureAt ?? now,
        lastFailureAt: now,
      };
      if (config.target) reason.target = config.target;
      const source = runtime.source;
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
          const event = await integrationEvent(msg, rec, 'deadlettered');
          send([null, { topic: 'deadlettered', payload: event ?? rec, deadLetter: rec }]);
        } else {
          const selector = selectorOf(msg.payload);
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
              const event = await integrationEvent(msg, rec, 'replayed', selector);
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
