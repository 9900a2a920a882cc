/**
 * The endpoint config node owns its profile: request nodes share the one it compiled at deploy,
 * and the editor reads a profile's operations from the runtime (GET /plantsync/profiles/<name>/operations),
 * behind the Admin API's login like every admin route.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as engine from '../../lib/mapping/engine';
import { GENERIC_REST } from '../../lib/mapping/profiles/generic-rest';
import { SAP_S4HANA } from '../../lib/mapping/profiles/sap-s4hana';
import type { OperationSummary } from '../../lib/mapping/operation-list';
import endpointNode from '../../nodes/plantsync-endpoint/plantsync-endpoint';
import requestNode from '../../nodes/plantsync-request/plantsync-request';
import type { PlantSyncEndpointNode } from '../../nodes/shared/endpoint-node';
import { loadEventFixture } from '../helpers/event-fixtures';
import { helper, nextFrom, type TestNode } from '../helpers/node-helper';
import { startNodeRed, type RunningNodeRed } from '../helpers/node-red-process';

const at = { z: 'f1', x: 100, y: 100 };

/** The catalogue's valid consumption for the generic MES. */
const consumed = () => structuredClone(loadEventFixture('mfg.material.consumed.v2').valid[0]);

describe('plantsync-endpoint: one compiled profile, its operations served to the editor', function () {
  this.timeout(60000);
  let mes: http.Server;
  let mesUrl: string;
  let posted = 0;

  before(async () => {
    mes = http.createServer((req, res) => {
      req.resume().on('end', () => {
        posted += 1;
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ consumptionId: `C-${posted}` }));
      });
    });
    await new Promise<void>((r) => mes.listen(0, '127.0.0.1', r));
    mesUrl = `http://127.0.0.1:${(mes.address() as AddressInfo).port}`;
    await helper.startServer();
  });
  after(async () => {
    await helper.stopServer();
    await new Promise((r) => mes.close(r));
  });
  afterEach(() => helper.unload());

  it('two request nodes on one endpoint share the profile it compiled once with the overrides', async () => {
    const real = engine.createProfile;
    let compiled = 0;
    const spied = engine as unknown as { createProfile: typeof real };
    spied.createProfile = (...args) => {
      compiled += 1;
      return real(...args);
    };
    try {
      await helper.load([endpointNode, requestNode], [
        { id: 'f1', type: 'tab' },
        { id: 'ep', type: 'plantsync-endpoint', role: 'MES', profile: 'generic-rest', baseUrl: mesUrl, authType: 'none', overrides: JSON.stringify({ valueMaps: { varianceReason: { toVendor: { BURR: 'SCR2' } } } }) },
        { id: 'rq1', type: 'plantsync-request', endpoint: 'ep', operation: 'auto', wires: [['out']], ...at },
        { id: 'rq2', type: 'plantsync-request', endpoint: 'ep', operation: 'auto', wires: [['out']], ...at },
        { id: 'c', type: 'catch', scope: ['rq1', 'rq2'], uncaught: false, wires: [['caught']], ...at },
        { id: 'out', type: 'helper', ...at },
        { id: 'caught', type: 'helper', ...at },
      ]);
    } finally {
      spied.createProfile = real;
    }
    const ep = helper.getNode('ep') as unknown as PlantSyncEndpointNode;
    assert.equal(ep.endpoint.problem, undefined);
    assert.equal(compiled, 1, 'compiled by the endpoint only, not again per request node');
    for (const id of ['rq1', 'rq2']) {
      const got = nextFrom([helper.getNode('out') as TestNode, helper.getNode('caught') as TestNode]);
      (helper.getNode(id) as TestNode).receive({ payload: consumed() });
      const { node, msg } = await got;
      assert.equal(node.id, 'out', JSON.stringify(msg.error));
      assert.deepEqual(msg.payload, { documentNumber: `C-${posted}` });
    }
  });

  it('serves each profile\'s operations: name, kind, description, the event types a write takes, the parameters a read takes', async () => {
    await helper.load([endpointNode], [{ id: 'f1', type: 'tab' }]);
    for (const definition of [SAP_S4HANA, GENERIC_REST]) {
      const res = await helper.request().get(`/plantsync/profiles/${definition.name}/operations`);
      assert.equal(res.status, 200);
      const ops = res.body as OperationSummary[];
      assert.deepEqual(ops.map((o) => o.name), Object.keys(definition.operations));
      for (const op of ops) assert.ok(op.description.length > 0, `${definition.name} ${op.name} has a description`);
    }
    const sap = (await helper.request().get('/plantsync/profiles/sap-s4hana/operations')).body as OperationSummary[];
    const byName = Object.fromEntries(sap.map((o) => [o.name, o]));
    assert.deepEqual(byName.goodsMovement.eventTypes,
      ['mfg.material.consumed.v2', 'mfg.material.returned.v2', 'mfg.inventory.moved.v2', 'mfg.production.confirmed.v1']);
    assert.deepEqual([byName.readProductionOrder.kind, byName.readProductionOrder.params, byName.readProductionOrder.eventTypes], ['read', ['orderId'], []]);
    assert.equal(byName.readStock.system, 'ERP');
  });

  it('answers 404 naming the profiles it has for an unknown one', async () => {
    await helper.load([endpointNode], [{ id: 'f1', type: 'tab' }]);
    const res = await helper.request().get('/plantsync/profiles/sap-ecc/operations');
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, { error: 'no mapping profile sap-ecc (has: sap-s4hana, generic-rest)' });
  });
});

describe('plantsync-endpoint: the operations route behind adminAuth (npm start\'s settings)', function () {
  this.timeout(90000);
  let nr: RunningNodeRed;

  before(async () => {
    nr = await startNodeRed(undefined, 60000);
  });
  after(async () => nr?.stop());

  it('refuses an anonymous request and answers a logged-in one', async () => {
    const route = `${nr.url}/plantsync/profiles/generic-rest/operations`;
    assert.equal((await fetch(route)).status, 401);
    const res = await fetch(route, { headers: { authorization: `Bearer ${await nr.token()}` } });
    assert.equal(res.status, 200);
    assert.ok(((await res.json()) as OperationSummary[]).some((o) => o.name === 'readLot'));
  });
});
