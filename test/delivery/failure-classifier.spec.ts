import * as assert from 'node:assert/strict';
import { asPlantSyncError, type ErrorCode, PlantSyncError } from '../../lib/errors';
import { CircuitOpenError } from '../../lib/delivery/circuit-breaker';
import { classifyFailure, isPermanentFailure, type FailureClass } from '../../lib/delivery/failure-classifier';

const NOW = Date.UTC(2026, 10, 26, 7, 30, 0); // Thu, 26 Nov 2026 07:30:00 GMT

function withCode(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

function httpError(status: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`HTTP ${status}`), { status }, extra);
}

function fetchFailed(cause?: unknown): TypeError {
  return new TypeError('fetch failed', cause === undefined ? undefined : { cause });
}

describe('delivery: failure classifier', () => {
  describe('HTTP status', () => {
    const table: Array<[number, FailureClass]> = [
      [408, 'retryable'], [423, 'retryable'], [425, 'retryable'], [429, 'retryable'],
      [500, 'retryable'], [502, 'retryable'], [503, 'retryable'], [504, 'retryable'], [507, 'retryable'], [599, 'retryable'],
      [400, 'permanent'], [401, 'permanent'], [403, 'permanent'], [404, 'permanent'], [405, 'permanent'], [409, 'permanent'],
      [410, 'permanent'], [413, 'permanent'], [415, 'permanent'], [422, 'permanent'], [501, 'permanent'], [505, 'permanent'],
      [301, 'permanent'],
    ];
    for (const [status, expected] of table) {
      it(`${status} is ${expected}`, () => {
        assert.deepEqual(classifyFailure(httpError(status), NOW), { class: expected, reason: `HTTP ${status}` });
      });
    }

    it('finds the status on status, statusCode, response.status and response.statusCode', () => {
      for (const err of [{ status: 503 }, { statusCode: 503 }, { response: { status: 503 } }, { response: { statusCode: 503 } }, { status: '503' }]) {
        assert.equal(classifyFailure(err, NOW).reason, 'HTTP 503', JSON.stringify(err));
      }
      assert.equal(classifyFailure({ status: 42, code: 'ECONNRESET' }, NOW).reason, 'ECONNRESET', 'not an HTTP status');
    });

    it('trusts the status over a client library code: the target answered', () => {
      assert.deepEqual(classifyFailure(Object.assign(withCode('ERR_BAD_RESPONSE'), { response: { status: 503 } }), NOW),
        { class: 'retryable', reason: 'HTTP 503' });
      assert.deepEqual(classifyFailure(Object.assign(withCode('ERR_BAD_REQUEST'), { response: { status: 422 } }), NOW),
        { class: 'permanent', reason: 'HTTP 422' });
    });
  });

  describe('network codes', () => {
    const retryableCodes = ['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ECONNABORTED', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EHOSTUNREACH',
      'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
      'UND_ERR_SOCKET', 'UND_ERR_CLOSED'];
    for (const code of retryableCodes) {
      it(`${code} is retryable`, () => {
        assert.deepEqual(classifyFailure(withCode(code), NOW), { class: 'retryable', reason: code });
      });
    }

    it('undici errors about the request itself are permanent', () => {
      for (const code of ['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH']) {
        assert.deepEqual(classifyFailure(withCode(code), NOW), { class: 'permanent', reason: code });
      }
    });

    it('fetch failed: the cause decides, found through the cause chain and AggregateError members', () => {
      assert.deepEqual(classifyFailure(fetchFailed(withCode('ECONNREFUSED')), NOW), { class: 'retryable', reason: 'ECONNREFUSED' });
      assert.deepEqual(classifyFailure(fetchFailed(withCode('UND_ERR_CONNECT_TIMEOUT')), NOW).reason, 'UND_ERR_CONNECT_TIMEOUT');
      const happyEyeballs = new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], 'connect failed');
      assert.deepEqual(classifyFailure(fetchFailed(happyEyeballs), NOW), { class: 'retryable', reason: 'ECONNREFUSED' });
      assert.deepEqual(classifyFailure(fetchFailed(withCode('UND_ERR_INVALID_ARG')), NOW).class, 'permanent');
    });

    it('fetch failed without a known cause is still a network failure (retryable), unlike other TypeErrors', () => {
      assert.deepEqual(classifyFailure(fetchFailed(), NOW), { class: 'retryable', reason: 'fetch failed' });
      assert.deepEqual(classifyFailure(fetchFailed(new Error('other side closed')), NOW).class, 'retryable');
    });

    it('timeouts and aborts by name (AbortSignal.timeout, AbortController) are retryable', () => {
      assert.deepEqual(classifyFailure(new DOMException('The operation was aborted due to timeout', 'TimeoutError'), NOW),
        { class: 'retryable', reason: 'TimeoutError' });
      assert.deepEqual(classifyFailure(new DOMException('This operation was aborted', 'AbortError'), NOW),
        { class: 'retryable', reason: 'AbortError' });
      assert.equal(classifyFailure(fetchFailed(new DOMException('t', 'TimeoutError')), NOW).class, 'retryable');
    });

    it('stops on a cyclic cause chain', () => {
      const a = new Error('a') as Error & { cause?: unknown };
      const b = new Error('b', { cause: a });
      a.cause = b;
      assert.deepEqual(classifyFailure(a, NOW), { class: 'retryable', reason: 'unclassified Error' });
    });
  });

  describe('PlantSync codes', () => {
    const permanent: ErrorCode[] = ['SCHEMA_INVALID', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'NOT_AN_EVENT', 'UNKNOWN_EVENT_TYPE',
      'UNKNOWN_EVENT_VERSION', 'RETIRED_EVENT_VERSION', 'UPCAST_FAILED', 'INVALID_INPUT', 'NOT_FOUND', 'LEASE_LOST'];
    for (const code of permanent) {
      it(`${code} is permanent`, () => {
        assert.deepEqual(classifyFailure(new PlantSyncError(code, 'x'), NOW), { class: 'permanent', reason: code });
      });
    }
    for (const code of ['OUTBOX_FULL', 'STORE_CLOSED', 'IN_FLIGHT', 'CONFIG_ERROR', 'NO_CLAIM', 'UNEXPECTED_ERROR'] as const) {
      it(`${code} is retryable`, () => {
        assert.deepEqual(classifyFailure(new PlantSyncError(code, 'x'), NOW), { class: 'retryable', reason: code });
        // the same as a plain msg.error object without the flag
        assert.deepEqual(classifyFailure({ code, message: 'x' }, NOW), { class: 'retryable', reason: code });
      });
    }

    it("the raiser's retryable flag wins over the code rules, which still give the reason", () => {
      assert.deepEqual(classifyFailure({ code: 'SCHEMA_INVALID', retryable: true }, NOW), { class: 'retryable', reason: 'SCHEMA_INVALID' });
      assert.deepEqual(classifyFailure({ code: 'ECONNRESET', retryable: false }, NOW), { class: 'permanent', reason: 'ECONNRESET' });
      assert.deepEqual(classifyFailure({ status: 503, retryable: false }, NOW), { class: 'permanent', reason: 'HTTP 503' });
    });

    it('a refused store connection wrapped as UNEXPECTED_ERROR stays retryable, its cause kept', () => {
      const refused = withCode('ECONNREFUSED');
      const wrapped = asPlantSyncError(refused);
      assert.equal(wrapped.code, 'UNEXPECTED_ERROR');
      assert.equal(wrapped.cause, refused);
      assert.deepEqual(classifyFailure(wrapped, NOW), { class: 'retryable', reason: 'UNEXPECTED_ERROR' });
      assert.deepEqual((wrapped.toJSON() as { cause: unknown }).cause, { name: 'Error', code: 'ECONNREFUSED', message: refused.message });
      assert.equal(isPermanentFailure(JSON.parse(JSON.stringify(wrapped)) as { code: string; retryable: boolean }), false);
    });

    it('CIRCUIT_OPEN is retryable and carries the wait until the breaker allows a trial', () => {
      assert.deepEqual(classifyFailure(new CircuitOpenError(12_000, 'erp'), NOW), { class: 'retryable', reason: 'CIRCUIT_OPEN', retryAfterMs: 12_000 });
    });
  });

  describe('unknown failures', () => {
    it('programming errors are permanent: they repeat, and may follow the side effect', () => {
      for (const err of [new TypeError("Cannot read properties of undefined (reading 'id')"), new RangeError('x'),
        new ReferenceError('x'), new SyntaxError('Unexpected token < in JSON')]) {
        assert.deepEqual(classifyFailure(err, NOW), { class: 'permanent', reason: `programming error: ${err.name}` });
      }
    });

    it('other unknown errors are retryable, bounded by the attempt count', () => {
      assert.deepEqual(classifyFailure(new Error('Connection closed: 320 (CONNECTION-FORCED)'), NOW), { class: 'retryable', reason: 'unclassified Error' });
      assert.deepEqual(classifyFailure(withCode('SQLITE_BUSY'), NOW), { class: 'retryable', reason: 'unclassified Error' });
      for (const thrown of ['boom', undefined, null, 42]) {
        assert.deepEqual(classifyFailure(thrown, NOW), { class: 'retryable', reason: 'unclassified failure' }, String(thrown));
      }
    });
  });

  describe('Retry-After', () => {
    it('takes retryAfterMs set by an adapter', () => {
      assert.equal(classifyFailure(httpError(429, { retryAfterMs: 2500 }), NOW).retryAfterMs, 2500);
    });

    it('reads the header from a fetch Headers object, a plain object (any case) or response.headers', () => {
      assert.equal(classifyFailure(httpError(503, { headers: new Headers({ 'Retry-After': '7' }) }), NOW).retryAfterMs, 7000);
      assert.equal(classifyFailure(httpError(429, { headers: { 'Retry-After': '3' } }), NOW).retryAfterMs, 3000);
      assert.equal(classifyFailure({ response: { status: 503, headers: { 'retry-after': ['4', '9'] } } }, NOW).retryAfterMs, 4000);
      assert.equal(classifyFailure({ response: { status: 503, headers: new Headers({ 'retry-after': 'Thu, 26 Nov 2026 07:31:00 GMT' }) } }, NOW)
        .retryAfterMs, 60_000);
    });

    it('leaves it out when absent or unparseable, and on permanent failures', () => {
      assert.ok(!('retryAfterMs' in classifyFailure(httpError(503), NOW)));
      assert.ok(!('retryAfterMs' in classifyFailure(httpError(503, { headers: { 'retry-after': 'later' } }), NOW)));
      assert.ok(!('retryAfterMs' in classifyFailure(httpError(403, { headers: { 'retry-after': '60' } }), NOW)));
    });
  });
});
