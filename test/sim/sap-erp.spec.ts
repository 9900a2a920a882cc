import * as assert from 'node:assert/strict';
import { startSapSimulator } from '../../sim/sap-erp';
import type { RunningSimulator } from '../../sim/common/server';
import {
  call, CONF, confirmation, control, INSP, jsonInit, MDOC, movement, PO, repeatHeaders, SapClient, steel,
} from './helpers';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('sim: SAP ERP gateway security', () => {
  let sim: RunningSimulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it('issues a CSRF token with a session cookie and requires both on writes', async () => {
    sim = await startSapSimulator();
    const client = new SapClient(sim.url);
    const noToken = await client.post(CONF + '/ProdnOrdConf2', confirmation());
    assert.equal(noToken.status, 403);
    assert.equal(noToken.headers.get('x-csrf-token'), 'Required');
    assert.equal(typeof noToken.body.error.message.value, 'string');

    const fetched = await client.fetchCsrf();
    assert.equal(fetched.status, 404, 'by default the gateway answers the fetch with an error, and still hands out the token');
    assert.ok(client.token && client.token.length >= 16);
    assert.match(fetched.headers.get('set-cookie') ?? '', /^SAP_SESSIONID_PS1_100=[^;]+; path=\/; HttpOnly$/);

    const stale = new SapClient(sim.url);
    stale.cookie = client.cookie;
    stale.token = 'not-the-token';
    assert.equal((await stale.post(MDOC + '/A_MaterialDocumentHeader', movement([steel('262', '1')]))).status, 403);
    const noCookie = new SapClient(sim.url);
    noCookie.token = client.token;
    assert.equal((await noCookie.post(MDOC + '/A_MaterialDocumentHeader', movement([steel('262', '1')]))).status, 403);

    const ok = await client.post(MDOC + '/A_MaterialDocumentHeader', movement([steel('262', '1')]));
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal((await client.fetchCsrf()).headers.get('x-csrf-token'), client.token, 'same session keeps its token');
    assert.equal((await control(sim.url).postings()).length, 1, 'rejected writes never reach the business logic');
  });

  it('expires CSRF tokens after csrfTtlMs', async () => {
    let t = Date.now();
    sim = await startSapSimulator({ csrfTtlMs: 150, now: () => t });
    const client = new SapClient(sim.url);
    await client.fetchCsrf();
    const first = client.token;
    t += 149;
    const fresh = await client.post(MDOC + '/A_MaterialDocumentHeader', movement([steel('262', '1')]));
    assert.equal(fresh.status, 201, 'valid just before csrfTtlMs');
    t += 1;
    const expired = await client.post(MDOC + '/A_MaterialDocumentHeader', movement([steel('262', '1')]));
    assert.equal(expired.status, 403);
    assert.equal(expired.headers.get('x-csrf-token'), 'Required');
    await client.fetchCsrf();
    assert.notEqual(client.token, first);
    assert.equal((await client.post(MDOC + '/A_MaterialDocumentHeader', movement([steel('262', '1')]))).status, 201);
  });

  it('issues OAuth client-credentials tokens that expire after tokenTtlSec', async () => {
    let t = Date.now();
    sim = await startSapSimulator({ auth: { oauth: { clientId: 'plantsync', clientSecret: 's3cret', tokenTtlSec: 1 } }, now: () => t });
    const tokenUrl = `${sim.url}/sap/bc/sec/oauth2/token`;
    const form = (secret: string): RequestInit => ({
      method: 'POST',
      headers: { authorization: basic('plantsync', secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const wrong = await call(tokenUrl, form('nope'));
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, { error: 'invalid_client' });

    const issued = await call(tokenUrl, form('s3cret'));
    assert.equal(issued.status, 200);
    assert.equal(issued.body.token_type, 'Bearer');
    assert.equal(issued.body.expires_in, 1);
    assert.deepEqual(Object.keys(issued.body).sort(), ['access_token', 'expires_in', 'token_type']);

    const order = `${PO}/A_ProductionOrder_2('000001000123')`;
    assert.equal((await new SapClient(sim.url).get(order)).status, 401, 'no credentials');
    const client = new SapClient(sim.url, `Bearer ${issued.body.access_token}`);
    assert.equal((await client.get(order)).status, 200);
    t += 999;
    assert.equal((await client.get(order)).status, 200, 'valid just before tokenTtlSec');
    t += 1;
    const expired = await client.get(order);
    assert.equal(expired.status, 401);
    assert.equal(expired.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
  });

  it('accepts Basic credentials when configured, and only the right ones', async () => {
    sim = await startSapSimulator({ auth: { basic: { user: 'RFC_USER', password: 'pw' } } });
    const order = `${PO}/A_ProductionOrder_2('000001000123')`;
    const anonymous = await new SapClient(sim.url).get(order);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    assert.equal((await new SapClient(sim.url, basic('RFC_USER', 'wrong')).get(order)).status, 401);
    const client = new SapClient(sim.url, basic('RFC_USER', 'pw'));
    assert.equal((await client.get(order)).status, 200);
    assert.equal((await client.fetchCsrf()).status, 404);
    assert.ok(client.token, 'the token comes with the 404');
    assert.equal((await client.release('000001000123')).status, 200);
  });

  it('token fetch switches: the answer\'s status, and which URLs hand out a token', async () => {
    sim = await startSapSimulator({ csrfFetchStatus: 0 });
    const ctl = control(sim.url);
    const fetchAt = async (path: string) => {
      const res = await call(`${sim!.url}${path}`, { headers: { 'x-csrf-token': 'Fetch' } });
      return [res.status, res.headers.get('x-csrf-token') !== null, res.headers.get('set-cookie') !== null];
    };
    const root = `${MDOC}/`;
    const entitySet = `${MDOC}/A_MaterialDocumentItem`;
    assert.deepEqual(await fetchAt(root), [200, true, true], 'the service document with the token');
    assert.deepEqual(await fetchAt(entitySet), [404, true, true], 'an entity set that takes no GET: 404 with the token');

    await ctl.config({ csrfFetchStatus: 405 });
    assert.deepEqual(await fetchAt(root), [405, true, true]);
    await ctl.config({ csrfTokenOn: 'service-root' });
    assert.deepEqual(await fetchAt(root), [405, true, true]);
    assert.deepEqual(await fetchAt(entitySet), [405, false, false]);
    await ctl.config({ csrfTokenOn: 'entity-set', csrfFetchStatus: 0 });
    assert.deepEqual(await fetchAt(root), [200, false, false]);
    assert.deepEqual(await fetchAt(entitySet), [404, true, true]);
    assert.deepEqual(await fetchAt(`${PO}/A_ProductionOrder_2('000001000123')`), [200, true, true]);
    await ctl.config({ csrfTokenOn: 'none', csrfFetchStatus: 403 });
    assert.deepEqual(await fetchAt(root), [403, false, false]);
    assert.deepEqual(await fetchAt(entitySet), [403, false, false]);

    // A plain read is never affected.
    assert.equal((await call(`${sim.url}${root}`)).status, 200);
    for (const bad of [{ csrfTokenOn: 'sometimes' }, { csrfFetchStatus: 200 }, { csrfFetchStatus: 404.5 }]) {
      const res = await call(`${sim.url}/__sim/config`, jsonInit('PUT', bad));
      assert.equal(res.status, 400, JSON.stringify(bad));
    }
  });
});

describe('sim: SAP ERP business behaviour', () => {
  let sim: RunningSimulator;
  let client: SapClient;
  before(async () => {
    sim = await startSapSimulator();
  });
  after(async () => {
    await sim.close();
  });
  beforeEach(async () => {
    await control(sim.url).reset();
    client = new SapClient(sim.url);
    await client.fetchCsrf();
  });

  it('reads a production order with $expand, ETag and 3-decimal strings', async () => {
    const res = await client.get(`${PO}/A_ProductionOrder_2('000001000123')?$expand=to_ProductionOrderOperation,to_ProductionOrderComponent`);
    assert.equal(res.status, 200);
    const d = res.body.d;
    assert.equal(res.headers.get('etag'), d.__metadata.etag);
    assert.match(d.__metadata.etag, /^W\/".+"$/);
    assert.equal(d.TotalQuantity, '100.000');
    assert.equal(d.ProductionUnit, 'ST');
    assert.equal(d.OrderIsReleased, false);
    assert.match(d.MfgOrderPlannedStartDate, /^\/Date\(\d+\)\/$/);
    assert.deepEqual(d.to_ProductionOrderOperation.results.map((o: Record<string, string>) => [o.ManufacturingOrderOperation, o.WorkCenter]), [['0010', 'WC-CUT1'], ['0020', 'WC-ASSY1']]);
    assert.equal(d.to_ProductionOrderOperation.results[0].OpErlstSchedldExecStrtTme, 'PT06H00M00S');
    const [component] = d.to_ProductionOrderComponent.results;
    assert.deepEqual(
      [component.Material, component.RequiredQuantity, component.BaseUnit, component.StorageLocation, component.Reservation, component.ReservationItem],
      ['RM-100-STEEL', '200.000', 'KG', '0001', '0000012345', '0001'],
    );
    const plain = await client.get(`${PO}/A_ProductionOrder_2('000001000124')`);
    assert.equal(plain.body.d.OrderIsReleased, true);
    assert.ok(plain.body.d.to_ProductionOrderOperation.__deferred, 'navigation is deferred without $expand');
    const missing = await client.get(`${PO}/A_ProductionOrder_2('9999999')`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'CO/004');
  });

  it('releases with If-Match: 428 without it, 412 when stale, idempotent once released; answers with a FunctionMessage', async () => {
    const got = await client.get(`${PO}/A_ProductionOrder_2('000001000123')`);
    const etag = got.headers.get('etag') as string;
    const release = `${PO}/ReleaseOrder?ManufacturingOrder='000001000123'`;
    const missing = await client.post(release, undefined);
    assert.equal(missing.status, 428);
    const stale = await client.post(release, undefined, { 'if-match': 'W/"0"' });
    assert.equal(stale.status, 412);
    const ok = await client.post(release, undefined, { 'if-match': etag });
    assert.equal(ok.status, 200);
    assert.deepEqual([ok.body.d.ReleaseOrder.SystemMessageType, ok.body.d.ReleaseOrder.SystemMessageLongText], ['S', 'Order 000001000123 released']);
    const after = await client.get(`${PO}/A_ProductionOrder_2('000001000123')`);
    assert.equal(after.body.d.OrderIsReleased, true);
    const newEtag = after.headers.get('etag');
    assert.ok(newEtag && newEtag !== etag);
    const again = await client.post(release, undefined, { 'if-match': etag });
    assert.equal(again.status, 200);
    assert.deepEqual([again.body.d.ReleaseOrder.SystemMessageType, again.body.d.ReleaseOrder.SystemMessageLongText], ['E', 'Order 000001000123 is already released']);
    assert.equal((await client.get(`${PO}/A_ProductionOrder_2('000001000123')`)).headers.get('etag'), newEtag, 'unchanged');
    const postings = await control(sim.url).postings();
    assert.equal(postings.length, 1, 'the repeat release is not a posting');
  });

  it('validates confirmations: RU/505 unreleased, RU/100 unknown operation, SY/530 bad quantities', async () => {
    const path = `${CONF}/ProdnOrdConf2`;
    assert.equal((await client.post(path, confirmation())).body.error.code, 'RU/505');
    await client.release('000001000123');
    const unknown = await client.post(path, confirmation({ OrderOperation: '0099' }));
    assert.deepEqual([unknown.status, unknown.body.error.code], [400, 'RU/100']);
    for (const bad of ['-1', '1.2345', 'abc']) {
      const res = await client.post(path, confirmation({ ConfirmationYieldQuantity: bad }));
      assert.deepEqual([res.status, res.body.error.code], [400, 'SY/530'], bad);
    }
    assert.equal((await client.post(path, confirmation({ ConfirmationYieldQuantity: 95 }))).body.error.code, 'SY/530', 'numbers are not decimal strings');
    assert.equal((await control(sim.url).postings()).length, 1, 'only the release posted');
  });

  it('posts a confirmation once per ExternalSystemConfirmation', async () => {
    await client.release('000001000123');
    const path = `${CONF}/ProdnOrdConf2`;
    const first = await client.post(path, confirmation({ ExternalSystemConfirmation: 'MES-4711-0010-1' }));
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.d.ConfirmationGroup, '0000000123');
    assert.equal(first.body.d.ConfirmationCount, '00000001');
    assert.equal(first.body.d.ConfirmationYieldQuantity, '95.000');
    assert.equal(first.body.d.ConfirmationScrapQuantity, '5.000');
    const repeat = await client.post(path, confirmation({ ExternalSystemConfirmation: 'MES-4711-0010-1', ConfirmationYieldQuantity: '90' }));
    assert.equal(repeat.status, 201);
    assert.deepEqual(repeat.body, first.body);
    const other = await client.post(path, confirmation({ ExternalSystemConfirmation: 'MES-4711-0010-2' }));
    assert.equal(other.body.d.ConfirmationCount, '00000002');

    const ctl = control(sim.url);
    const confirmations = (await ctl.postings()).filter((e) => String(e.path).includes('ProdnOrdConf2'));
    assert.equal(confirmations.length, 2);
    const ledger = (await ctl.ledger()).filter((e) => e.key === 'MES-4711-0010-1');
    assert.equal(ledger.length, 2);
    assert.equal(ledger[1].replayOf, ledger[0].seq);
    const found = await client.get(`${CONF}/ProdnOrdConf2?$filter=${encodeURIComponent("ExternalSystemConfirmation eq 'MES-4711-0010-1'")}`);
    assert.equal(found.body.d.results.length, 1);
  });

  it('answers a repeated Repeatability-Request-ID with the first response, and 422 for another body', async () => {
    const path = `${MDOC}/A_MaterialDocumentHeader`;
    const headers = repeatHeaders('8c1d2e3f-0000-4000-8000-000000000001');
    const first = await client.post(path, movement([steel('261', '12.5')]), headers);
    assert.equal(first.status, 201);
    assert.equal(first.body.d.MaterialDocument, '4900000001');
    assert.equal(first.headers.get('repeatability-result'), 'accepted');
    const repeat = await client.post(path, movement([steel('261', '12.5')]), headers);
    assert.equal(repeat.status, 201);
    assert.deepEqual(repeat.body, first.body);
    const conflict = await client.post(path, movement([steel('261', '13')]), headers);
    assert.equal(conflict.status, 422);
    assert.equal((await client.stock('RM-100-STEEL'))['0001//01'], '487.500', 'stock moved once');
    const ctl = control(sim.url);
    assert.equal((await ctl.postings()).length, 1);
    const ledger = await ctl.ledger();
    assert.equal(ledger.length, 3);
    assert.equal(ledger[1].replayOf, ledger[0].seq);
    assert.equal(ledger[0].key, headers['repeatability-request-id']);
    const noDate = await client.post(path, movement([steel('262', '1')]), { 'repeatability-request-id': 'x-1' });
    assert.equal(noDate.status, 400, 'Repeatability-First-Sent is required with the id');
  });

  it('ignoreRepeatability posts both the repeated key and the repeated ExternalSystemConfirmation twice', async () => {
    const ctl = control(sim.url);
    assert.equal((await ctl.config({ ignoreRepeatability: true })).ignoreRepeatability, true);
    try {
      await client.release('000001000123');
      const headers = repeatHeaders('rr-twice');
      const a = await client.post(`${MDOC}/A_MaterialDocumentHeader`, movement([steel('261', '1')]), headers);
      const b = await client.post(`${MDOC}/A_MaterialDocumentHeader`, movement([steel('261', '1')]), headers);
      assert.deepEqual([a.body.d.MaterialDocument, b.body.d.MaterialDocument], ['4900000001', '4900000002']);
      const c1 = await client.post(`${CONF}/ProdnOrdConf2`, confirmation({ ExternalSystemConfirmation: 'ESC-1' }));
      const c2 = await client.post(`${CONF}/ProdnOrdConf2`, confirmation({ ExternalSystemConfirmation: 'ESC-1' }));
      assert.deepEqual([c1.body.d.ConfirmationCount, c2.body.d.ConfirmationCount], ['00000001', '00000002']);
      assert.equal((await ctl.postings()).length, 5);
    } finally {
      await ctl.config({ ignoreRepeatability: false });
    }
  });

  it('the ignoreRepeatability start option has the same effect', async () => {
    const other = await startSapSimulator({ ignoreRepeatability: true });
    try {
      const c = new SapClient(other.url);
      await c.fetchCsrf();
      const headers = repeatHeaders('rr-opt');
      await c.post(`${MDOC}/A_MaterialDocumentHeader`, movement([steel('262', '1')]), headers);
      await c.post(`${MDOC}/A_MaterialDocumentHeader`, movement([steel('262', '1')]), headers);
      assert.equal((await control(other.url).postings()).length, 2);
    } finally {
      await other.close();
    }
  });

  it('goods movements 261/262/101/311/344/343 change stock; a deficit is M7/021 and changes nothing', async () => {
    const post = (body: unknown) => client.post(`${MDOC}/A_MaterialDocumentHeader`, body);
    assert.equal((await post(movement([steel('261', '12.500', { ManufacturingOrder: '000001000123', Reservation: '0000012345', ReservationItem: '0001' })]))).status, 201);
    assert.equal((await client.stock('RM-100-STEEL'))['0001//01'], '487.500');
    await post(movement([steel('262', '2.5')]));
    assert.equal((await client.stock('RM-100-STEEL'))['0001//01'], '490.000');
    await post(movement([steel('311', '90', { IssuingOrReceivingStorageLoc: '0002' })], '04'));
    await post(movement([steel('344', '40')], '04'));
    let stock = await client.stock('RM-100-STEEL');
    assert.deepEqual(stock, { '0001//01': '360.000', '0002//01': '90.000', '0001//07': '40.000' });
    await post(movement([steel('343', '15')], '04'));
    assert.equal((await client.stock('RM-100-STEEL'))['0001//07'], '25.000');
    const receipt = await post(movement([{ Material: 'FG-4712', GoodsMovementType: '101', EntryUnit: 'ST', QuantityInEntryUnit: '50', ManufacturingOrder: '000001000124' }], '02'));
    assert.equal(receipt.body.d.to_MaterialDocumentItem.results[0].QuantityInEntryUnit, '50.000');
    assert.equal((await client.stock('FG-4712'))['0001//01'], '50.000');

    const deficit = await post(movement([steel('262', '1'), steel('261', '1000')]));
    assert.equal(deficit.status, 400);
    assert.equal(deficit.body.error.code, 'M7/021');
    assert.equal(deficit.body.error.message.value, 'Deficit of SL Unrestricted-use 624.000 KG : RM-100-STEEL P100 0001');
    stock = await client.stock('RM-100-STEEL');
    assert.equal(stock['0001//01'], '375.000', 'the first item of a failed document did not post either');
    const unknownType = await post(movement([steel('999', '1')]));
    assert.deepEqual([unknownType.status, unknownType.body.error.code], [400, 'M7/001']);
    const docs = (await control(sim.url).postings()).map((e) => (e.response as { d: { MaterialDocument: string } }).d.MaterialDocument);
    assert.deepEqual(docs, ['4900000001', '4900000002', '4900000003', '4900000004', '4900000005', '4900000006']);
  });

  it('a usage decision moves the lot out of quality stock, once', async () => {
    const lot = await client.get(`${INSP}/A_InspectionLot('010000000123')`);
    assert.equal(lot.status, 200);
    assert.deepEqual(
      [lot.body.d.Material, lot.body.d.Batch, lot.body.d.InspectionLotQuantity, lot.body.d.InspectionLotQuantityUnit, lot.body.d.InspLotUsageDecisionCode],
      ['FG-4711', 'L2026-1126-01', '100.000', 'ST', ''],
    );
    assert.deepEqual(await client.stock('FG-4711'), { '0001/L2026-1126-01/02': '100.000' });
    const decision = { InspectionLot: '010000000123', InspLotUsageDecisionCode: 'A', InspLotUsgeDcsnCodeGroup: 'QM01', InspLotUsageDecisionValuation: 'A', InspLotUsageDecidedBy: 'QM-USER1', InspLotUsageDecidedOn: '/Date(1795651200000)/' };
    const accepted = await client.post(`${INSP}/A_InspLotUsageDecision`, decision);
    assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
    assert.deepEqual(await client.stock('FG-4711'), { '0001/L2026-1126-01/02': '0.000', '0001/L2026-1126-01/01': '100.000' });
    assert.equal((await client.get(`${INSP}/A_InspectionLot('010000000123')`)).body.d.InspLotUsageDecisionCode, 'A');
    const second = await client.post(`${INSP}/A_InspLotUsageDecision`, { ...decision, InspLotUsageDecisionCode: 'R' });
    assert.deepEqual([second.status, second.body.error.code], [400, 'QA/101']);

    await control(sim.url).reset();
    const rejected = await client.post(`${INSP}/A_InspLotUsageDecision`, { ...decision, InspLotUsageDecisionCode: 'R2', InspLotUsageDecisionValuation: 'R' });
    assert.equal(rejected.status, 201);
    assert.deepEqual(await client.stock('FG-4711'), { '0001/L2026-1126-01/02': '0.000', '0001/L2026-1126-01/07': '100.000' });
  });

  it('reset restores seed data and empties the ledger', async () => {
    await client.release('000001000123');
    await client.post(`${MDOC}/A_MaterialDocumentHeader`, movement([steel('261', '100')]));
    const ctl = control(sim.url);
    assert.equal((await ctl.ledger()).length, 2);
    await ctl.reset();
    assert.deepEqual(await ctl.ledger(), []);
    assert.equal((await client.stock('RM-100-STEEL'))['0001//01'], '500.000');
    assert.equal((await client.get(`${PO}/A_ProductionOrder_2('000001000123')`)).body.d.OrderIsReleased, false);
    const doc = await client.post(`${MDOC}/A_MaterialDocumentHeader`, movement([steel('261', '1')]));
    assert.equal(doc.body.d.MaterialDocument, '4900000001');
  });

  it('rejects bodies over the size limit with 413', async () => {
    const res = await call(`${sim.url}${MDOC}/A_MaterialDocumentHeader`, jsonInit('POST', { pad: 'x'.repeat(1_100_000) }));
    assert.equal(res.status, 413);
  });
});

describe('sim: SAP ERP key and plant switches', () => {
  let sim: RunningSimulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it('by default stores and finds orders and reservations only in their internal form, as SAP does', async () => {
    sim = await startSapSimulator();
    const client = new SapClient(sim.url);
    await client.fetchCsrf();
    assert.equal((await client.get(`${PO}/A_ProductionOrder_2('1000123')`)).status, 404, 'the external form finds nothing');
    assert.equal((await client.get(`${PO}/A_ProductionOrder_2('000001000123')`)).body.d.ManufacturingOrder, '000001000123');
    const external = await client.post(MDOC + '/A_MaterialDocumentHeader', movement([steel('261', '1', { ManufacturingOrder: '1000123' })]));
    assert.equal(external.body.error?.code, 'CO/004');
    const reservation = await client.post(MDOC + '/A_MaterialDocumentHeader', movement([steel('261', '1', { ManufacturingOrder: '000001000123', Reservation: '12345' })]));
    assert.equal(reservation.body.error?.code, 'M7/056');
    assert.equal((await client.post(CONF + '/ProdnOrdConf2', confirmation({ OrderID: '1000124' }))).body.error?.code, 'RU/100');
  });

  it('internalKeysOnly: false also accepts the external form and answers with the internal one', async () => {
    sim = await startSapSimulator({ internalKeysOnly: false });
    const client = new SapClient(sim.url);
    await client.fetchCsrf();
    assert.equal((await client.get(`${PO}/A_ProductionOrder_2('1000123')`)).body.d.ManufacturingOrder, '000001000123');
    const posted = await client.post(MDOC + '/A_MaterialDocumentHeader', movement([steel('261', '1', { ManufacturingOrder: '1000123', Reservation: '12345' })]));
    assert.equal(posted.status, 201, JSON.stringify(posted.body));
    const confirmed = await client.post(CONF + '/ProdnOrdConf2', confirmation({ OrderID: '1000124' }));
    assert.equal(confirmed.body.d.OrderID, '000001000124');
  });

  it('plantCodes gives the seed site P100 the SAP plant code 1010', async () => {
    sim = await startSapSimulator({ plantCodes: { P100: '1010' } });
    const client = new SapClient(sim.url);
    await client.fetchCsrf();
    assert.equal((await client.get(`${PO}/A_ProductionOrder_2('000001000123')`)).body.d.ProductionPlant, '1010');
    assert.deepEqual(await client.stock('RM-100-STEEL', 'P100'), {});
    assert.deepEqual(await client.stock('RM-100-STEEL', '1010'), { '0001//01': '500.000' });
    const wrongPlant = await client.post(MDOC + '/A_MaterialDocumentHeader', movement([steel('261', '1')]));
    assert.equal(wrongPlant.body.error?.code, 'M7/021', 'nothing in stock at P100');
  });
});
