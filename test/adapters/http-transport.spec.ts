import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as https from 'node:https';
import { classifyFailure } from '../../lib/delivery/failure-classifier';
import { createAgent, httpRequest, TransportError } from '../../lib/adapters/http-transport';
import { json, startServer, within, type TestServer } from './test-server';

describe('adapters: http transport', () => {
  let server: TestServer | undefined;
  let agent: http.Agent | undefined;
  afterEach(async () => {
    agent?.destroy();
    agent = undefined;
    await server?.close();
    server = undefined;
  });

  it('reuses one keep-alive socket for sequential requests', async () => {
    server = await startServer((_req, res) => json(res, 200, { ok: true }));
    agent = createAgent({ keepAlive: true, maxSockets: 2 });
    for (let i = 0; i < 4; i++) {
      const res = await httpRequest({ method: 'GET', url: `${server.url}/ping`, agent, timeoutMs: 2000 });
      assert.equal(res.status, 200);
    }
    assert.equal(server.requests.length, 4);
    assert.equal(server.connections(), 1, 'all four requests on one TCP connection');
  });

  it('sends objects as JSON, strings as text, Buffers as bytes; parses JSON answers and lower-cases headers', async () => {
    server = await startServer((req, res) => {
      if (req.url === '/text') {
        res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Mixed-Case': 'yes' });
        res.end('plain answer');
        return;
      }
      json(res, 201, { got: req.body, type: req.headers['content-type'], length: req.headers['content-length'] });
    });
    agent = createAgent();
    const obj = await httpRequest({ method: 'post', url: `${server.url}/obj`, body: { qty: '95.000' }, agent });
    assert.equal(obj.status, 201);
    assert.deepEqual(obj.body, { got: '{"qty":"95.000"}', type: 'application/json', length: '16' });
    assert.equal(server.requests[0].method, 'POST', 'method upper-cased');

    const str = await httpRequest({ method: 'POST', url: `${server.url}/str`, body: 'a=1', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, agent });
    assert.deepEqual(str.body, { got: 'a=1', type: 'application/x-www-form-urlencoded', length: '3' }, 'caller content-type wins');

    const buf = await httpRequest({ method: 'PUT', url: `${server.url}/buf`, body: Buffer.from([1, 2, 3]), agent });
    assert.equal((buf.body as { type: string }).type, 'application/octet-stream');

    const text = await httpRequest({ method: 'GET', url: `${server.url}/text`, agent });
    assert.equal(text.body, 'plain answer');
    assert.equal(text.headers['x-mixed-case'], 'yes');
    assert.ok(Buffer.isBuffer(text.rawBody) && text.rawBody.toString() === 'plain answer');
  });

  it('keeps an unparseable "JSON" body as text instead of throwing', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end('<html>Bad Gateway</html>');
    });
    const res = await httpRequest({ method: 'GET', url: server.url });
    assert.equal(res.status, 502);
    assert.equal(res.body, '<html>Bad Gateway</html>');
  });

  it('rejects with ETIMEDOUT when no answer arrives within timeoutMs, and the classifier retries it', async () => {
    server = await startServer(() => undefined); // never answers
    agent = createAgent();
    const started = Date.now();
    const err = await within(httpRequest({ method: 'GET', url: `${server.url}/slow`, timeoutMs: 150, agent }).then(
      () => assert.fail('expected a timeout'),
      (e: unknown) => e,
    ), 3000, 'timed-out request');
    assert.ok(err instanceof TransportError);
    assert.equal(err.code, 'ETIMEDOUT');
    assert.match(err.message, /within 150 ms/);
    assert.ok(Date.now() - started >= 140, 'did not give up early');
    assert.equal(classifyFailure(err).class, 'retryable');
  });

  it('surfaces a destroyed socket as ECONNRESET ("socket hang up")', async () => {
    server = await startServer((_req, res) => {
      res.socket?.destroy();
    });
    const err = await httpRequest({ method: 'POST', url: server.url, body: {}, timeoutMs: 2000 }).then(() => assert.fail('expected a reset'), (e: unknown) => e);
    assert.ok(err instanceof TransportError);
    assert.equal(err.code, 'ECONNRESET');
    assert.match(err.message, /socket hang up/);
    assert.equal(classifyFailure(err).reason, 'ECONNRESET');
  });

  it('treats a response cut off mid-body as ECONNRESET, not as a short success', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const err = await httpRequest({ method: 'GET', url: server.url, timeoutMs: 2000 }).then(() => assert.fail('expected a reset'), (e: unknown) => e);
    assert.equal((err as TransportError).code, 'ECONNRESET');
  });

  it('reports a refused connection with its code', async () => {
    server = await startServer(() => undefined);
    const url = server.url;
    await server.close();
    server = undefined;
    const err = await httpRequest({ method: 'GET', url, timeoutMs: 2000 }).then(() => assert.fail('expected a refusal'), (e: unknown) => e);
    assert.equal((err as TransportError).code, 'ECONNREFUSED');
  });

  it('createAgent: https.Agent with the TLS material and keep-alive settings; http.Agent without TLS', () => {
    const secure = createAgent({ maxSockets: 3, tls: { ca: 'PLANT-CA', cert: 'CLIENT-CERT', key: 'CLIENT-KEY', servername: 'erp.plant.local' } });
    const options = (secure as https.Agent).options as https.AgentOptions;
    try {
      assert.ok(secure instanceof https.Agent);
      assert.equal(options.ca, 'PLANT-CA');
      assert.equal(options.cert, 'CLIENT-CERT');
      assert.equal(options.key, 'CLIENT-KEY');
      assert.equal(options.servername, 'erp.plant.local');
      assert.equal(options.rejectUnauthorized, true, 'verification stays on unless switched off');
      assert.equal(options.keepAlive, true);
      assert.equal(secure.maxSockets, 3);
    } finally {
      secure.destroy();
    }
    const lab = createAgent({ tls: { rejectUnauthorized: false } });
    assert.equal(((lab as https.Agent).options as https.AgentOptions).rejectUnauthorized, false);
    lab.destroy();
    const plain = createAgent({ keepAlive: false });
    assert.ok(!(plain instanceof https.Agent) && plain instanceof http.Agent);
    assert.equal((plain as unknown as { keepAlive: boolean }).keepAlive, false);
    plain.destroy();
    const tlsNoMaterial = createAgent({ secure: true });
    assert.ok(tlsNoMaterial instanceof https.Agent);
    tlsNoMaterial.destroy();
  });

  it('rejects unsupported protocols before sending', async () => {
    await assert.rejects(httpRequest({ method: 'GET', url: 'ftp://127.0.0.1/x' }), /unsupported URL protocol ftp:/);
  });
});
