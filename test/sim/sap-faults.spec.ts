import * as assert from 'node:assert/strict';
import { startSapSimulator } from '../../sim/sap-erp';
import type { RunningSimulator } from '../../sim/common/server';
import { call, CONF, confirmation, control, jsonInit, MDOC, movement, PO, repeatHeaders, SapClient, steel } from './helpers';
import { waitFor } from '../helpers/wait';

const ORDER = `${PO}/A_ProductionOrder_2('000001000124')`;

describe('sim: SAP ERP fault injection', () => {
  let sim: RunningSimulator;
  let client: SapClient;
  let ctl: ReturnType<typeof control>;
  before(async () => {
    sim = await startSapSimulator();
    ctl = control(sim.url);
  });
  after(async () => {
    await sim.close();
  });
  beforeEach(async () => {
    await ctl.reset();
    client = new SapClient(sim.url);
    await client.fetchCsrf();
  });

  it('answers a queued 503 once without doing the work, then succeeds', async () => {
    await ctl.faults({ queue: [{ status: 503 }] });
    const failed = await client.post(`${MDOC}/A_MaterialDocumentHeader`, movement([steel('261', '10')]));
    assert.equal(failed.status, 503);
    assert.equal(failed.body.error.code, 'SERVICE_UNAVAILABLE');
    assert.equal((await client.stock('RM-100-STEEL'))['0001//01'], '500.000');
    const ok = await client.post(`${MDOC}/A_MaterialDocumentHeader`, movement([steel('261', '10')]));
    assert.equal(ok.status, 201);
    const ledger = await ctl.ledger();
    assert.deepEqual(ledger.map((e) => [e.status, e.fault]), [[503, 'status'], [201, undefined]]);
    assert.equal((await ctl.postings()).length, 1);
  });

  it('sends Retry-After with a queued 429 and a custom body', async () => {
    await ctl.faults({ queue: [{ status: 429, retryAfterSec: 2, body: { error: { code: 'THROTTLED' } } }] });
    const res = await client.get(ORDER);
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '2');
    assert.deepEqual(res.body, { error: { code: 'THROTTLED' } });
    assert.equal((await client.get(ORDER)).status, 200);
  });

  it('applies a matched entry only to requests whose path contains the match', async () => {
    await ctl.faults({ queue: [{ match: "ReleaseOrder?ManufacturingOrder='000001000123'", status: 503 }] });
    assert.equal((await client.get(ORDER)).status, 200);
    assert.equal((await client.release('000001000123')).status, 503);
    assert.equal((await client.release('000001000123')).status, 200);
  });

  it('applies an entry with a method only to requests of that method (a lookup GET passes a POST fault)', async () => {
    await ctl.faults({ queue: [{ match: 'A_MaterialDocumentHeader', method: 'post', status: 503 }] });
    const lookup = await client.get(`${MDOC}/A_MaterialDocumentHeader?$filter=MaterialDocumentHeaderText eq 'NONE'`);
    assert.equal(lookup.status, 200, 'the GET is not the POST the fault waits for');
    assert.equal((await client.post(`${MDOC}/A_MaterialDocumentHeader`, movement([steel('261', '10')]))).status, 503);
    const bad = await call(`${sim.url}/__sim/faults`, jsonInit('PUT', { queue: [{ method: 'PO ST', status: 503 }] }));
    assert.equal(bad.status, 400);
  });

  it('holds the socket on timeout until the client gives up; nothing is posted', async () => {
    await ctl.faults({ queue: [{ timeout: true }] });
    const started = Date.now();
    await assert.rejects(client.post(`${MDOC}/A_MaterialDocumentHeader`, movement([steel('261', '10')]), {}, AbortSignal.timeout(300)), { name: 'TimeoutError' });
    assert.ok(Date.now() - started < 3_000);
    const [entry] = await ctl.ledger();
    assert.deepEqual([entry.fault, entry.status, entry.response], ['timeout', null, null]);
    assert.deepEqual(await ctl.postings(), []);
    assert.equal((await client.stock('RM-100-STEEL'))['0001//01'], '500.000');
  });

  it('delays a queued request by delayMs and then does the work', async () => {
    await ctl.faults({ queue: [{ delayMs: 250 }] });
    const started = Date.now();
    const res = await client.post(`${MDOC}/A_MaterialDocumentHeader`, movement([steel('261', '10')]));
    assert.equal(res.status, 201);
    assert.ok(Date.now() - started >= 240, `took ${Date.now() - started} ms`);
  });

  it('dropAfterCommit posts the document, kills the connection, and a repeat returns the first document', async () => {
    await client.release('000001000123');
    await ctl.faults({ queue: [{ match: 'ProdnOrdConf2', dropAfterCommit: true }] });
    const headers = repeatHeaders('drop-1');
    await assert.rejects(client.post(`${CONF}/ProdnOrdConf2`, confirmation(), headers), (err: Error) => err.name === 'TypeError');
    let postings = (await ctl.postings()).filter((e) => String(e.path).includes('ProdnOrdConf2'));
    assert.equal(postings.length, 1);
    assert.equal(postings[0].fault, 'dropAfterCommit');
    const repeat = await client.post(`${CONF}/ProdnOrdConf2`, confirmation(), headers);
    assert.equal(repeat.status, 201);
    assert.deepEqual(postings[0].response, repeat.body);
    assert.equal(repeat.body.d.ConfirmationCount, '00000001');
    postings = (await ctl.postings()).filter((e) => String(e.path).includes('ProdnOrdConf2'));
    assert.equal(postings.length, 1, 'no second posting');
    const last = (await ctl.ledger()).at(-1);
    assert.equal(last?.replayOf, postings[0].seq);
  });

  it('dropAfterCommit with only an ExternalSystemConfirmation: the repeat returns the first confirmation', async () => {
    await client.release('000001000123');
    await ctl.faults({ queue: [{ dropAfterCommit: true }] });
    const body = confirmation({ ExternalSystemConfirmation: 'MES-DROP-1' });
    await assert.rejects(client.post(`${CONF}/ProdnOrdConf2`, body));
    const repeat = await client.post(`${CONF}/ProdnOrdConf2`, body);
    assert.equal(repeat.status, 201);
    assert.equal(repeat.body.d.ConfirmationCount, '00000001');
    assert.equal((await ctl.postings()).length, 2, 'the release and one confirmation');
  });

  it('errorRate follows the seed: the same seed gives the same sequence', async () => {
    const run = async () => {
      await ctl.faults({ errorRate: 0.5, errorStatuses: [503, 502], seed: 42 });
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await client.get(ORDER)).status);
      return statuses;
    };
    const first = await run();
    assert.deepEqual(await run(), first);
    assert.ok(first.includes(200) && first.some((s) => s >= 500), first.join(','));
    assert.equal((await ctl.ledger()).filter((e) => e.fault === 'errorRate').length, first.filter((s) => s !== 200).length * 2);
    const cleared = await call(`${sim.url}/__sim/faults`, { method: 'DELETE' });
    assert.equal(cleared.body.errorRate, 0);
    assert.equal((await client.get(ORDER)).status, 200);
  });

  it('rejects an invalid fault plan', async () => {
    const res = await call(`${sim.url}/__sim/faults`, jsonInit('PUT', { queue: [{ status: 503, timeout: true }] }));
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_fault_plan');
  });
});

describe('sim: closing with a held socket', () => {
  it('close() destroys a socket held by a timeout fault promptly', async () => {
    const sim = await startSapSimulator();
    let pending: Promise<unknown>;
    try {
      await control(sim.url).faults({ queue: [{ timeout: true }] });
      pending = call(`${sim.url}${PO}/`, { signal: AbortSignal.timeout(10_000) });
      pending.catch(() => undefined); // asserted below; avoid an unhandled rejection meanwhile
      // The request has reached the simulator once it took the timeout fault off the queue.
      await waitFor(async () => (await call(`${sim.url}/__sim/faults`)).body.queue.length === 0, 5000, 'the request held by the timeout fault');
    } finally {
      const started = Date.now();
      await sim.close();
      assert.ok(Date.now() - started < 2_000);
    }
    await assert.rejects(pending, (err: Error) => err.name === 'TypeError', 'the client sees the connection close, not its own timeout');
  });
});
