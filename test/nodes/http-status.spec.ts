/**
 * Example http-confirm-with-status: a guarded flow behind `http in` answers with the right HTTP
 * status through `http response` alone (msg.statusCode set by the PlantSync nodes), against the
 * SAP simulator.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { helper } from '../helpers/node-helper';
import { REPO_ROOT } from '../helpers/paths';
import storeNode from '../../nodes/plantsync-store/plantsync-store';
import validateNode from '../../nodes/plantsync-validate/plantsync-validate';
import idempotencyNode from '../../nodes/plantsync-idempotency/plantsync-idempotency';
import completeNode from '../../nodes/plantsync-idempotency-complete/plantsync-idempotency-complete';
import endpointNode from '../../nodes/plantsync-endpoint/plantsync-endpoint';
import requestNode from '../../nodes/plantsync-request/plantsync-request';
import { startSapSimulator } from '../../sim/sap-erp';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const httpIn = require('@node-red/nodes/core/network/21-httpin.js') as (RED: unknown) => void;
/**
 * The test helper serves only its admin app (helper.request()); its node app is never listened
 * on, so the http in routes are mounted on the admin app for the test.
 */
const httpNodes = (RED: { httpNode: unknown }) => {
  RED.httpNode = (helper as unknown as { _httpAdmin: unknown })._httpAdmin;
  return httpIn(RED);
};

interface FlowNode { id: string; type: string; [k: string]: unknown }
type Post = { send(body: unknown): PromiseLike<{ status: number; body: unknown }> };
const post = (url: string) => (helper.request() as unknown as { post(p: string): Post }).post(url);

function confirmation(key: string, yieldValue = 48, orderId: string | null = '1000124') {
  return {
    specversion: '1.0', id: `${key}-${yieldValue}`, source: '/plants/P100/mes', type: 'mfg.operation.completed.v2', subject: '1000124',
    time: '2026-11-26T14:05:02Z', siteid: 'P100', correlationid: 'order-1000124', idempotencykey: key,
    data: {
      ...(orderId === null ? {} : { orderId }), operationId: '0010', workCenter: 'WC-PACK1', site: 'P100',
      actualStart: '2026-11-26T14:00:00Z', actualEnd: '2026-11-26T14:05:00Z', yield: { value: yieldValue, uom: 'EA' },
      scrap: { value: 2, uom: 'EA' }, confirmationType: 'Partial',
    },
  };
}

describe('example http-confirm-with-status: http in -> validate -> guard -> request -> settle -> http response (SAP simulator)', function () {
  this.timeout(30000);
  let dir: string;
  let sim: Awaited<ReturnType<typeof startSapSimulator>> | undefined;
  const saved = process.env.ERP_URL;
  before(async () => {
    sim = await startSapSimulator();
    process.env.ERP_URL = sim.url;
    await helper.startServer();
  });
  after(async () => {
    await helper.unload();
    await helper.stopServer();
    await sim?.close();
    if (saved === undefined) delete process.env.ERP_URL;
    else process.env.ERP_URL = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers 201 posted, 200 duplicate, 409 conflict, 422 invalid, and 503 (claim released) while SAP is down', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-http-status-'));
    const flow = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'examples', 'http-confirm-with-status.json'), 'utf8')) as FlowNode[]).map((n) =>
      n.type === 'plantsync-store' ? { ...n, file: path.join(dir, 'http-confirm.db') } : n,
    );
    await helper.load([httpNodes, storeNode, validateNode, idempotencyNode, completeNode, endpointNode, requestNode], flow);
    const postings = async () => ((await (await fetch(`${sim!.url}/__sim/postings`)).json()) as unknown[]).length;

    const first = await post('/plantsync/confirm').send(confirmation('conf-http-1'));
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.match(String((first.body as { documentNumber?: unknown }).documentNumber), /\d+/);

    const again = await post('/plantsync/confirm').send(confirmation('conf-http-1'));
    assert.equal(again.status, 200);
    assert.equal(await postings(), 1, 'the duplicate was not posted again');

    const changed = await post('/plantsync/confirm').send(confirmation('conf-http-1', 47));
    assert.equal(changed.status, 409);

    const invalid = await post('/plantsync/confirm').send(confirmation('conf-http-2', 48, null));
    assert.equal(invalid.status, 422);
    assert.equal(await postings(), 1);

    await sim!.close();
    sim = undefined;
    for (let press = 1; press <= 2; press++) {
      // The second press is not a 200 duplicate: the retryable failure released the claim.
      const down = await post('/plantsync/confirm').send(confirmation('conf-http-3'));
      assert.equal(down.status, 503, `press ${press}`);
    }
  });
});
