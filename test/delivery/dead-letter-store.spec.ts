import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DeadLetterStore, type FailureReason } from '../../lib/delivery/dead-letter-store';

const reason = (code: string, at: string, attempts = 3): FailureReason => ({
  code, message: `${code} happened`, target: 'ERP', attempts, firstFailureAt: '2026-11-26T06:00:00.000Z', lastFailureAt: at,
});

describe('dead-letter store', () => {
  let dir: string;
  let store: DeadLetterStore;
  const event = { specversion: '1.0', id: 'evt-1', type: 'mfg.operation.completed.v2', correlationid: 'order-1', idempotencykey: 'k-1', data: { orderId: '1', n: 1.5, text: 'Größe ✓' } };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-dl-'));
    store = new DeadLetterStore(path.join(dir, 'dl.db'));
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the original event untouched with the reason and where it failed, across a reopen', async () => {
    const rec = await store.add({ original: event, reason: reason('HTTP_503', '2026-11-26T06:05:00.000Z'), flow: { id: 'f1', name: 'Plant P100' }, node: { id: 'n1', type: 'http request', name: 'post to ERP' } });
    await store.close();
    store = new DeadLetterStore(path.join(dir, 'dl.db'));
    const back = await store.get(rec.id);
    assert.deepEqual(back?.original, event);
    assert.equal(back?.status, 'parked');
    assert.equal(back?.eventId, 'evt-1');
    assert.equal(back?.correlationId, 'order-1');
    assert.equal(back?.idempotencyKey, 'k-1');
    assert.deepEqual(back?.reason, reason('HTTP_503', '2026-11-26T06:05:00.000Z'));
    assert.deepEqual(back?.node, { id: 'n1', type: 'http request', name: 'post to ERP' });
    assert.deepEqual(back?.history, []);
  });

  it('keeps buffers and strings as they were', async () => {
    const buf = Buffer.from([0, 1, 2, 255]);
    const a = await store.add({ original: buf, reason: reason('INVALID_JSON', '2026-11-26T06:00:00.000Z') });
    const b = await store.add({ original: '{"broken":', reason: reason('INVALID_JSON', '2026-11-26T06:00:00.000Z') });
    assert.ok(Buffer.isBuffer((await store.get(a.id))?.original));
    assert.deepEqual((await store.get(a.id))?.original, buf);
    assert.equal((await store.get(b.id))?.original, '{"broken":');
  });

  it('selects by id, correlation id, type and time range; parked only unless asked', async () => {
    const r1 = await store.add({ original: event, reason: reason('A', '2026-11-26T06:00:00.000Z') });
    const r2 = await store.add({ original: { ...event, id: 'evt-2', correlationid: 'order-2' }, reason: reason('B', '2026-11-26T07:00:00.000Z') });
    const r3 = await store.add({ original: { ...event, id: 'evt-3', type: 'mfg.material.consumed.v1' }, reason: reason('C', '2026-11-26T08:00:00.000Z') });
    assert.deepEqual((await store.list({ ids: [r2.id] })).map((r) => r.id), [r2.id]);
    assert.deepEqual((await store.list({ correlationId: 'order-1' })).map((r) => r.id), [r1.id, r3.id]);
    assert.deepEqual((await store.list({ type: 'mfg.material.consumed.v1' })).map((r) => r.id), [r3.id]);
    assert.deepEqual((await store.list({ from: '2026-11-26T06:30:00Z', to: '2026-11-26T07:30:00Z' })).map((r) => r.id), [r2.id]);
    await store.markReplayed([r1.id]);
    assert.deepEqual((await store.list({ correlationId: 'order-1' })).map((r) => r.id), [r3.id]);
    assert.deepEqual((await store.list({ correlationId: 'order-1', status: 'any' })).map((r) => r.id), [r1.id, r3.id]);
    assert.equal(store.count(), 2);
    assert.equal(store.count('any'), 3);
  });

  it('re-parks a replay that failed again, with its history and replay count', async () => {
    const rec = await store.add({ original: event, reason: reason('HTTP_503', '2026-11-26T06:05:00.000Z') });
    const [replayed] = await store.markReplayed([rec.id]);
    assert.equal(replayed.status, 'replayed');
    assert.equal(replayed.replayCount, 1);
    const again = await store.add({ original: event, deadLetterId: rec.id, reason: reason('HTTP_422', '2026-11-26T09:00:00.000Z', 1) });
    assert.equal(again.id, rec.id);
    assert.equal(again.status, 'parked');
    assert.equal(again.reason.code, 'HTTP_422');
    assert.deepEqual(again.history.map((h) => h.code), ['HTTP_503']);
    assert.equal(again.replayCount, 1);
    assert.equal(store.count('any'), 1, 'no second record');
  });

  it('purges by selector', async () => {
    await store.add({ original: event, reason: reason('A', '2026-11-26T06:00:00.000Z') });
    await store.add({ original: { ...event, correlationid: 'order-9' }, reason: reason('B', '2026-11-26T06:00:00.000Z') });
    assert.equal(await store.purge({ correlationId: 'order-9' }), 1);
    assert.equal(store.count('any'), 1);
    const [kept] = await store.list();
    await store.markReplayed([kept.id]);
    assert.equal(await store.purge(), 0, 'parked only by default: a replayed record is kept');
    assert.equal(await store.purge({ status: 'any' }), 1);
    assert.equal(store.count('any'), 0);
  });
});
