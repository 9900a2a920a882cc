/**
 * The obvious flow a new user builds: `http in -> plantsync-event -> plantsync-idempotency ->
 * plantsync-request`, with the MES posting bare confirmation data. Each POST makes a new event (a
 * new id, the time defaulting to now), so only a key from the source's own identity (the MES
 * confirmation id) keeps a resend from being posted to SAP twice, and makes a corrected quantity
 * under the same confirmation a conflict instead of a second posting.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CanonicalEvent } from '../../lib';
import { collect, helper } from '../helpers/node-helper';
import { waitFor } from '../helpers/wait';
import storeNode from '../../nodes/plantsync-store/plantsync-store';
import eventNode from '../../nodes/plantsync-event/plantsync-event';
import idempotencyNode from '../../nodes/plantsync-idempotency/plantsync-idempotency';
import completeNode from '../../nodes/plantsync-idempotency-complete/plantsync-idempotency-complete';
import endpointNode from '../../nodes/plantsync-endpoint/plantsync-endpoint';
import requestNode from '../../nodes/plantsync-request/plantsync-request';
import { startSapSimulator } from '../../sim/sap-erp';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const httpIn = require('@node-red/nodes/core/network/21-httpin.js') as (RED: unknown) => void;
/** The helper listens only with its admin app: the http in routes are mounted there for the test. */
const httpNodes = (RED: { httpNode: unknown }) => {
  RED.httpNode = (helper as unknown as { _httpAdmin: unknown })._httpAdmin;
  return httpIn(RED);
};

type Post = { send(body: unknown): PromiseLike<{ status: number; body: unknown }> };
const post = (url: string) => (helper.request() as unknown as { post(p: string): Post }).post(url);

/** What the MES sends: the confirmation with its own id, no envelope. */
const confirmation = (yieldValue = 48) => ({
  confirmationId: 'MES-CNF-0815', orderId: '1000124', operationId: '0010', workCenter: 'WC-PACK1', site: 'P100',
  actualStart: '2026-11-26T14:00:00Z', actualEnd: '2026-11-26T14:05:00Z', yield: { value: yieldValue, uom: 'EA' },
  scrap: { value: 2, uom: 'EA' }, confirmationType: 'Partial',
});

describe('http in -> plantsync-event -> guard -> request: a resent confirmation is posted once, a changed one is a conflict', function () {
  this.timeout(30000);
  let dir: string;
  let sim: Awaited<ReturnType<typeof startSapSimulator>>;
  const at = { z: 'f1', x: 100, y: 100 };

  before(async () => {
    sim = await startSapSimulator();
    await helper.startServer();
  });
  after(async () => {
    await helper.stopServer();
    await sim.close();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-http-event-'));
  });
  afterEach(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('posts one confirmation to SAP for two identical POSTs, and sends a corrected quantity to the conflict output', async () => {
    await helper.load([httpNodes, storeNode, eventNode, idempotencyNode, completeNode, endpointNode, requestNode], [
      { id: 'f1', type: 'tab' },
      { id: 'store', type: 'plantsync-store', kind: 'sqlite', file: path.join(dir, 'guard.db'), retentionDays: 7 },
      {
        id: 'erp', type: 'plantsync-endpoint', role: 'ERP', profile: 'sap-s4hana', baseUrl: sim.url, authType: 'basic', user: 'RFC_PLANTSYNC',
        timeoutMs: 5000, maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 50, failureThreshold: 5, openSeconds: 30,
      },
      { id: 'in', type: 'http in', url: '/mes/confirm', method: 'post', wires: [['event']], ...at },
      // Every default as the editor gives it: time "now", key "auto", id generated.
      {
        id: 'event', type: 'plantsync-event', eventType: 'mfg.operation.completed.v3', eventTypeType: 'catalogue', data: 'payload', dataType: 'msg',
        subjectType: 'auto', source: '/plants/P100/mes', sourceType: 'str', siteid: 'P100', siteidType: 'str', timeType: 'now',
        idempotencykeyType: 'auto', validate: true, wires: [['guard']], ...at,
      },
      { id: 'guard', type: 'plantsync-idempotency', store: 'store', keyType: 'auto', leaseSeconds: 60, wires: [['request'], ['reply'], ['conflict', 'reply']], ...at },
      { id: 'request', type: 'plantsync-request', endpoint: 'erp', operation: 'auto', wires: [['done']], ...at },
      { id: 'done', type: 'plantsync-idempotency-complete', action: 'complete', result: 'payload', resultType: 'msg', wires: [['reply']], ...at },
      { id: 'reply', type: 'http response', statusCode: '', headers: {}, ...at },
      { id: 'catch', type: 'catch', scope: ['event', 'guard', 'request', 'done'], uncaught: false, wires: [['caught']], ...at },
      { id: 'conflict', type: 'helper', ...at },
      { id: 'caught', type: 'helper', ...at },
    ], { erp: { password: 'secret' } });
    const conflicts = collect(helper.getNode('conflict'));
    const caught = collect(helper.getNode('caught'));
    const postings = async () => ((await (await fetch(`${sim.url}/__sim/postings`)).json()) as unknown[]).length;
    const before = await postings();

    const first = await post('/mes/confirm').send(confirmation());
    assert.equal(first.status, 201, JSON.stringify({ body: first.body, caught }));
    const resent = await post('/mes/confirm').send(confirmation());
    assert.equal(resent.status, 200, 'the resend is answered as a duplicate');
    assert.equal(await postings(), before + 1, 'exactly one posting at SAP');

    const corrected = await post('/mes/confirm').send(confirmation(47));
    assert.equal(corrected.status, 409);
    await waitFor(() => conflicts.length === 1, 10000, 'the conflict output');
    const event = conflicts[0].payload as CanonicalEvent<{ confirmationId: string; yield: { value: number } }>;
    assert.equal(event.idempotencykey, 'mfg.operation.completed:P100:MES-CNF-0815');
    assert.equal(event.data.yield.value, 47);
    assert.equal(await postings(), before + 1, 'the correction was not posted');
    assert.deepEqual(caught, []);
  });
});
