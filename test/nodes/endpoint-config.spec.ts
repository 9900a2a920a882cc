import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEvent } from '../../lib';
import { PlantSyncError } from '../../lib/errors';
import endpointNode from '../../nodes/plantsync-endpoint/plantsync-endpoint';
import requestNode from '../../nodes/plantsync-request/plantsync-request';
import type { PlantSyncEndpointNode } from '../../nodes/shared/endpoint-node';
import { helper, nextFrom, type TestNode } from '../helpers/node-helper';

interface LogEntry { level: number; id?: string; type?: string; msg: unknown }

/** What Node-RED logged for node `id` at error level (20). */
const errorsOf = (id: string): LogEntry[] =>
  helper.log().getCalls().map((c) => c.args[0] as LogEntry).filter((e) => e.id === id && e.level === 20);

const confirmed = () => createEvent({
  type: 'mfg.material.consumed.v2', source: '/plants/P100/mes', siteid: 'P100',
  data: { movementId: 'MV-0000881', orderId: '1000124', operationId: '0010', material: 'RM-100-STEEL', quantity: { value: 12.5, uom: 'KG' }, site: 'P100', storageLocation: '0001' },
});

describe('plantsync-endpoint configuration checked at deploy', function () {
  this.timeout(20000);
  const saved = process.env.ERP_URL;
  let hits = 0;
  let target: http.Server;
  let targetUrl: string;

  before(async () => {
    // A target that counts calls: a refused configuration must never reach it.
    target = http.createServer((_req, res) => {
      hits += 1;
      res.writeHead(500).end();
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
    await helper.startServer();
  });
  after(async () => {
    if (saved === undefined) delete process.env.ERP_URL;
    else process.env.ERP_URL = saved;
    await helper.stopServer();
    await new Promise((r) => target.close(r));
  });
  afterEach(() => helper.unload());

  async function deploy(endpoint: Record<string, unknown>) {
    const at = { z: 'f1', x: 100, y: 100 };
    await helper.load([endpointNode, requestNode], [
      { id: 'f1', type: 'tab' },
      { id: 'ep', type: 'plantsync-endpoint', role: 'ERP', profile: 'sap-s4hana', authType: 'none', ...endpoint },
      { id: 'rq', type: 'plantsync-request', endpoint: 'ep', operation: 'auto', wires: [['out']], ...at },
      { id: 'c', type: 'catch', scope: ['rq'], uncaught: false, wires: [['caught']], ...at },
      { id: 'out', type: 'helper', ...at },
      { id: 'caught', type: 'helper', ...at },
    ]);
    return helper.getNode('ep') as unknown as PlantSyncEndpointNode;
  }

  async function requestOnce() {
    const got = nextFrom([helper.getNode('out') as TestNode, helper.getNode('caught') as TestNode]);
    (helper.getNode('rq') as TestNode).receive({ payload: confirmed() });
    return got;
  }

  it('accepts an empty Overrides field as no overrides', async () => {
    const ep = await deploy({ baseUrl: targetUrl, overrides: '', maxAttempts: 1 });
    assert.equal(ep.configError, undefined);
    assert.deepEqual(ep.overrides, {});
    assert.doesNotThrow(() => ep.assertUsable());
    assert.deepEqual(errorsOf('ep'), []);
    const before = hits;
    await requestOnce();
    assert.equal(hits, before + 1, 'a usable endpoint calls its target');
  });

  it('reports an unset ${ERP_URL} as one line naming the variable, and request nodes fail with CONFIG_ERROR', async () => {
    delete process.env.ERP_URL;
    const ep = await deploy({ baseUrl: '${ERP_URL}' });
    const logged = errorsOf('ep');
    assert.equal(logged.length, 1, JSON.stringify(logged));
    assert.equal(logged[0].msg, 'base URL empty: set ERP_URL', 'a plain one-line message, not an Error with a stack');
    assert.equal(ep.configError, 'base URL empty: set ERP_URL');
    assert.throws(() => ep.assertUsable(), (err: unknown) =>
      err instanceof PlantSyncError && err.code === 'CONFIG_ERROR' && err.details[0].pointer === '/baseUrl');
    await assert.rejects(ep.client.send({ method: 'GET', path: '/x' }), { code: 'CONFIG_ERROR' });

    const got = await requestOnce();
    assert.equal(got.node.id, 'caught');
    const error = got.msg.error as { code: string; message: string };
    assert.equal(error.code, 'CONFIG_ERROR');
    assert.match(error.message, /set ERP_URL/);
  });

  it('names the variable also when it is set but empty (found in the raw flow config)', async () => {
    process.env.ERP_URL = '';
    const ep = await deploy({ baseUrl: '${ERP_URL}' });
    assert.equal(ep.configError, 'base URL empty: set ERP_URL');
    assert.equal(errorsOf('ep')[0]?.msg, 'base URL empty: set ERP_URL');
  });

  it('refuses out-of-range numbers at deploy, all in one line, and never calls the target', async () => {
    const before = hits;
    const ep = await deploy({ baseUrl: targetUrl, maxAttempts: -1, baseDelayMs: 40000, maxDelayMs: 30000, timeoutMs: -5, openSeconds: 'soon', probeSeconds: 90 });
    const message = ep.configError ?? '';
    assert.match(message, /attempts must be a whole number from 1 to 20, got -1/);
    assert.match(message, /timeout must be a whole number from 100 to 600000 ms, got -5/);
    assert.match(message, /longest circuit pause must be a whole number from 1 to 3600 s, got "soon"/);
    assert.match(message, /first trial after 90 s is above the longest circuit pause 60 s/);
    assert.match(message, /first retry delay 40000 ms is above the longest retry delay 30000 ms/);
    assert.equal(errorsOf('ep').length, 1);
    assert.doesNotMatch(String(errorsOf('ep')[0].msg), /\n/);
    const got = await requestOnce();
    assert.equal((got.msg.error as { code: string }).code, 'CONFIG_ERROR');
    assert.equal(hits, before, 'a refused endpoint never reaches its target');
  });

  it('refuses overrides that are not a JSON object or name no value map of the profile', async () => {
    let ep = await deploy({ baseUrl: targetUrl, overrides: '{"valueMaps": ' });
    assert.match(ep.configError ?? '', /^overrides are not valid JSON: .*\(leave the field empty for none\)$/);
    await helper.unload();
    ep = await deploy({ baseUrl: targetUrl, overrides: '{"valueMaps": {"noSuchMap": {"toVendor": {"A": "B"}}}}' });
    assert.match(ep.configError ?? '', /overrides: value map override noSuchMap: the profile has no such map/);
  });

  it('refuses a base URL that is not http(s)', async () => {
    const ep = await deploy({ baseUrl: 'ftp://erp.example.com' });
    assert.match(ep.configError ?? '', /base URL "ftp:\/\/erp.example.com" must start with http:\/\/ or https:\/\//);
  });
});
