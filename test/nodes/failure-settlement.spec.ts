/**
 * Failures that the environment or an operator can fix never fail a key for good: a store outage
 * in the middle of a flow (its backend refusing connections) and a misconfigured endpoint are
 * released by the settle node's failure action, so the next attempt claims the key again. Every
 * status text the nodes show is a catalogue text (a key the editor translates, or a text the
 * runtime translated with values), never English put together in code.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createEvent, type CanonicalEvent } from '../../lib';
import type { IdempotencyStore } from '../../lib/idempotency/idempotency-store';
import { helper, nextFrom, nextMessage, type TestNode } from '../helpers/node-helper';
import { isEditorKey, translating } from '../helpers/catalogue';
import type { PlantSyncStoreNode } from '../../nodes/shared/store-node';
import storeNode from '../../nodes/plantsync-store/plantsync-store';
import idempotencyNode from '../../nodes/plantsync-idempotency/plantsync-idempotency';
import completeNode from '../../nodes/plantsync-idempotency-complete/plantsync-idempotency-complete';
import deadLetterNode from '../../nodes/plantsync-dead-letter/plantsync-dead-letter';
import endpointNode from '../../nodes/plantsync-endpoint/plantsync-endpoint';
import requestNode from '../../nodes/plantsync-request/plantsync-request';

const { nodes: NODES, translated } = translating([storeNode, idempotencyNode, completeNode, deadLetterNode, endpointNode, requestNode]);

function confirmation(key: string): CanonicalEvent {
  return createEvent({
    type: 'mfg.operation.completed.v2',
    source: '/plants/P100/mes',
    siteid: 'P100',
    data: {
      orderId: '1000123', operationId: '0010', workCenter: 'WC-ASSY1', site: 'P100', actualStart: '2026-11-26T06:00:00Z',
      actualEnd: '2026-11-26T07:30:00Z', yield: { value: 95, uom: 'EA' }, scrap: { value: 5, uom: 'EA' }, confirmationType: 'Partial',
    },
    idempotencykey: key,
  });
}

type Status = { fill?: string; shape?: string; text?: string };

describe('failures an operator can fix release the claim; status texts come from the catalogues (nodes)', () => {
  let dir: string;
  const node = (id: string) => helper.getNode(id) as TestNode;
  const statuses: Array<{ id: string; status: Status }> = [];
  const watch = (...ids: string[]) => ids.forEach((id) => node(id).on('call:status', (c: { args: unknown[] }) => statuses.push({ id, status: c.args[0] as Status })));

  function flow(endpoint: Record<string, unknown>) {
    const at = { z: 'f1', x: 100, y: 100 };
    return [
      { id: 'f1', type: 'tab' },
      { id: 's', type: 'plantsync-store', kind: 'sqlite', file: path.join(dir, 'plantsync.db'), retentionDays: 7 },
      { id: 'e', type: 'plantsync-endpoint', role: 'ERP', profile: 'generic-rest', authType: 'none', ...endpoint },
      { id: 'i', type: 'plantsync-idempotency', store: 's', keyType: 'auto', leaseSeconds: 60, wires: [['work'], ['dup'], ['conf']], ...at },
      // 'work' is a helper for the store test; the endpoint test wires the guard to 'req'.
      { id: 'req', type: 'plantsync-request', endpoint: 'e', operation: 'auto', wires: [['ok']], ...at },
      { id: 'ok', type: 'plantsync-idempotency-complete', action: 'complete', wires: [['after']], ...at },
      { id: 'bad', type: 'plantsync-idempotency-complete', action: 'failure', wires: [['settled']], ...at },
      { id: 'c', type: 'catch', scope: ['req', 'ok'], uncaught: false, wires: [['bad']], ...at },
      { id: 'dl', type: 'plantsync-dead-letter', store: 'missing', ...at },
      { id: 'req0', type: 'plantsync-request', endpoint: 'missing', ...at },
      ...['work', 'dup', 'conf', 'after', 'settled'].map((id) => ({ id, type: 'helper', ...at })),
    ];
  }

  before(() => helper.startServer());
  after(() => helper.stopServer());
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-failure-settlement-'));
  });
  afterEach(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Sends an event into the guard; resolves with the output port it left by. */
  async function claim(event: CanonicalEvent): Promise<{ port: string; msg: Record<string, unknown> }> {
    const out = nextFrom(['work', 'dup', 'conf'].map(node));
    node('i').receive({ payload: event });
    const { node: from, msg } = await out;
    return { port: from.id, msg };
  }

  it('a store refusing connections while completing: UNEXPECTED_ERROR (retryable, cause kept), the claim released, the retry claims and completes', async () => {
    await helper.load(NODES, flow({ baseUrl: 'http://127.0.0.1:9/' }));
    watch('i', 'ok', 'bad', 'dl', 'req0');
    const store = await (helper.getNode('s') as unknown as PlantSyncStoreNode).idempotency();
    const complete = store.complete.bind(store);
    // The backend fails once the way pg does when PostgreSQL is down.
    (store as { complete: IdempotencyStore['complete'] }).complete = async () => {
      (store as { complete: IdempotencyStore['complete'] }).complete = complete;
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' });
    };
    const event = confirmation('conf:store-outage:1');

    const first = await claim(event);
    assert.equal(first.port, 'work');
    let settled = nextMessage(node('settled'));
    node('ok').receive(first.msg);
    const failed = await settled;
    const error = failed._error as { code: string; retryable: boolean; cause: { code: string } };
    assert.equal(error.code, 'UNEXPECTED_ERROR');
    assert.equal(error.retryable, true);
    assert.equal(error.cause.code, 'ECONNREFUSED');
    assert.equal(failed.statusCode, 503);
    assert.equal((failed.plantsync as { idempotency: { settled: string } }).idempotency.settled, 'released');
    assert.equal((await store.lookup('conf:store-outage:1'))?.state, 'released');

    // The store is back: the retry claims the key again and completes it; a third send is a duplicate.
    const retry = await claim(event);
    assert.equal(retry.port, 'work', 'the key was not failed for good');
    settled = nextMessage(node('after'));
    node('ok').receive(retry.msg);
    await settled;
    assert.equal((await claim(event)).port, 'dup');

    for (const { id, status } of statuses) {
      assert.ok(isEditorKey(String(status.text)) || translated.has(String(status.text)), `${id} showed "${status.text}", not a catalogue text`);
    }
    assert.ok(statuses.some((s) => s.id === 'dl' && s.status.text === 'plantsync-dead-letter.status.noStore'));
    assert.ok(statuses.some((s) => s.id === 'req0' && s.status.text === 'plantsync-request.status.noEndpoint'));
    assert.ok(statuses.some((s) => s.id === 'i' && /1 new · 0 dup · 0 conflict/.test(String(s.status.text))));
  });

  it('a misconfigured endpoint: CONFIG_ERROR per message, the claim released (never failed), a key status on the request node', async () => {
    const f = flow({ baseUrl: 'http://127.0.0.1:9/', overrides: '{not json' });
    (f.find((n) => n.id === 'i') as { wires: string[][] }).wires = [['req'], ['dup'], ['conf']];
    await helper.load(NODES, f);
    statuses.length = 0;
    watch('req');
    const event = confirmation('conf:config-error:1');

    for (let press = 1; press <= 2; press++) {
      const settled = nextMessage(node('settled'));
      node('i').receive({ payload: event });
      const msg = await settled;
      assert.equal((msg._error as { code: string }).code, 'CONFIG_ERROR', `press ${press}`);
      assert.equal(msg.statusCode, 500);
      assert.equal((msg.plantsync as { idempotency: { settled: string } }).idempotency.settled, 'released', `press ${press}: released, never failed`);
    }
    const store = await (helper.getNode('s') as unknown as PlantSyncStoreNode).idempotency();
    assert.equal((await store.lookup('conf:config-error:1'))?.state, 'released');
    assert.ok(statuses.some((s) => s.status.text === 'plantsync-request.status.configError'), JSON.stringify(statuses));
    for (const { status } of statuses) assert.ok(isEditorKey(String(status.text)) || translated.has(String(status.text)), String(status.text));
  });
});
