import * as assert from 'node:assert/strict';
import { AdapterError, AuthenticationError } from '../../lib/adapters/adapter-errors';
import { basicAuth } from '../../lib/adapters/auth';
import { CookieJar } from '../../lib/adapters/cookie-jar';
import { csrfTokenFrom, entitySetPath, isCsrfRequired, serviceRoot } from '../../lib/adapters/csrf';
import { EndpointClient } from '../../lib/adapters/endpoint-client';
import { fakeTime, header, json, odataError, startServer, type Recorded, type TestServer } from './test-server';

const CONF = '/sap/opu/odata/sap/API_PROD_ORDER_CONFIRMATION_2_SRV';
const MDOC = '/sap/opu/odata/sap/API_MATERIAL_DOCUMENT_SRV';
const COOKIE = 'SAP_SESSIONID_PS1_100';

/** SAP Gateway's CSRF behaviour: one token per session cookie; writes need both, matching. */
async function gateway(opts: { alwaysRequired?: boolean } = {}) {
  const sessions = new Map<string, string>();
  /** Sessions the server dropped but whose fetch still echoes the old token (a misbehaving proxy or gateway). */
  const dead = new Set<string>();
  let n = 0;
  const server = await startServer((req, res) => {
    const session = /SAP_SESSIONID_PS1_100=([^;]+)/.exec(header(req, 'cookie') ?? '')?.[1];
    if (req.method === 'GET' && header(req, 'x-csrf-token')?.toLowerCase() === 'fetch') {
      if (session && dead.has(session)) return json(res, 200, {}, { 'x-csrf-token': sessions.get(session) ?? '' });
      let id = session && sessions.has(session) ? session : undefined;
      const cookies: string[] = [];
      if (!id) {
        id = `sess-${++n}`;
        cookies.push(`${COOKIE}=${id}; path=/; HttpOnly`);
      }
      const token = `tok-${++n}`;
      sessions.set(id, token);
      cookies.push('sap-usercontext=sap-client=100; path=/');
      res.setHeader('set-cookie', cookies);
      return json(res, 200, { d: { EntitySets: [] } }, { 'x-csrf-token': token });
    }
    if (req.method === 'POST') {
      const expected = session ? sessions.get(session) : undefined;
      if (opts.alwaysRequired || (session && dead.has(session)) || !expected || header(req, 'x-csrf-token') !== expected) {
        return json(res, 403, odataError('/IWFND/CM_BEC/026', 'CSRF token validation failed'), { 'x-csrf-token': 'Required' });
      }
      return json(res, 201, { d: { ConfirmationGroup: '0000000123', ConfirmationCount: String(server.requests.length) } });
    }
    json(res, 200, { d: { results: [] } });
  });
  return { server, sessions, dead, fetches: () => server.requests.filter((r) => r.method === 'GET' && header(r, 'x-csrf-token') === 'Fetch') };
}

describe('adapters: SAP CSRF sessions', () => {
  let server: TestServer | undefined;
  let client: EndpointClient | undefined;
  afterEach(async () => {
    client?.close();
    client = undefined;
    await server?.close();
    server = undefined;
  });

  it('serviceRoot: the OData service of a path, else the parent path', () => {
    assert.equal(serviceRoot(`${CONF}/ProdnOrdConf2`), CONF);
    assert.equal(serviceRoot("/sap/opu/odata/sap/API_PRODUCTION_ORDER_2_SRV/ReleaseOrder?ManufacturingOrder='1000123'"), '/sap/opu/odata/sap/API_PRODUCTION_ORDER_2_SRV');
    assert.equal(serviceRoot("/sap/opu/odata/sap/API_INSPECTIONLOT_SRV('010000000123')"), '/sap/opu/odata/sap/API_INSPECTIONLOT_SRV');
    assert.equal(serviceRoot('/api/v1/orders'), '/api/v1');
    assert.equal(serviceRoot('/ProdnOrdConf2'), '', 'base URL is the service root');
  });

  it('entitySetPath: the entity set or function import below the root, without key, navigation and query', () => {
    const PO = '/sap/opu/odata/sap/API_PRODUCTION_ORDER_2_SRV';
    assert.equal(entitySetPath(CONF, `${CONF}/ProdnOrdConf2`), `${CONF}/ProdnOrdConf2`);
    assert.equal(entitySetPath(PO, `${PO}/ReleaseOrder?ManufacturingOrder='1000123'`), `${PO}/ReleaseOrder`);
    assert.equal(entitySetPath(PO, `${PO}/A_ProductionOrder_2('1000123')/to_ProductionOrderOperation`), `${PO}/A_ProductionOrder_2`);
    assert.equal(entitySetPath(PO, `${PO}/`), undefined);
    assert.equal(entitySetPath('', '/ProdnOrdConf2'), '/ProdnOrdConf2');
  });

  it('recognises a 403 that asks for a token, in any case, and nothing else', () => {
    assert.equal(isCsrfRequired({ status: 403, headers: { 'x-csrf-token': 'Required' } }), true);
    assert.equal(isCsrfRequired({ status: 403, headers: { 'x-csrf-token': 'required' } }), true);
    assert.equal(isCsrfRequired({ status: 403, headers: {} }), false);
    assert.equal(isCsrfRequired({ status: 401, headers: { 'x-csrf-token': 'Required' } }), false);
    assert.equal(csrfTokenFrom({ headers: { 'x-csrf-token': ' abc== ' } }), 'abc==');
    assert.equal(csrfTokenFrom({ headers: { 'x-csrf-token': 'Required' } }), undefined);
  });

  it('CookieJar keeps name=value per cookie, replaces by name, and deletes expired ones', () => {
    const jar = new CookieJar();
    assert.equal(jar.header(), undefined);
    jar.store([`${COOKIE}=abc; path=/; HttpOnly; Secure`, 'sap-usercontext=sap-client=100; path=/']);
    assert.equal(jar.header(), `${COOKIE}=abc; sap-usercontext=sap-client=100`, 'values may contain "="');
    jar.store(`${COOKIE}=def; path=/`);
    assert.equal(jar.get(COOKIE), 'def');
    jar.store('sap-usercontext=; Max-Age=0');
    jar.store(`${COOKIE}=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT`);
    assert.equal(jar.header(), undefined);
  });

  it('fetches a token once, sends it with the session cookie on every write, and not on reads', async () => {
    const g = await gateway();
    server = g.server;
    client = new EndpointClient({ baseUrl: server.url, role: 'ERP', csrf: true, repeatability: 'sap', auth: basicAuth('u', 'p'), breaker: false });
    const first = await client.send({ method: 'POST', path: `${CONF}/ProdnOrdConf2`, body: { OrderID: '1000123' } });
    const second = await client.send({ method: 'POST', path: `${CONF}/ProdnOrdConf2`, body: { OrderID: '1000124' } });
    await client.send({ method: 'GET', path: `${CONF}/ProdnOrdConf2` });
    assert.equal(first.status, 201);
    assert.equal(second.status, 201);
    assert.equal(g.fetches().length, 1, 'token reused across writes');
    const fetch = g.fetches()[0];
    assert.equal(fetch.url, `${CONF}/`);
    assert.ok(header(fetch, 'authorization')?.startsWith('Basic '), 'the fetch is authenticated too');
    const posts = server.requests.filter((r) => r.method === 'POST');
    assert.equal(posts.length, 2);
    for (const post of posts) {
      assert.equal(header(post, 'x-csrf-token'), g.sessions.get('sess-1'));
      assert.equal(header(post, 'cookie'), `${COOKIE}=sess-1; sap-usercontext=sap-client=100`);
    }
    const read = server.requests[server.requests.length - 1];
    assert.equal(read.method, 'GET');
    assert.equal(header(read, 'x-csrf-token'), undefined);
  });

  it('keeps one token per service root', async () => {
    const g = await gateway();
    server = g.server;
    client = new EndpointClient({ baseUrl: server.url, role: 'ERP', csrf: true, repeatability: 'sap', breaker: false });
    await client.send({ method: 'POST', path: `${CONF}/ProdnOrdConf2`, body: {} });
    await client.send({ method: 'POST', path: `${MDOC}/A_MaterialDocumentHeader`, body: {} });
    await client.send({ method: 'POST', path: `${MDOC}/A_MaterialDocumentHeader`, body: {} });
    assert.deepEqual(g.fetches().map((r) => r.url), [`${CONF}/`, `${MDOC}/`]);
    assert.equal(g.sessions.size, 1, 'the second fetch stays in the same SAP session');
  });

  it('on 403 x-csrf-token: Required fetches a new token and repeats the write ONCE, not counted as an attempt', async () => {
    const g = await gateway();
    server = g.server;
    client = new EndpointClient({ baseUrl: server.url, role: 'ERP', csrf: true, repeatability: 'sap', breaker: false, retry: { maxAttempts: 1 } });
    await client.send({ method: 'POST', path: `${CONF}/ProdnOrdConf2`, body: {} });
    g.sessions.set('sess-1', 'expired-on-server'); // csrfTtlMs elapsed
    const res = await client.send({ method: 'POST', path: `${CONF}/ProdnOrdConf2`, body: {}, repeatKey: 'conf-42' });
    assert.equal(res.status, 201);
    assert.equal(res.attempts, 1, 'maxAttempts 1 and still succeeded: the repeat is not an attempt');
    assert.equal(g.fetches().length, 2);
    const posts = server.requests.filter((r) => r.method === 'POST');
    assert.equal(posts.length, 3);
    assert.equal(header(posts[1], 'repeatability-request-id'), 'conf-42');
    assert.equal(header(posts[2], 'repeatability-request-id'), 'conf-42', 'the repeat is the same request');
    assert.notEqual(header(posts[1], 'x-csrf-token'), header(posts[2], 'x-csrf-token'));
  });

  it('a second Required in one send is AUTHENTICATION_FAILED (no loop)', async () => {
    const g = await gateway({ alwaysRequired: true });
    server = g.server;
    client = new EndpointClient({ baseUrl: server.url, role: 'ERP', csrf: true, repeatability: 'sap', breaker: false });
    const err = await client.send({ method: 'POST', path: `${CONF}/ProdnOrdConf2`, body: {} }).then(() => assert.fail('expected a failure'), (e: unknown) => e);
    assert.ok(err instanceof AuthenticationError);
    assert.equal(err.status, 403);
    assert.equal(err.retryable, false);
    assert.match(err.message, /CSRF token .* twice/);
    assert.equal(server.requests.filter((r) => r.method === 'POST').length, 2);
    assert.equal(g.fetches().length, 2, 'first fetch and one renewal');
  });

  it('when the renewal hands back the rejected token, drops the session cookies and starts a new session', async () => {
    const g = await gateway();
    server = g.server;
    client = new EndpointClient({ baseUrl: server.url, role: 'ERP', csrf: true, repeatability: 'sap', breaker: false });
    await client.send({ method: 'POST', path: `${CONF}/ProdnOrdConf2`, body: {} });
    g.dead.add('sess-1');
    const res = await client.send({ method: 'POST', path: `${CONF}/ProdnOrdConf2`, body: {} });
    assert.equal(res.status, 201);
    const fetches = g.fetches();
    assert.equal(fetches.length, 3);
    assert.match(header(fetches[1], 'cookie') ?? '', /SAP_SESSIONID_PS1_100=sess-1/);
    assert.equal(header(fetches[2], 'cookie'), undefined, 'fresh session: no stale cookie');
    const last = server.requests[server.requests.length - 1];
    assert.match(header(last, 'cookie') ?? '', /SAP_SESSIONID_PS1_100=sess-\d+/);
    assert.doesNotMatch(header(last, 'cookie') ?? '', /sess-1;|sess-1$/);
  });

  /**
   * A gateway whose token fetch answers `fetchStatus` on the service root and `setStatus` on the
   * entity set, with the token and session cookie where `tokenOn` says; writes need both.
   */
  async function fetchVariant(opts: { rootStatus: number; setStatus: number; tokenOn: Array<'root' | 'set'> }) {
    const sessions = new Map<string, string>();
    let n = 0;
    const server = await startServer((req, res) => {
      const session = /SAP_SESSIONID_PS1_100=([^;]+)/.exec(header(req, 'cookie') ?? '')?.[1];
      if (req.method === 'GET' && header(req, 'x-csrf-token') === 'Fetch') {
        const where = req.url.endsWith('/') ? 'root' : 'set';
        const status = where === 'root' ? opts.rootStatus : opts.setStatus;
        if (!opts.tokenOn.includes(where)) return json(res, status, odataError('/IWFND/MED/170', 'No service found'));
        const id = session && sessions.has(session) ? session : `sess-${++n}`;
        const token = sessions.get(id) ?? `tok-${++n}`;
        sessions.set(id, token);
        return json(res, status, odataError('/IWFND/CM_BEC/026', 'Method not allowed'), { 'x-csrf-token': token, 'set-cookie': `${COOKIE}=${id}; path=/` });
      }
      if (req.method === 'POST') {
        if (!session || header(req, 'x-csrf-token') !== sessions.get(session)) {
          return json(res, 403, odataError('/IWFND/CM_BEC/026', 'CSRF token validation failed'), { 'x-csrf-token': 'Required' });
        }
        return json(res, 201, { d: { MaterialDocument: '4900000001' } });
      }
      json(res, 200, { d: {} });
    });
    const fetches = () => server.requests.filter((r: Recorded) => header(r, 'x-csrf-token') === 'Fetch').map((r) => r.url);
    return { server, sessions, fetches };
  }

  const POST_MDOC = { method: 'POST', path: `${MDOC}/A_MaterialDocumentHeader`, body: {} };

  for (const status of [404, 405, 403]) {
    it(`takes the token and session cookie from a fetch answered ${status}, as SAP's Cloud SDK does`, async () => {
      const g = await fetchVariant({ rootStatus: status, setStatus: status, tokenOn: ['root', 'set'] });
      server = g.server;
      client = new EndpointClient({ baseUrl: server.url, role: 'ERP', csrf: true, repeatability: 'sap', breaker: false });
      const res = await client.send(POST_MDOC);
      assert.equal(res.status, 201);
      assert.deepEqual(g.fetches(), [`${MDOC}/`], 'one fetch: the error answer carried the token');
      const post = server.requests.find((r) => r.method === 'POST');
      assert.equal(header(post!, 'x-csrf-token'), g.sessions.get('sess-1'));
      assert.equal(header(post!, 'cookie'), `${COOKIE}=sess-1`);
    });
  }

  it('falls back to the entity set when the service root hands out no token, and asks the entity set first next time', async () => {
    const g = await fetchVariant({ rootStatus: 200, setStatus: 405, tokenOn: ['set'] });
    server = g.server;
    client = new EndpointClient({ baseUrl: server.url, role: 'ERP', csrf: true, repeatability: 'sap', breaker: false });
    assert.equal((await client.send(POST_MDOC)).status, 201);
    assert.deepEqual(g.fetches(), [`${MDOC}/`, `${MDOC}/A_MaterialDocumentHeader`]);
    g.sessions.set('sess-1', 'expired-on-server');
    assert.equal((await client.send(POST_MDOC)).status, 201);
    assert.deepEqual(g.fetches().slice(2), [`${MDOC}/A_MaterialDocumentHeader`], 'the renewal goes where the token was found');
  });

  it('a token only on the service root is found there, with no fetch on the entity set', async () => {
    const g = await fetchVariant({ rootStatus: 200, setStatus: 404, tokenOn: ['root'] });
    server = g.server;
    client = new EndpointClient({ baseUrl: server.url, role: 'ERP', csrf: true, repeatability: 'sap', breaker: false });
    assert.equal((await client.send(POST_MDOC)).status, 201);
    assert.deepEqual(g.fetches(), [`${MDOC}/`]);
  });

  it('no token from the service root nor the entity set: a retryable TARGET_UNAVAILABLE naming the token fetch, nothing posted', async () => {
    const g = await fetchVariant({ rootStatus: 404, setStatus: 405, tokenOn: [] });
    server = g.server;
    const time = fakeTime();
    client = new EndpointClient({ baseUrl: server.url, role: 'ERP', csrf: true, repeatability: 'sap', breaker: { failureThreshold: 1 }, now: time.now, sleep: time.sleep });
    const err = await client.send(POST_MDOC).then(() => assert.fail('expected a failure'), (e: unknown) => e);
    assert.ok(err instanceof AdapterError);
    assert.equal(err.code, 'TARGET_UNAVAILABLE');
    assert.equal(err.retryable, true);
    assert.equal(err.attempts, 1, 'not retried in the send: the gateway answers the same way until it is fixed');
    assert.match(err.message, /CSRF token/);
    assert.match(err.message, /GET \/sap\/opu\/odata\/sap\/API_MATERIAL_DOCUMENT_SRV\/ answered HTTP 404, GET .*A_MaterialDocumentHeader answered HTTP 405/);
    assert.match(err.message, /Nothing was posted/);
    assert.doesNotMatch(err.message, /correct the event/);
    assert.deepEqual(g.fetches(), [`${MDOC}/`, `${MDOC}/A_MaterialDocumentHeader`]);
    assert.equal(server.requests.filter((r) => r.method === 'POST').length, 0);
    assert.deepEqual(time.sleeps, []);
    assert.equal(client.breakerState().state, 'closed', 'the target answered: no breaker failure');
  });

  it('csrf on an endpoint that hands out no token (a plain REST target) is a retryable TARGET_UNAVAILABLE, not a rejection of the event', async () => {
    server = await startServer((_req, res) => json(res, 200, {}));
    client = new EndpointClient({ baseUrl: server.url, role: 'MES', csrf: true, repeatability: 'idempotency-key', breaker: false });
    await assert.rejects(client.send({ method: 'POST', path: '/api/v1/orders', body: {} }), (err: unknown) => {
      assert.ok(err instanceof AdapterError);
      assert.equal(err.code, 'TARGET_UNAVAILABLE');
      assert.equal(err.retryable, true);
      assert.match(err.message, /no CSRF token .*x-csrf-token: Fetch.*GET \/api\/v1\/ answered HTTP 200, GET \/api\/v1\/orders answered HTTP 200/);
      assert.match(err.message, /really is SAP Gateway/);
      return true;
    });
  });

  it('a token fetch answered 401 is AUTHENTICATION_FAILED naming the fetch, after one refresh and without trying another URL', async () => {
    server = await startServer((_req, res) => json(res, 401, odataError('UNAUTHORIZED', 'Logon failed'), { 'www-authenticate': 'Basic realm="SAP"' }));
    let refreshes = 0;
    const auth = { ...basicAuth('u', 'wrong'), refresh: async () => (++refreshes, true) };
    client = new EndpointClient({ baseUrl: server.url, role: 'ERP', csrf: true, repeatability: 'sap', auth, breaker: false });
    const err = await client.send(POST_MDOC).then(() => assert.fail('expected a failure'), (e: unknown) => e);
    assert.ok(err instanceof AuthenticationError);
    assert.equal(err.status, 401);
    assert.match(err.message, /refused the credentials for the CSRF token fetch GET \/sap\/opu\/odata\/sap\/API_MATERIAL_DOCUMENT_SRV\/ \(HTTP 401 even after a credential refresh\)/);
    assert.equal(refreshes, 1);
    assert.deepEqual(server.requests.map((r) => `${r.method} ${r.url}`), [`GET ${MDOC}/`, `GET ${MDOC}/`], 'the fetch and its one repeat after the refresh');
  });

  it('a token fetch answered 503 is retried like any unavailability, and counts for the breaker', async () => {
    let calls = 0;
    server = await startServer((req, res) => {
      calls += 1;
      if (req.method === 'GET' && calls <= 2) return json(res, 503, odataError('SERVICE_UNAVAILABLE', 'busy'));
      if (req.method === 'GET') return json(res, 200, {}, { 'x-csrf-token': 'tok', 'set-cookie': `${COOKIE}=s; path=/` });
      return json(res, 201, { d: {} });
    });
    const time = fakeTime();
    client = new EndpointClient({
      baseUrl: server.url, role: 'ERP', csrf: true, repeatability: 'sap', breaker: { failureThreshold: 5 }, retry: { maxAttempts: 3, baseDelayMs: 100 },
      now: time.now, sleep: time.sleep, random: () => 0.5,
    });
    const res = await client.send(POST_MDOC);
    assert.equal(res.attempts, 3);
    assert.deepEqual(server.requests.map((r) => `${r.method} ${r.url}`), [`GET ${MDOC}/`, `GET ${MDOC}/`, `GET ${MDOC}/`, `POST ${MDOC}/A_MaterialDocumentHeader`]);
    assert.equal(time.sleeps.length, 2);
  });
});
