import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createEvent, defaultRegistry, type CanonicalEvent } from '../../lib';
import { collect, helper, lastStatus, nextFrom, nextMessage, type TestNode } from '../helpers/node-helper';
import { waitFor } from '../helpers/wait';
import storeNode from '../../nodes/plantsync-store/plantsync-store';
import idempotencyNode from '../../nodes/plantsync-idempotency/plantsync-idempotency';
import completeNode from '../../nodes/plantsync-idempotency-complete/plantsync-idempotency-complete';
import deadLetterNode from '../../nodes/plantsync-dead-letter/plantsync-dead-letter';

import { translating } from '../helpers/catalogue';

// Status counters are translated from the real catalogue, so the tests see the numbers.
const NODES = translating([storeNode, idempotencyNode, completeNode, deadLetterNode]).nodes;

function confirmation(yieldValue = 95): CanonicalEvent {
  return createEvent({
    type: 'mfg.operation.completed.v2',
    source: '/plants/P100/mes',
    siteid: 'P100',
    data: {
      orderId: '1000123', operationId: '0010', workCenter: 'WC-ASSY1', site: 'P100', actualStart: '2026-11-26T06:00:00Z',
      actualEnd: '2026-11-26T07:30:00Z', yield: { value: yieldValue, uom: 'EA' }, scrap: { value: 5, uom: 'EA' }, confirmationType: 'Partial',
    },
    idempotencykey: 'conf:1000123:0010:1',
  });
}

/** A redelivery: same business key and data, new envelope id. */
const redelivery = (e: CanonicalEvent) => ({ ...structuredClone(e), id: `${e.id}-again` });

describe('idempotency guard, claim settlement and dead letters (nodes)', () => {
  let dir: string;
  const node = (id: string) => helper.getNode(id) as TestNode;

  function flow() {
    const at = { z: 'f1', x: 100, y: 100 };
    return [
      { id: 'f1', type: 'tab' },
      { id: 's', type: 'plantsync-store', kind: 'sqlite', file: path.join(dir, 'plantsync.db'), retentionDays: 7 },
      { id: 'i', type: 'plantsync-idempotency', store: 's', keyType: 'auto', leaseSeconds: 60, wires: [['new'], ['dup'], ['conf']], ...at },
      { id: 'ok', type: 'plantsync-idempotency-complete', action: 'complete', result: 'payload.doc', resultType: 'msg', wires: [['after']], ...at },
      { id: 'bad', type: 'plantsync-idempotency-complete', action: 'failure', wires: [['dl']], ...at },
      { id: 'dl', type: 'plantsync-dead-letter', store: 's', target: 'ERP', siteid: 'P100', siteidType: 'str', wires: [['replayed'], ['events']], ...at },
      { id: 'c', type: 'catch', scope: ['i', 'ok', 'bad', 'dl'], uncaught: false, wires: [['caught']], ...at },
      ...['new', 'dup', 'conf', 'after', 'replayed', 'events', 'caught'].map((id) => ({ id, type: 'helper', ...at })),
    ];
  }

  before(() => helper.startServer());
  after(() => helper.stopServer());
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-nodes-'));
    await helper.load(NODES, flow());
  });
  afterEach(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Sends an event through the guard; resolves with the output it came out of. */
  async function guard(event: unknown, extra: Record<string, unknown> = {}): Promise<{ port: string; msg: Record<string, unknown> }> {
    const got = nextFrom(['new', 'dup', 'conf', 'caught'].map(node));
    node('i').receive({ payload: event, ...extra });
    const { node: from, msg } = await got;
    return { port: from.id, msg };
  }

  /** Plays the target system: a successful post returns a document number, then the claim completes. */
  async function post(msg: Record<string, unknown>, doc: string) {
    const done = nextMessage(node('after'));
    node('ok').receive({ ...msg, payload: { ...(msg.payload as object), doc } });
    return done;
  }

  it('sends a new key to the first output and its redelivery to the duplicate output with the first result', async () => {
    const event = confirmation();
    const first = await guard(event);
    assert.equal(first.port, 'new');
    const claim = (first.msg.plantsync as { idempotency: { status: string; key: string; attempt: number } }).idempotency;
    assert.deepEqual([claim.status, claim.key, claim.attempt], ['claimed', 'conf:1000123:0010:1', 1]);
    const settled = await post(first.msg, '4900001234');
    assert.equal((settled.plantsync as { idempotency: { settled: string } }).idempotency.settled, 'completed');

    const second = await guard(redelivery(event));
    assert.equal(second.port, 'dup');
    assert.deepEqual((second.msg.plantsync as { idempotency: unknown }).idempotency, { store: 's', key: 'conf:1000123:0010:1', status: 'duplicate', result: '4900001234' });
  });

  it('releases the claim when the flow fails with a retryable error, so the retry succeeds', async () => {
    const event = confirmation();
    const first = await guard(event);
    const parked = nextMessage(node('events'));
    node('bad').receive({ ...first.msg, error: { message: 'connect ECONNREFUSED 127.0.0.1:8443', code: 'ECONNREFUSED', source: { id: 'http1', type: 'http request' } } });
    await parked;
    const retry = await guard(redelivery(event));
    assert.equal(retry.port, 'new', 'a released key is claimable at once');
    assert.equal((retry.msg.plantsync as { idempotency: { attempt: number } }).idempotency.attempt, 2);
  });

  it('keeps a permanently failed key failed: its redelivery is not worked again', async () => {
    const event = confirmation();
    const first = await guard(event);
    const parked = nextMessage(node('events'));
    node('bad').receive({ ...first.msg, error: { message: 'HTTP 422', source: { id: 'http1' } }, _error: { code: 'HTTP_422', message: 'Unprocessable: order 1000123 is locked', statusCode: 422 } });
    await parked;
    const again = await guard(redelivery(event));
    assert.equal(again.port, 'dup');
    const info = (again.msg.plantsync as { idempotency: { status: string; reason: { code: string } } }).idempotency;
    assert.equal(info.status, 'failed');
    assert.equal(info.reason.code, 'HTTP_422');
  });

  it('reports the same key with a different payload as a conflict', async () => {
    const first = await guard(confirmation(95));
    await post(first.msg, '4900001234');
    const other = await guard({ ...confirmation(96), id: 'evt-other' });
    assert.equal(other.port, 'conf');
    assert.equal((other.msg.plantsync as { idempotency: { status: string } }).idempotency.status, 'conflict');
  });

  it('raises IN_FLIGHT for a key another holder works on, and NO_CLAIM for a message without a claim', async () => {
    const event = confirmation();
    await guard(event);
    const busy = await guard(redelivery(event));
    assert.equal(busy.port, 'caught');
    assert.equal((busy.msg.error as { code: string }).code, 'IN_FLIGHT');
    const caught = nextMessage(node('caught'));
    node('ok').receive({ payload: {} });
    assert.equal(((await caught).error as { code: string }).code, 'NO_CLAIM');
    // The failure action passes a claimless failure (the guard's own IN_FLIGHT) on to the dead letters.
    const parked = nextMessage(node('events'));
    node('bad').receive({ ...busy.msg });
    const rec = (await parked).deadLetter as { reason: { code: string } };
    assert.equal(rec.reason.code, 'IN_FLIGHT');
  });

  it('dead-letters a failed event with its reason, emits a valid deadlettered event, and shows the count', async () => {
    const status = lastStatus(node('dl'));
    const event = confirmation();
    const first = await guard(event);
    const parked = nextMessage(node('events'));
    node('bad').receive({ ...first.msg, error: { message: 'HTTP 503', source: { id: 'i', type: 'http request', name: 'post to ERP' } }, _error: { code: 'HTTP_503', message: 'Service Unavailable' } });
    const out = await parked;
    const dlEvent = out.payload as CanonicalEvent<Record<string, unknown>>;
    assert.equal(dlEvent.type, 'mfg.integration.deadlettered.v1');
    assert.equal(dlEvent.causationid, event.id);
    assert.equal(dlEvent.correlationid, event.correlationid);
    assert.ok(defaultRegistry().validate(dlEvent).valid, JSON.stringify(defaultRegistry().validate(dlEvent)));
    const record = out.deadLetter as { original: unknown; reason: { code: string; target: string; attempts: number }; node: { name: string } };
    assert.deepEqual(record.original, event, 'the original event, untouched');
    assert.deepEqual([record.reason.code, record.reason.target, record.reason.attempts], ['HTTP_503', 'ERP', 1]);
    assert.equal(record.node.name, 'post to ERP');
    await waitFor(() => status()?.text === 'DLQ 1', 5000, 'the dead-letter status to count the parked event');
    assert.deepEqual(status(), { fill: 'red', shape: 'ring', text: 'DLQ 1' });

    const listed = nextMessage(node('events'));
    node('dl').receive({ topic: 'list', payload: { correlationId: event.correlationid } });
    assert.equal(((await listed).payload as unknown[]).length, 1);
  });

  it('replays through the same guard: a failed event is posted once, a second replay is a duplicate', async () => {
    // Every message the guard lets through to the work (its first output) is a posting.
    const posts = collect(node('new'));
    const event = confirmation();
    const first = await guard(event);
    const parked = nextMessage(node('events'));
    node('bad').receive({ ...first.msg, error: { message: 'HTTP 422', source: { id: 'x' } }, _error: { code: 'HTTP_422', message: 'order locked', statusCode: 422 } });
    const dlId = ((await parked).deadLetter as { id: string }).id;

    // Replay by correlation id: the original event comes back out, marked as a replay.
    const replayedMsg = nextMessage(node('replayed'));
    const replayedEvent = nextMessage(node('events'));
    node('dl').receive({ topic: 'replay', payload: { correlationId: event.correlationid } });
    const back = await replayedMsg;
    assert.deepEqual(back.payload, event);
    assert.deepEqual((back.plantsync as { replay: unknown }).replay, { deadLetterId: dlId, replayCount: 1 });
    const replayed = (await replayedEvent).payload as CanonicalEvent<{ replayCount: number }>;
    assert.equal(replayed.type, 'mfg.integration.replayed.v1');
    assert.ok(defaultRegistry().validate(replayed).valid);

    // Through the guard: the failed key is reclaimed for the replay and posted.
    const retry = await guard(back.payload, { plantsync: back.plantsync });
    assert.equal(retry.port, 'new');
    await post(retry.msg, '4900009999');

    // Replaying the same record again (already replayed) does not post twice.
    const again = nextMessage(node('replayed'));
    node('dl').receive({ topic: 'replay', payload: { id: dlId, status: 'any' } });
    const second = await again;
    const dup = await guard(second.payload, { plantsync: second.plantsync });
    assert.equal(dup.port, 'dup');
    assert.equal((dup.msg.plantsync as { idempotency: { result: string } }).idempotency.result, '4900009999');
    // The first attempt (failed) and the replay: two passes through the work, one successful posting.
    assert.equal(posts.length, 2, 'the work ran for the failed attempt and the first replay only');
  });

  it('re-parks a replay that fails again with its history, not as a new record', async () => {
    const event = confirmation();
    const first = await guard(event);
    let parked = nextMessage(node('events'));
    node('bad').receive({ ...first.msg, _error: { code: 'HTTP_422', message: 'order locked', statusCode: 422 }, error: { message: 'x', source: { id: 'x' } } });
    const dlId = ((await parked).deadLetter as { id: string }).id;
    const replayedMsg = nextMessage(node('replayed'));
    node('dl').receive({ topic: 'replay', payload: dlId });
    const back = await replayedMsg;
    const retry = await guard(back.payload, { plantsync: back.plantsync });
    parked = nextMessage(node('events'));
    node('bad').receive({ ...retry.msg, _error: { code: 'HTTP_409', message: 'conflict in ERP', statusCode: 409 }, error: { message: 'y', source: { id: 'x' } } });
    const rec = (await parked).deadLetter as { id: string; reason: { code: string; attempts: number }; history: { code: string }[] };
    assert.equal(rec.id, dlId);
    assert.equal(rec.reason.code, 'HTTP_409');
    assert.equal(rec.reason.attempts, 2);
    assert.deepEqual(rec.history.map((h) => h.code), ['HTTP_422']);
    const counted = nextMessage(node('events'));
    node('dl').receive({ topic: 'count', payload: { status: 'any' } });
    assert.equal((await counted).payload, 1);
  });

  it('purges on command and rejects a malformed selector with a pointer', async () => {
    const first = await guard(confirmation());
    const parked = nextMessage(node('events'));
    node('bad').receive({ ...first.msg, _error: { code: 'HTTP_400', message: 'bad', statusCode: 400 }, error: { message: 'x', source: { id: 'x' } } });
    await parked;
    const purged = nextMessage(node('events'));
    node('dl').receive({ topic: 'purge', payload: {} });
    assert.deepEqual((await purged).payload, { purged: 1 });
    // Watched before the command: a send made while handling it is delivered before its error is caught.
    const events = collect(node('replayed'));
    const caught = nextMessage(node('caught'));
    node('dl').receive({ topic: 'list', payload: { from: 'last tuesday' } });
    const err = await caught;
    assert.equal((err.error as { code: string }).code, 'INVALID_INPUT');
    assert.equal((err._error as { details: { pointer: string }[] }).details[0].pointer, '/from');
    assert.equal(events.length, 0, 'a refused command replays nothing');
  });
});
