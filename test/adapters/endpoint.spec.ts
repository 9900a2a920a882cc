/**
 * openEndpoint: one HTTP client and one compiled profile per endpoint configuration, and writes
 * that carry the repeat header their operation declares (not one guessed from the profile name).
 */
import * as assert from 'node:assert/strict';
import type { CanonicalEvent } from '../../lib/canonical/events';
import { openEndpoint, type EndpointConfig, type OpenEndpoint } from '../../lib/adapters/endpoint';
import * as engine from '../../lib/mapping/engine';
import { createProfile } from '../../lib/mapping/engine';
import { SAP_S4HANA } from '../../lib/mapping/profiles/sap-s4hana';
import { PROFILES } from '../../lib/mapping/registry';
import type { WriteOperationSpec } from '../../lib/mapping/types';
import { PlantSyncError } from '../../lib/errors';
import { loadEventFixture } from '../helpers/event-fixtures';
import { json, startServer, type Recorded, type TestServer } from './test-server';

/** The catalogue's valid consumption, without its lot (longer than the 10 characters an SAP batch takes). */
function consumed(): CanonicalEvent {
  const event = structuredClone(loadEventFixture('mfg.material.consumed.v1').valid[0]) as unknown as CanonicalEvent<Record<string, unknown>>;
  delete event.data.lot;
  return event as CanonicalEvent;
}

/** Answers like SAP Gateway (a CSRF token, a material document) or a generic MES (a consumption id). */
function target(req: Recorded, res: import('node:http').ServerResponse): void {
  if (req.method === 'GET') return json(res, 200, {}, { 'x-csrf-token': 'tok-1' });
  if (req.url.includes('/api/v1/')) return json(res, 201, { consumptionId: 'C-1' });
  if (req.url.includes('ProdnOrdConf2')) return json(res, 201, { d: { ConfirmationGroup: '0000000123', ConfirmationCount: '00000001' } });
  return json(res, 201, { d: { MaterialDocument: '4900000001', MaterialDocumentYear: '2026' } });
}

/** The catalogue's valid confirmation, without its variance reason (longer than SAP's 4 characters). */
function confirmed(): CanonicalEvent {
  const event = structuredClone(loadEventFixture('mfg.operation.completed.v2').valid[0]) as unknown as CanonicalEvent<Record<string, unknown>>;
  delete event.data.varianceReason;
  return event as CanonicalEvent;
}

const header = (r: Recorded, name: string) => r.headers[name] as string | undefined;

describe('openEndpoint: one client and compiled profile per endpoint', function () {
  this.timeout(20000);
  let server: TestServer;
  const opened: OpenEndpoint[] = [];
  const logged: string[] = [];
  const open = (config: Partial<EndpointConfig>) => {
    const ep = openEndpoint({ role: 'ERP', profile: 'sap-s4hana', baseUrl: server.url, ...config }, {}, { logger: { error: (m) => logged.push(m) } });
    opened.push(ep);
    return ep;
  };
  const posts = () => server.requests.filter((r) => r.method === 'POST');

  beforeEach(async () => {
    logged.length = 0;
    server = await startServer(target);
  });
  afterEach(async () => {
    for (const ep of opened.splice(0)) ep.close();
    await server.close();
  });

  it('SAP writes carry the Repeatability-Request-ID their operation declares, with First-Sent and a CSRF token', async () => {
    const res = await open({ profile: 'sap-s4hana' }).write(consumed());
    assert.equal(res.operation, 'goodsMovement');
    const [post] = posts();
    assert.ok(header(post, 'repeatability-request-id'), 'Repeatability-Request-ID sent');
    assert.match(header(post, 'repeatability-first-sent') ?? '', /GMT$/);
    assert.equal(header(post, 'idempotency-key'), undefined);
    assert.equal(header(post, 'x-csrf-token'), 'tok-1', 'the profile declares CSRF service roots');
  });

  it('generic REST writes carry the Idempotency-Key their operation declares, and no CSRF fetch', async () => {
    const res = await open({ role: 'MES', profile: 'generic-rest' }).write(consumed());
    assert.equal(res.operation, 'consumeMaterial');
    assert.equal(server.requests.length, 1, 'no CSRF token fetch');
    assert.ok(header(posts()[0], 'idempotency-key'));
    assert.equal(header(posts()[0], 'repeatability-request-id'), undefined);
  });

  it('the header follows each operation\'s declaration, not the profile name: one client sends both kinds', async () => {
    const goodsMovement = { ...(SAP_S4HANA.operations.goodsMovement as WriteOperationSpec), repeatHeader: 'Idempotency-Key' as const };
    const variant = createProfile({ ...SAP_S4HANA, operations: { ...SAP_S4HANA.operations, goodsMovement } });
    assert.equal(variant.name, 'sap-s4hana');
    const ep = open({ profile: variant });
    await ep.write(consumed());
    assert.equal((await ep.write(confirmed())).operation, 'confirmOperation');
    const [movement, confirmation] = posts();
    assert.ok(header(movement, 'idempotency-key'), 'goods movement: the Idempotency-Key it now declares');
    assert.equal(header(movement, 'repeatability-request-id'), undefined);
    assert.match(confirmation.url, /ProdnOrdConf2/);
    assert.ok(header(confirmation, 'repeatability-request-id'), 'confirmation: still Repeatability-Request-ID');
    assert.equal(header(confirmation, 'idempotency-key'), undefined);
  });

  it('compiles the profile once, with the overrides, and holds that one instance', () => {
    const real = engine.createProfile;
    let compiled = 0;
    const spied = engine as unknown as { createProfile: typeof real };
    spied.createProfile = (...args) => {
      compiled += 1;
      return real(...args);
    };
    try {
      const ep = open({ overrides: { valueMaps: { varianceReason: { toVendor: { MACHINE_BREAKDOWN: 'Z001' } } } } });
      assert.equal(compiled, 1);
      assert.notEqual(ep.profile, PROFILES['sap-s4hana']);
      assert.equal(ep.profile?.definition.valueMaps.varianceReason.toVendor?.MACHINE_BREAKDOWN, 'Z001');
      assert.equal(open({}).profile, PROFILES['sap-s4hana'], 'no overrides: the built-in compiled profile, no compile');
      assert.equal(compiled, 1);
    } finally {
      spied.createProfile = real;
    }
  });

  it('an unusable endpoint logs one line, lists every problem in it, and never reaches the target', async () => {
    const settings = new PlantSyncError('CONFIG_ERROR', 'attempts must be a whole number from 1 to 20, got -1', [
      { pointer: '/maxAttempts', message: 'attempts must be a whole number from 1 to 20, got -1', keyword: 'config' },
    ]);
    const ep = open({ problem: settings, overrides: { valueMaps: { noSuchMap: { toVendor: { A: 'B' } } } } });
    assert.match(ep.problem?.message ?? '', /^attempts must be .*, got -1; overrides: value map override noSuchMap: .*\(leave the field empty for none\)$/);
    assert.deepEqual(ep.problem?.details.map((d) => d.pointer), ['/maxAttempts', '/overrides']);
    assert.deepEqual(logged, [ep.problem?.message]);
    assert.deepEqual(ep.overrides, {});
    assert.throws(() => ep.assertUsable(), { code: 'CONFIG_ERROR' });
    await assert.rejects(ep.write(consumed()), { code: 'CONFIG_ERROR' });
    await assert.rejects(ep.client.send({ method: 'GET', path: '/x' }), { code: 'CONFIG_ERROR' });
    assert.equal(server.requests.length, 0);
  });

  it('an unknown profile name is a CONFIG_ERROR at /profile, not a throw', () => {
    const ep = open({ profile: 'sap-ecc' });
    assert.match(ep.problem?.message ?? '', /no mapping profile sap-ecc \(has: sap-s4hana, generic-rest\)/);
    assert.equal(ep.profile, undefined);
  });
});
