import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { CircuitOpenError } from '../../lib/delivery/circuit-breaker';
import { classifyFailure } from '../../lib/delivery/failure-classifier';
import {
  AdapterError, TargetCircuitOpenError, TargetRejectedError, TargetTimeoutError, TargetUnavailableError,
} from '../../lib/adapters/adapter-errors';
import { traceIdFor, traceparent } from '../../lib/adapters/correlation';
import { EndpointClient, type EndpointClientOptions } from '../../lib/adapters/endpoint-client';
import { fakeTime, header, json, odataError, startServer, within, type Handler, type TestServer } from './test-server';

const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

async function failureOf(p: Promise<unknown>): Promise<AdapterError> {
  const err = await within(p.then(() => assert.fail('expected the send to fail'), (e: unknown) => e), 10_000, 'send');
  assert.ok(err instanceof AdapterError, `expected an AdapterError, got ${String(err)}`);
  return err;
}

describe('adapters: endpoint client', () => {
  let server: TestServer | undefined;
  const clients: EndpointClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.close();
    server = undefined;
  });

  /** A client on a fake clock whose retry waits are recorded, not slept. */
  async function setup(handler: Handler, options: Partial<EndpointClientOptions> = {}) {
    server = await startServer(handler);
    const time = fakeTime();
    const client = new EndpointClient({
      baseUrl: server.url, role: 'ERP', repeatability: 'sap', timeoutMs: 2000, retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000 },
      now: time.now, sleep: time.sleep, random: () => 0.5, ...options,
    });
    clients.push(client);
    return { client, time, server };
  }

  /** Answers the listed statuses in turn (then the last one forever). */
  function sequence(...steps: Array<[number, unknown, Record<string, string>?]>): Handler {
    let i = 0;
    return (_req, res) => {
      const [status, body, headers] = steps[Math.min(i++, steps.length - 1)];
      json(res, status, body, headers);
    };
  }

  it('keeps one socket for sequential sends (keep-alive per endpoint)', async () => {
    const { client, server: s } = await setup(sequence([200, { d: {} }]));
    for (let i = 0; i < 3; i++) assert.equal((await client.send({ method: 'GET', path: '/orders/1' })).status, 200);
    assert.equal(s.connections(), 1);
  });

  it('retries a 503 and succeeds on the next attempt (attempts 2), waiting a jittered backoff', async () => {
    const { client, time, server: s } = await setup(sequence([503, { error: 'busy' }], [201, { d: { MaterialDocument: '4900000001' } }]));
    const res = await client.send({ method: 'POST', path: '/mdoc', body: { GoodsMovementCode: '03' } });
    assert.equal(res.status, 201);
    assert.equal(res.attempts, 2);
    assert.deepEqual(res.body, { d: { MaterialDocument: '4900000001' } });
    assert.equal(s.requests.length, 2);
    assert.deepEqual(time.sleeps, [50], 'full jitter: 0.5 * baseDelayMs');
  });

  it('honours Retry-After on a 429 (sleep >= 1000 ms even when the jitter says 0)', async () => {
    const { client, time } = await setup(sequence([429, { error: 'rate_limited' }, { 'retry-after': '1' }], [200, {}]), { random: () => 0 });
    const res = await client.send({ method: 'POST', path: '/x', body: {} });
    assert.equal(res.attempts, 2);
    assert.equal(time.sleeps.length, 1);
    assert.ok(time.sleeps[0] >= 1000, `slept ${time.sleeps[0]} ms`);
  });

  it('does not sleep through a long Retry-After: TARGET_UNAVAILABLE with retryAfterMs for the outbox', async () => {
    const { client, time } = await setup(sequence([503, {}, { 'retry-after': '3600' }]));
    const err = await failureOf(client.send({ method: 'POST', path: '/x', body: {} }));
    assert.ok(err instanceof TargetUnavailableError);
    assert.equal(err.attempts, 1);
    assert.equal(err.retryAfterMs, 3_600_000);
    assert.deepEqual(time.sleeps, []);
    assert.match(err.message, /come back in 3600 s/);
  });

  for (const [status, body, code] of [
    [400, odataError('RU/505', 'Order 1000123 is not released'), 'RU/505'],
    [422, { error: 'idempotency_key_reused', message: 'Same key, different body' }, 'idempotency_key_reused'],
  ] as const) {
    it(`does not retry a ${status}: TARGET_REJECTED with the target's error code`, async () => {
      const { client, time, server: s } = await setup(sequence([status, body]));
      const err = await failureOf(client.send({ method: 'POST', path: '/sap/opu/odata/sap/API_PROD_ORDER_CONFIRMATION_2_SRV/ProdnOrdConf2', body: {} }));
      assert.ok(err instanceof TargetRejectedError);
      assert.equal(err.code, 'TARGET_REJECTED');
      assert.equal(err.status, status);
      assert.equal(err.attempts, 1);
      assert.equal(err.retryable, false);
      assert.equal(err.target, 'ERP');
      assert.equal(err.targetError?.code, code);
      assert.deepEqual(err.body, body);
      assert.match(err.message, new RegExp(`ERP rejected POST .*ProdnOrdConf2 with HTTP ${status}: ${code.replace('/', '\\/')}`));
      assert.equal(s.requests.length, 1);
      assert.deepEqual(time.sleeps, []);
      assert.equal(classifyFailure(err).class, 'permanent');
      assert.equal(client.breakerState().consecutiveFailures, 0, 'an answer is not a failure of the target');
    });
  }

  it('5xx until the attempts run out: TARGET_UNAVAILABLE with the last status and the attempt count', async () => {
    const { client, time, server: s } = await setup(sequence([500, odataError('/IWBEP/CM_MGW_RT/000', 'Internal error')]), { retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000 } });
    const err = await failureOf(client.send({ method: 'POST', path: '/x', body: {} }));
    assert.ok(err instanceof TargetUnavailableError);
    assert.equal(err.code, 'TARGET_UNAVAILABLE');
    assert.equal(err.status, 500);
    assert.equal(err.attempts, 3);
    assert.equal(err.retryable, true);
    assert.equal(err.targetError?.code, '/IWBEP/CM_MGW_RT/000');
    assert.match(err.message, /HTTP 500 after 3 attempts/);
    assert.equal(s.requests.length, 3);
    assert.deepEqual(time.sleeps, [50, 100], 'the bound doubles');
    assert.equal(classifyFailure(err).class, 'retryable');
  });

  it('a refused connection ends as TARGET_UNAVAILABLE carrying the socket code', async () => {
    const { client } = await setup(sequence([200, {}]), { retry: { maxAttempts: 2 } });
    await server?.close();
    server = undefined;
    const err = await failureOf(client.send({ method: 'GET', path: '/x' }));
    assert.ok(err instanceof TargetUnavailableError);
    assert.equal(err.lastCode, 'ECONNREFUSED');
    assert.equal(err.attempts, 2);
    assert.equal(classifyFailure(err).reason, 'ECONNREFUSED', 'the classifier finds the code in the cause chain');
  });

  it('a timed-out attempt is retried; when every attempt times out the error is TIMEOUT', async () => {
    let calls = 0;
    let silent = false;
    const { client } = await setup((_req, res) => {
      if (++calls === 1 || silent) return; // hold the request: no answer
      json(res, 200, { ok: true });
    }, { timeoutMs: 150 });
    const res = await within(client.send({ method: 'GET', path: '/slow' }), 5000, 'send');
    assert.equal(res.status, 200);
    assert.equal(res.attempts, 2);

    silent = true;
    const err = await failureOf(client.send({ method: 'POST', path: '/slow', body: {}, repeatKey: 'k-1' }));
    assert.ok(err instanceof TargetTimeoutError);
    assert.equal(err.code, 'TIMEOUT');
    assert.equal(err.lastCode, 'ETIMEDOUT');
    assert.equal(err.attempts, 4);
    assert.equal(err.retryable, true);
    assert.match(err.message, /within 150 ms .*will not post twice/);
    assert.equal(classifyFailure(err).class, 'retryable');
  });

  it('circuit breaker: opens after N failures, then rejects without calling the target', async () => {
    const { client, server: s } = await setup(sequence([503, {}]), { retry: { maxAttempts: 1 }, breaker: { failureThreshold: 2, openMs: 10_000 } });
    for (let i = 0; i < 2; i++) assert.equal((await failureOf(client.send({ method: 'GET', path: '/x' }))).code, 'TARGET_UNAVAILABLE');
    assert.equal(client.breakerState().state, 'open');
    const err = await failureOf(client.send({ method: 'GET', path: '/x' }));
    assert.ok(err instanceof TargetCircuitOpenError);
    assert.equal(err.code, 'CIRCUIT_OPEN');
    assert.equal(err.attempts, 0);
    assert.equal(err.retryAfterMs, 10_000);
    assert.ok(err.cause instanceof CircuitOpenError);
    assert.match(err.message, /paused for 10 s/);
    assert.equal(s.requests.length, 2, 'no request while open');
    assert.equal(classifyFailure(err).class, 'retryable');
  });

  it('circuit breaker: stops the retries of a send once it opens', async () => {
    const { client, server: s } = await setup(sequence([503, {}]), { retry: { maxAttempts: 5 }, breaker: { failureThreshold: 2, openMs: 10_000 } });
    const err = await failureOf(client.send({ method: 'POST', path: '/x', body: {} }));
    assert.equal(err.code, 'CIRCUIT_OPEN');
    assert.equal(err.attempts, 2);
    assert.equal(s.requests.length, 2);
  });

  it('circuit breaker: half-open after openMs (injected clock), closes on a successful trial', async () => {
    let healthy = false;
    const { client, time, server: s } = await setup((_req, res) => json(res, healthy ? 200 : 503, {}), {
      retry: { maxAttempts: 1 }, breaker: { failureThreshold: 1, openMs: 5_000 },
    });
    await failureOf(client.send({ method: 'GET', path: '/x' }));
    assert.equal(client.breakerState().state, 'open');
    time.clock.t += 4_999;
    assert.equal((await failureOf(client.send({ method: 'GET', path: '/x' }))).code, 'CIRCUIT_OPEN');
    time.clock.t += 1;
    assert.equal(client.breakerState().state, 'half-open');
    healthy = true;
    const res = await client.send({ method: 'GET', path: '/x' });
    assert.equal(res.status, 200);
    assert.equal(client.breakerState().state, 'closed');
    assert.equal(s.requests.length, 2);
  });

  it('circuit breaker defaults (injected clock): trials after 2 s, 4 s, 8 s while the target stays down, 2 s again after a success', async () => {
    let healthy = false;
    const { client, time, server: s } = await setup((_req, res) => json(res, healthy ? 200 : 503, {}), { retry: { maxAttempts: 1 } });
    const get = () => client.send({ method: 'GET', path: '/x' }).then(() => 'ok', (e: AdapterError) => e.code);
    for (let i = 0; i < 5; i++) assert.equal(await get(), 'TARGET_UNAVAILABLE');
    const pauses: number[] = [];
    for (let trial = 0; trial < 3; trial++) {
      const wait = client.nextTrialInMs() as number;
      pauses.push(wait);
      time.clock.t += wait - 1;
      assert.equal(await get(), 'CIRCUIT_OPEN', 'refused until the pause is over');
      time.clock.t += 1;
      assert.equal(await get(), 'TARGET_UNAVAILABLE', 'the trial reaches the target, which is still down');
    }
    assert.deepEqual(pauses, [2_000, 4_000, 8_000]);
    time.clock.t += client.nextTrialInMs() as number;
    healthy = true;
    assert.equal(await get(), 'ok');
    assert.equal(client.nextTrialInMs(), undefined);
    healthy = false;
    for (let i = 0; i < 5; i++) await get();
    assert.equal(client.nextTrialInMs(), 2_000, 'the next outage starts at 2 s again');
    assert.equal(s.requests.length, 5 + 3 + 1 + 5);
  });

  it('sap repeatability: the same Repeatability-Request-ID and First-Sent (of the FIRST attempt) on every retry', async () => {
    const { client, server: s } = await setup(sequence([503, {}], [502, {}], [201, { d: {} }]));
    const started = new Date(Date.UTC(2026, 10, 26, 6, 0, 0)).toUTCString();
    const res = await client.send({ method: 'POST', path: '/conf', body: {}, repeatKey: 'evt-7f3a' });
    assert.equal(res.attempts, 3);
    const ids = s.requests.map((r) => header(r, 'repeatability-request-id'));
    const firstSent = s.requests.map((r) => header(r, 'repeatability-first-sent'));
    assert.deepEqual(ids, ['evt-7f3a', 'evt-7f3a', 'evt-7f3a']);
    assert.deepEqual(firstSent, [started, started, started], 'the fake clock moved during the backoff; the header did not');
    assert.match(started, IMF_FIXDATE);
    assert.equal(header(s.requests[0], 'idempotency-key'), undefined);
  });

  it('sap repeatability: a redelivery can carry the original first-sent time; over-long keys are hashed to 64 characters', async () => {
    const { client, server: s } = await setup(sequence([201, {}]));
    const long = 'x'.repeat(100);
    await client.send({ method: 'POST', path: '/conf', body: {}, repeatKey: long, firstSentAt: Date.UTC(2026, 0, 2, 3, 4, 5) });
    assert.equal(header(s.requests[0], 'repeatability-first-sent'), 'Fri, 02 Jan 2026 03:04:05 GMT');
    assert.equal(header(s.requests[0], 'repeatability-request-id'), createHash('sha256').update(long).digest('hex'));
  });

  it('idempotency-key repeatability: one key on every retry, none on reads; a key is generated when the caller has none', async () => {
    const { client, server: s } = await setup(sequence([503, {}], [201, {}]), { role: 'MES', repeatability: 'idempotency-key' });
    await client.send({ method: 'POST', path: '/api/v1/orders', body: {}, repeatKey: 'order-1000123' });
    assert.deepEqual(s.requests.map((r) => header(r, 'idempotency-key')), ['order-1000123', 'order-1000123']);
    assert.equal(header(s.requests[0], 'repeatability-request-id'), undefined);
    await client.send({ method: 'GET', path: '/api/v1/orders/1000123' });
    assert.equal(header(s.requests[2], 'idempotency-key'), undefined);
    await client.send({ method: 'POST', path: '/api/v1/orders', body: {} });
    assert.match(header(s.requests[3], 'idempotency-key') ?? '', /^[0-9a-f-]{36}$/);
  });

  it('"commit but drop the response": ONE posting and the original document after the retry', async () => {
    const cache = new Map<string, { status: number; body: unknown }>();
    let postings = 0;
    let dropped = 0;
    const { client, server: s } = await setup((req, res) => {
      const key = header(req, 'repeatability-request-id');
      const cached = key ? cache.get(key) : undefined;
      if (cached) return json(res, cached.status, cached.body); // the repeat: answered from the repeatability cache
      const doc = { status: 201, body: { d: { ConfirmationGroup: '0000000123', ConfirmationCount: String(++postings).padStart(8, '0') } } };
      if (key) cache.set(key, doc);
      if (dropped++ === 0) {
        res.socket?.destroy(); // posted, then the connection dies before the answer
        return;
      }
      json(res, doc.status, doc.body);
    });
    const res = await client.send({ method: 'POST', path: '/sap/opu/odata/sap/API_PROD_ORDER_CONFIRMATION_2_SRV/ProdnOrdConf2', body: { OrderID: '1000123' }, repeatKey: 'evt-commit-drop' });
    assert.equal(postings, 1);
    assert.equal(s.requests.length, 2);
    assert.equal(res.attempts, 2);
    assert.equal(res.status, 201);
    assert.deepEqual(res.body, { d: { ConfirmationGroup: '0000000123', ConfirmationCount: '00000001' } });
  });

  it('correlation: X-Correlation-ID and a traceparent whose trace id is stable per correlation id, with a new span per request', async () => {
    const { client, server: s } = await setup(sequence([503, {}], [200, {}]));
    await client.send({ method: 'POST', path: '/x', body: {}, correlationId: 'corr-1' });
    await client.send({ method: 'GET', path: '/x', correlationId: 'corr-1' });
    await client.send({ method: 'GET', path: '/x', correlationId: 'corr-2' });
    await client.send({ method: 'GET', path: '/x' });
    const parsed = s.requests.map((r) => {
      const m = TRACEPARENT.exec(header(r, 'traceparent') ?? '');
      assert.ok(m, `traceparent ${header(r, 'traceparent')}`);
      return { corr: header(r, 'x-correlation-id'), trace: m[1], span: m[2] };
    });
    assert.deepEqual(parsed.map((p) => p.corr).slice(0, 4), ['corr-1', 'corr-1', 'corr-1', 'corr-2']);
    assert.match(parsed[4].corr ?? '', /^[0-9a-f-]{36}$/, 'generated when the caller has none');
    assert.equal(parsed[0].trace, traceIdFor('corr-1'));
    assert.equal(parsed[1].trace, parsed[0].trace, 'the retry is in the same trace');
    assert.equal(parsed[2].trace, parsed[0].trace, 'and so is a later call about the same event');
    assert.notEqual(parsed[3].trace, parsed[0].trace);
    assert.equal(new Set(parsed.map((p) => p.span)).size, parsed.length, 'one span per request');
    assert.equal(traceIdFor('corr-1'), createHash('sha256').update('corr-1').digest('hex').slice(0, 32));
    assert.match(traceparent('anything'), TRACEPARENT);
  });

  it('etagFrom: reads the ETag, sends it as If-Match, and re-reads once on 412', async () => {
    let version = 1;
    let bumpBeforeNextAction = true;
    const { client, server: s } = await setup((req, res) => {
      if (req.method === 'GET') return json(res, 200, { d: { ManufacturingOrder: '1000123', __metadata: { etag: `W/"${version}"` } } }, { etag: `W/"${version}"` });
      if (bumpBeforeNextAction) {
        bumpBeforeNextAction = false;
        version++; // someone else changed the order between our read and our action
      }
      if (header(req, 'if-match') !== `W/"${version}"`) return json(res, 412, odataError('/IWBEP/CM_MGW_RT/022', 'Precondition failed'));
      version++;
      json(res, 200, { d: { ManufacturingOrder: '1000123', OrderIsReleased: true } }, { etag: `W/"${version}"` });
    });
    const order = "/sap/opu/odata/sap/API_PRODUCTION_ORDER_2_SRV/A_ProductionOrder_2('1000123')";
    const res = await client.send({ method: 'POST', path: "/sap/opu/odata/sap/API_PRODUCTION_ORDER_2_SRV/ReleaseOrder?ManufacturingOrder='1000123'", etagFrom: { path: order } });
    assert.equal(res.status, 200);
    assert.equal(res.attempts, 1, 'the re-read is not an attempt');
    assert.deepEqual(s.requests.map((r) => [r.method, header(r, 'if-match')]), [
      ['GET', undefined], ['POST', 'W/"1"'], ['GET', undefined], ['POST', 'W/"2"'],
    ]);
    // the URL parser percent-encodes ' in queries; servers decode it
    assert.equal(decodeURIComponent(s.requests[1].url), "/sap/opu/odata/sap/API_PRODUCTION_ORDER_2_SRV/ReleaseOrder?ManufacturingOrder='1000123'");
  });

  it('a 412 with a caller-supplied If-Match (nothing to re-read) is TARGET_REJECTED', async () => {
    const { client, server: s } = await setup(sequence([412, odataError('/IWBEP/CM_MGW_RT/022', 'Precondition failed')]));
    const err = await failureOf(client.send({ method: 'PATCH', path: '/x', body: {}, ifMatch: 'W/"7"' }));
    assert.equal(err.code, 'TARGET_REJECTED');
    assert.equal(err.status, 412);
    assert.equal(header(s.requests[0], 'if-match'), 'W/"7"');
    assert.equal(s.requests.length, 1);
  });

  it('builds URLs from a base path, an existing query and OData system options', async () => {
    const { server: s } = await setup(sequence([200, []]));
    const client = new EndpointClient({ baseUrl: `${s.url}/api/v1/`, role: 'WMS', repeatability: 'none', breaker: false });
    clients.push(client);
    await client.send({ method: 'GET', path: 'stock', query: { material: 'RM-100 STEEL', site: 'P100', lot: undefined } });
    await client.send({ method: 'GET', path: "/A_MatlStkInAcctMod?sap-client=100", query: { $filter: "Material eq 'RM-100-STEEL'" } });
    assert.equal(s.requests[0].url, '/api/v1/stock?material=RM-100%20STEEL&site=P100');
    assert.equal(s.requests[1].url, '/api/v1/A_MatlStkInAcctMod?sap-client=100&$filter=Material%20eq%20%27RM-100-STEEL%27');
    assert.equal(header(s.requests[0], 'accept'), 'application/json');
  });

  it('rate limit: waits for a token before each request (TokenBucket on the injected clock)', async () => {
    const { client, time, server: s } = await setup(sequence([200, {}]), { ratePerSec: 2, burst: 1 });
    for (let i = 0; i < 3; i++) await client.send({ method: 'GET', path: '/x' });
    assert.equal(s.requests.length, 3);
    assert.deepEqual(time.sleeps, [500, 500]);
  });

  it('close(): ends a pending retry wait at once and refuses later sends', async () => {
    server = await startServer((_req, res) => json(res, 503, {}));
    const client = new EndpointClient({ baseUrl: server.url, role: 'EAM', repeatability: 'none', breaker: false, retry: { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 }, random: () => 1 });
    const s = server;
    const pending = client.send({ method: 'GET', path: '/x' });
    // close() must land in the 60 s backoff, not mid-request: wait until the client's own retry
    // timer (the one close() cancels) is armed, after the first answer.
    const waits = (client as unknown as { sleeps: Set<unknown> }).sleeps;
    const deadline = Date.now() + 5000;
    while (waits.size === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(waits.size, 1, 'the client never entered its retry wait');
    assert.equal(s.requests.length, 1);
    client.close();
    const err = await failureOf(pending);
    assert.equal(err.code, 'TARGET_UNAVAILABLE');
    assert.equal(err.target, 'EAM');
    assert.match(err.message, /closed/);
    assert.equal(s.requests.length, 1);
    assert.equal((await failureOf(client.send({ method: 'GET', path: '/x' }))).code, 'TARGET_UNAVAILABLE');
  });

  it('toJSON gives msg.error a plain object with the actionable fields', async () => {
    const { client } = await setup(sequence([400, odataError('M7/021', 'Deficit of SL Unrestricted-use 12.500 KG : RM-100-STEEL P100 0001')]));
    const err = await failureOf(client.send({ method: 'POST', path: '/mdoc', body: {} }));
    const plain = JSON.parse(JSON.stringify(err)) as Record<string, unknown>;
    assert.deepEqual(plain, {
      code: 'TARGET_REJECTED', message: err.message, target: 'ERP', attempts: 1, retryable: false, status: 400, method: 'POST', path: '/mdoc',
      targetError: { code: 'M7/021', message: 'Deficit of SL Unrestricted-use 12.500 KG : RM-100-STEEL P100 0001' },
    });
  });
});
