/**
 * SAP's repeatable requests through the nodes: the guard keeps the time of an event's first
 * attempt with its claim, and the request node sends it as Repeatability-First-Sent on the
 * first attempt, a redelivery after a released claim and a replay from the dead-letter store
 * alike (the simulator's ledger records the headers each request carried). And the request
 * node's status counts down to the next trial call while its endpoint's circuit is open.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createEvent, type CanonicalEvent } from '../../lib';
import type { LedgerEntry } from '../../sim';
import { startSapSimulator } from '../../sim/sap-erp';
import { translating } from '../helpers/catalogue';
import { helper, lastStatus, nextMessage, type TestNode } from '../helpers/node-helper';
import { waitFor } from '../helpers/wait';
import storeNode from '../../nodes/plantsync-store/plantsync-store';
import idempotencyNode from '../../nodes/plantsync-idempotency/plantsync-idempotency';
import completeNode from '../../nodes/plantsync-idempotency-complete/plantsync-idempotency-complete';
import deadLetterNode from '../../nodes/plantsync-dead-letter/plantsync-dead-letter';
import endpointNode from '../../nodes/plantsync-endpoint/plantsync-endpoint';
import requestNode from '../../nodes/plantsync-request/plantsync-request';

const NODES = translating([storeNode, idempotencyNode, completeNode, deadLetterNode, endpointNode, requestNode]).nodes;
const MDOC_POST = '/sap/opu/odata/sap/API_MATERIAL_DOCUMENT_SRV/A_MaterialDocumentHeader';

const consumed = (): CanonicalEvent => createEvent({
  type: 'mfg.material.consumed.v2', source: '/plants/P100/mes', siteid: 'P100',
  data: { movementId: 'MV-FIRST-SENT-1', orderId: '1000124', operationId: '0010', material: 'RM-100-STEEL', quantity: { value: 2.5, uom: 'KG' }, site: 'P100', storageLocation: '0001' },
});

type Meta = { idempotency: { status: string; attempt: number; firstAttemptAt: string; settled?: string } };

describe('Repeatability-First-Sent from the claim, and the circuit countdown (nodes against the SAP simulator)', function () {
  this.timeout(30000);
  let sim: Awaited<ReturnType<typeof startSapSimulator>>;
  let dir: string;
  const node = (id: string) => helper.getNode(id) as TestNode;
  const at = { z: 'f1', x: 100, y: 100 };
  const control = (route: string, method = 'GET', body?: unknown) => fetch(`${sim.url}/__sim/${route}`, {
    method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  }).then((r) => r.json() as Promise<unknown>);
  const faults = (plan: unknown) => control('faults', 'PUT', plan);
  const endpoint = (extra: Record<string, unknown> = {}) => ({
    id: 'ep', type: 'plantsync-endpoint', role: 'ERP', profile: 'sap-s4hana', baseUrl: sim.url, authType: 'none',
    timeoutMs: 5000, maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 50, ...extra,
  });

  before(async () => {
    sim = await startSapSimulator();
    await helper.startServer();
  });
  after(async () => {
    await helper.stopServer();
    await sim.close();
  });
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-first-sent-'));
    await control('reset', 'POST');
  });
  afterEach(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Waits until the wall clock is in a later second than `imfDate`, so a send now could not carry it by chance. */
  const nextSecond = (imfDate: string) => waitFor(() => new Date().toUTCString() !== imfDate, 2_000, `a second after ${imfDate}`);

  it('a redelivered and a replayed posting carry the first attempt\'s Repeatability-First-Sent', async () => {
    await helper.load(NODES, [
      { id: 'f1', type: 'tab' },
      { id: 's', type: 'plantsync-store', kind: 'sqlite', file: path.join(dir, 'plantsync.db'), retentionDays: 7 },
      endpoint(),
      { id: 'i', type: 'plantsync-idempotency', store: 's', keyType: 'auto', leaseSeconds: 60, wires: [['req'], ['dup'], ['conf']], ...at },
      { id: 'req', type: 'plantsync-request', endpoint: 'ep', operation: 'auto', wires: [['ok']], ...at },
      { id: 'ok', type: 'plantsync-idempotency-complete', action: 'complete', result: 'payload', resultType: 'msg', wires: [['after']], ...at },
      { id: 'c', type: 'catch', scope: ['req'], uncaught: false, wires: [['bad']], ...at },
      { id: 'bad', type: 'plantsync-idempotency-complete', action: 'failure', wires: [['settled']], ...at },
      { id: 'dl', type: 'plantsync-dead-letter', store: 's', target: 'ERP', siteid: 'P100', siteidType: 'str', wires: [['replayed'], ['events']], ...at },
      ...['dup', 'conf', 'after', 'settled', 'replayed', 'events'].map((id) => ({ id, type: 'helper', ...at })),
    ]);
    const event = consumed();
    // The POSTs only: a re-claimed attempt first looks the document up (a GET on the same entity set).
    const postings = async () => ((await control('ledger')) as LedgerEntry[]).filter((e) => e.method === 'POST' && e.path === MDOC_POST);

    // 1. The first attempt: the gateway is unavailable (503), the claim is released.
    await faults({ queue: [{ match: 'A_MaterialDocumentHeader', method: 'POST', status: 503 }] });
    let settled = nextMessage(node('settled'));
    node('i').receive({ payload: event });
    const first = await settled;
    assert.equal((first._error as { code: string }).code, 'TARGET_UNAVAILABLE');
    const claim1 = (first.plantsync as Meta).idempotency;
    assert.deepEqual([claim1.attempt, claim1.settled], [1, 'released']);
    const [sent1] = await postings();
    const firstSent = sent1.headers?.['repeatability-first-sent'] as string;
    assert.equal(firstSent, new Date(claim1.firstAttemptAt).toUTCString(), 'the first attempt sends the claim\'s time');

    // 2. A redelivery (same event, new envelope id) a second later: the gateway rejects it for good.
    await nextSecond(firstSent);
    await faults({ queue: [{ match: 'A_MaterialDocumentHeader', method: 'POST', status: 400, body: { error: { code: 'M7/090', message: { lang: 'en', value: 'Plant P100 is locked' } } } }] });
    settled = nextMessage(node('settled'));
    node('i').receive({ payload: { ...structuredClone(event), id: `${event.id}-redelivered` } });
    const second = await settled;
    assert.equal((second._error as { code: string }).code, 'TARGET_REJECTED');
    const claim2 = (second.plantsync as Meta).idempotency;
    assert.deepEqual([claim2.attempt, claim2.settled, claim2.firstAttemptAt], [2, 'failed', claim1.firstAttemptAt]);

    // 3. Dead-lettered, then replayed (later still): it posts, with the first attempt's time.
    const parked = nextMessage(node('events'));
    node('dl').receive(second);
    await parked;
    const replayed = nextMessage(node('replayed'));
    node('dl').receive({ topic: 'replay', payload: { correlationId: event.correlationid } });
    const back = await replayed;
    const done = nextMessage(node('after'));
    node('i').receive({ payload: back.payload, plantsync: back.plantsync });
    const posted = await done;
    const claim3 = (posted.plantsync as Meta).idempotency;
    assert.deepEqual([claim3.attempt, claim3.firstAttemptAt], [3, claim1.firstAttemptAt]);
    assert.match((posted.payload as { documentNumber: string }).documentNumber, /^49\d{8}$/);

    const sent = await postings();
    assert.deepEqual(sent.map((e) => [e.status, e.fault]), [[503, 'status'], [400, 'status'], [201, undefined]]);
    assert.deepEqual(sent.map((e) => e.headers?.['repeatability-first-sent']), [firstSent, firstSent, firstSent], 'the same first-sent time on every attempt');
    assert.equal(new Set(sent.map((e) => e.headers?.['repeatability-request-id'])).size, 1, 'and the same request id');
    assert.equal(((await control('postings')) as unknown[]).length, 1);
  });

  it('the request status counts down to the next trial while the circuit is open, then shows half-open and closes on success', async () => {
    await helper.load(NODES, [
      { id: 'f1', type: 'tab' },
      endpoint({ failureThreshold: 1, probeSeconds: 2, openSeconds: 60 }),
      { id: 'req', type: 'plantsync-request', endpoint: 'ep', operation: 'auto', wires: [['out']], ...at },
      { id: 'c', type: 'catch', scope: ['req'], uncaught: false, wires: [['caught']], ...at },
      { id: 'out', type: 'helper', ...at },
      { id: 'caught', type: 'helper', ...at },
    ]);
    const status = lastStatus(node('req'));
    const text = () => String(status()?.text ?? '');

    await faults({ queue: [{ match: 'A_MaterialDocumentHeader', method: 'POST', status: 503 }] });
    const caught = nextMessage(node('caught'));
    node('req').receive({ payload: consumed() });
    assert.equal(((await caught)._error as { code: string }).code, 'TARGET_UNAVAILABLE');
    await waitFor(() => text() === 'ERP circuit open, next trial in 2 s · ✓0 ✗1', 2_000, `the countdown at 2 s, got "${text()}"`);
    assert.equal(status()?.fill, 'yellow');
    await waitFor(() => text() === 'ERP circuit open, next trial in 1 s · ✓0 ✗1', 2_000, `the countdown at 1 s, got "${text()}"`);
    await waitFor(() => text() === 'ERP circuit half-open, next call is a trial · ✓0 ✗1', 3_000, `half-open, got "${text()}"`);

    const out = nextMessage(node('out'));
    node('req').receive({ payload: consumed() });
    await out;
    await waitFor(() => text() === 'ERP ✓1 ✗1', 2_000, `closed, got "${text()}"`);
    assert.equal(status()?.fill, 'green');
  });
});
