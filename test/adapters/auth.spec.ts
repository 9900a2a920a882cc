import * as assert from 'node:assert/strict';
import { classifyFailure } from '../../lib/delivery/failure-classifier';
import { AdapterError, AuthenticationError } from '../../lib/adapters/adapter-errors';
import { apiKeyAuth, basicAuth, noAuth, oauth2ClientCredentials, type RequestHeaders } from '../../lib/adapters/auth';
import { EndpointClient } from '../../lib/adapters/endpoint-client';
import { fakeTime, header, json, startServer, type Recorded, type TestServer } from './test-server';

/** A token endpoint that issues tok-1, tok-2... and checks the client credentials. */
async function tokenServer(opts: { expiresIn?: number; delayMs?: number; secret?: string } = {}) {
  let issued = 0;
  const server = await startServer(async (req, res) => {
    if (req.url !== '/oauth/token') return json(res, 404, { error: 'not_found' });
    if (header(req, 'authorization') !== `Basic ${Buffer.from(`plant-client:${opts.secret ?? 's3cret'}`).toString('base64')}`) {
      return json(res, 401, { error: 'invalid_client', error_description: 'Bad client credentials' });
    }
    if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    json(res, 200, { access_token: `tok-${++issued}`, token_type: 'Bearer', expires_in: opts.expiresIn ?? 3600 });
  });
  return { server, issued: () => issued, tokenRequests: () => server.requests.filter((r: Recorded) => r.url === '/oauth/token') };
}

describe('adapters: auth providers', () => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('basicAuth sets an RFC 7617 header (UTF-8) and never asks for a retry', async () => {
    const headers: RequestHeaders = {};
    const auth = basicAuth('PLANT_USER', 'pässword:1');
    await auth.apply(headers);
    assert.equal(headers.authorization, `Basic ${Buffer.from('PLANT_USER:pässword:1', 'utf8').toString('base64')}`);
    assert.equal(await auth.refresh(), false, 'a wrong password must not be repeated into a lockout');
  });

  it('apiKeyAuth sets the chosen header; noAuth sets nothing', async () => {
    const headers: RequestHeaders = {};
    await apiKeyAuth('X-API-Key', 'k-123').apply(headers);
    assert.deepEqual(headers, { 'x-api-key': 'k-123' });
    const none: RequestHeaders = {};
    await noAuth.apply(none);
    assert.deepEqual(none, {});
    assert.equal(await noAuth.refresh(), false);
  });

  it('oauth2: client credentials as HTTP Basic and a form body; the token is cached across calls', async () => {
    const t = await tokenServer();
    servers.push(t.server);
    const auth = oauth2ClientCredentials({ tokenUrl: `${t.server.url}/oauth/token`, clientId: 'plant-client', clientSecret: 's3cret', scope: 'API_PRODUCTION_ORDER_2_SRV_0001' });
    for (let i = 0; i < 3; i++) {
      const h: RequestHeaders = {};
      await auth.apply(h);
      assert.equal(h.authorization, 'Bearer tok-1');
    }
    assert.equal(t.tokenRequests().length, 1);
    const req = t.tokenRequests()[0];
    assert.equal(req.method, 'POST');
    assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.deepEqual(Object.fromEntries(new URLSearchParams(req.body)), { grant_type: 'client_credentials', scope: 'API_PRODUCTION_ORDER_2_SRV_0001' });
  });

  it('oauth2: refreshes refreshMarginMs before expiry (injected clock)', async () => {
    const t = await tokenServer({ expiresIn: 3600 });
    servers.push(t.server);
    const time = fakeTime();
    const auth = oauth2ClientCredentials({ tokenUrl: `${t.server.url}/oauth/token`, clientId: 'plant-client', clientSecret: 's3cret', refreshMarginMs: 30_000, now: time.now });
    const h: RequestHeaders = {};
    await auth.apply(h);
    assert.equal(h.authorization, 'Bearer tok-1');
    time.clock.t += 3_570_000 - 1; // 1 ms before expiry - margin
    await auth.apply(h);
    assert.equal(h.authorization, 'Bearer tok-1');
    time.clock.t += 1;
    await auth.apply(h);
    assert.equal(h.authorization, 'Bearer tok-2', 'replaced 30 s before it would expire');
    assert.equal(t.issued(), 2);
  });

  it('oauth2: a short-lived token is kept for half its lifetime, not fetched per call', async () => {
    const t = await tokenServer({ expiresIn: 20 }); // shorter than the 30 s margin
    servers.push(t.server);
    const time = fakeTime();
    const auth = oauth2ClientCredentials({ tokenUrl: `${t.server.url}/oauth/token`, clientId: 'plant-client', clientSecret: 's3cret', now: time.now });
    const h: RequestHeaders = {};
    await auth.apply(h);
    time.clock.t += 9_999;
    await auth.apply(h);
    assert.equal(t.issued(), 1);
    time.clock.t += 1;
    await auth.apply(h);
    assert.equal(t.issued(), 2);
  });

  it('oauth2: concurrent callers share ONE token request (single flight), also for refresh()', async () => {
    const t = await tokenServer({ delayMs: 50 });
    servers.push(t.server);
    const auth = oauth2ClientCredentials({ tokenUrl: `${t.server.url}/oauth/token`, clientId: 'plant-client', clientSecret: 's3cret' });
    const all = Array.from({ length: 20 }, () => ({} as RequestHeaders));
    await Promise.all(all.map((h) => auth.apply(h)));
    assert.equal(t.tokenRequests().length, 1);
    assert.ok(all.every((h) => h.authorization === 'Bearer tok-1'));

    const refreshed = await Promise.all([auth.refresh(), auth.refresh(), auth.refresh()]);
    assert.deepEqual(refreshed, [true, true, true]);
    assert.equal(t.tokenRequests().length, 2, 'three concurrent 401s, one new token');
    const h: RequestHeaders = {};
    await auth.apply(h);
    assert.equal(h.authorization, 'Bearer tok-2');
  });

  it('oauth2: a rejected client is an AuthenticationError, permanent, with the OAuth error code', async () => {
    const t = await tokenServer({ secret: 'other' });
    servers.push(t.server);
    const auth = oauth2ClientCredentials({ tokenUrl: `${t.server.url}/oauth/token`, clientId: 'plant-client', clientSecret: 's3cret' });
    const err = await auth.apply({}).then(() => assert.fail('expected a failure'), (e: unknown) => e);
    assert.ok(err instanceof AuthenticationError && err instanceof AdapterError);
    assert.equal(err.code, 'AUTHENTICATION_FAILED');
    assert.equal(err.status, 401);
    assert.equal(err.retryable, false);
    assert.deepEqual(err.targetError, { code: 'invalid_client', message: 'Bad client credentials' });
    assert.match(err.message, /client id, secret and scope/);
    assert.equal(classifyFailure(err).class, 'permanent');
    // not cached: the next call asks again (the secret may have been fixed meanwhile)
    await assert.rejects(auth.apply({}), AuthenticationError);
    assert.equal(t.tokenRequests().length, 2);
  });

  it('oauth2: an unreachable token endpoint is an AuthenticationError marked retryable', async () => {
    const t = await tokenServer();
    const url = `${t.server.url}/oauth/token`;
    await t.server.close();
    const auth = oauth2ClientCredentials({ tokenUrl: url, clientId: 'plant-client', clientSecret: 's3cret', timeoutMs: 2000 });
    const err = await auth.apply({}).then(() => assert.fail('expected a failure'), (e: unknown) => e);
    assert.ok(err instanceof AuthenticationError);
    assert.equal(err.retryable, true);
    assert.equal(err.lastCode, 'ECONNREFUSED');
    assert.equal(classifyFailure(err).class, 'retryable');
  });

  it('oauth2 through the client: a 401 forces a new token and the request is repeated without counting an attempt', async () => {
    const t = await tokenServer();
    servers.push(t.server);
    const api = await startServer((req, res) => {
      // tok-1 has been revoked on the resource server; tok-2 is good
      if (header(req, 'authorization') !== 'Bearer tok-2') return json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
      json(res, 200, { d: { ok: true } });
    });
    servers.push(api);
    const client = new EndpointClient({
      baseUrl: api.url, role: 'ERP', repeatability: 'none', breaker: false,
      auth: oauth2ClientCredentials({ tokenUrl: `${t.server.url}/oauth/token`, clientId: 'plant-client', clientSecret: 's3cret' }),
    });
    try {
      const res = await client.send({ method: 'GET', path: '/x' });
      assert.equal(res.status, 200);
      assert.equal(res.attempts, 1);
      assert.equal(t.issued(), 2);
      assert.deepEqual(api.requests.map((r) => header(r, 'authorization')), ['Bearer tok-1', 'Bearer tok-2']);
      await client.send({ method: 'GET', path: '/x' });
      assert.equal(t.issued(), 2, 'the new token is cached');
    } finally {
      client.close();
    }
  });

  it('a second 401 after the refresh is AUTHENTICATION_FAILED for the target, and basic auth gives up after one', async () => {
    const t = await tokenServer();
    servers.push(t.server);
    const api = await startServer((_req, res) => json(res, 401, { error: { code: '/IWFND/CM_CONSUMER/101', message: { lang: 'en', value: 'Not authorized' } } }));
    servers.push(api);
    const oauth = new EndpointClient({
      baseUrl: api.url, role: 'ERP', repeatability: 'none', breaker: false,
      auth: oauth2ClientCredentials({ tokenUrl: `${t.server.url}/oauth/token`, clientId: 'plant-client', clientSecret: 's3cret' }),
    });
    const basic = new EndpointClient({ baseUrl: api.url, role: 'MES', repeatability: 'none', breaker: false, auth: basicAuth('u', 'wrong') });
    try {
      const err = await oauth.send({ method: 'POST', path: '/x', body: {} }).then(() => assert.fail('expected a failure'), (e: unknown) => e);
      assert.ok(err instanceof AuthenticationError);
      assert.equal(err.target, 'ERP');
      assert.equal(err.status, 401);
      assert.equal(err.attempts, 1);
      assert.equal(err.retryable, false);
      assert.match(err.message, /even after a credential refresh/);
      assert.equal(api.requests.length, 2);
      assert.equal(t.issued(), 2);

      const err2 = await basic.send({ method: 'GET', path: '/y' }).then(() => assert.fail('expected a failure'), (e: unknown) => e);
      assert.ok(err2 instanceof AuthenticationError);
      assert.equal(err2.target, 'MES');
      assert.equal(api.requests.length, 3, 'static credentials: no second try');
    } finally {
      oauth.close();
      basic.close();
    }
  });

  it('a token endpoint failure reaches the caller stamped with the target role, without touching the breaker', async () => {
    const t = await tokenServer({ secret: 'other' });
    servers.push(t.server);
    const api = await startServer((_req, res) => json(res, 200, {}));
    servers.push(api);
    const client = new EndpointClient({
      baseUrl: api.url, role: 'QMS', repeatability: 'none', breaker: { failureThreshold: 1 },
      auth: oauth2ClientCredentials({ tokenUrl: `${t.server.url}/oauth/token`, clientId: 'plant-client', clientSecret: 's3cret' }),
    });
    try {
      const err = await client.send({ method: 'GET', path: '/lots/L1' }).then(() => assert.fail('expected a failure'), (e: unknown) => e);
      assert.ok(err instanceof AuthenticationError);
      assert.equal(err.target, 'QMS');
      assert.equal(err.status, 401);
      assert.match(err.message, /^QMS: OAuth token request/);
      assert.equal(api.requests.length, 0);
      assert.equal(client.breakerState().state, 'closed');
    } finally {
      client.close();
    }
  });
});
