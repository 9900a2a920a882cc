import * as assert from 'node:assert/strict';
import { createEvent } from '../../lib';
import { PostgresIdempotencyStore } from '../../lib/idempotency/postgres-store';
import { helper, nextFrom, type TestNode } from '../helpers/node-helper';
import { sharedPostgres } from '../helpers/postgres';
import storeNode from '../../nodes/plantsync-store/plantsync-store';
import idempotencyNode from '../../nodes/plantsync-idempotency/plantsync-idempotency';
import completeNode from '../../nodes/plantsync-idempotency-complete/plantsync-idempotency-complete';

describe('plantsync-store on PostgreSQL: connection from the credentials, a table shared with another instance', function () {
  this.timeout(60000);
  let connectionString: string;

  before(async () => {
    connectionString = (await sharedPostgres()).connectionString;
    await helper.startServer();
  });
  after(() => helper.stopServer());
  afterEach(() => helper.unload());

  it('takes the connection from the credentials, and a second store instance sees the first one\'s completion', async () => {
    const at = { z: 'f1', x: 100, y: 100 };
    const flow = [
      { id: 'f1', type: 'tab' },
      { id: 's', type: 'plantsync-store', kind: 'postgres', host: 'ignored-when-a-url-is-given', retentionDays: 7 },
      { id: 'i', type: 'plantsync-idempotency', store: 's', keyType: 'auto', leaseSeconds: 60, wires: [['ok'], ['dup'], ['conf']], ...at },
      { id: 'ok', type: 'plantsync-idempotency-complete', action: 'complete', result: 'payload.data.orderId', resultType: 'msg', wires: [['done']], ...at },
      ...['done', 'dup', 'conf'].map((id) => ({ id, type: 'helper', ...at })),
    ];
    await helper.load([storeNode, idempotencyNode, completeNode], flow, { s: { connectionString } });
    const node = (id: string) => helper.getNode(id) as TestNode;
    const event = createEvent({
      type: 'mfg.productionorder.cancelled.v1', source: '/plants/P100/erp', siteid: 'P100',
      data: { orderId: `PG-${Date.now()}`, site: 'P100', reason: { code: 'PLAN' } },
    });

    let got = nextFrom([node('done'), node('dup')]);
    node('i').receive({ payload: event });
    assert.equal((await got).node.id, 'done');

    // Another instance (its own pool) sees the completed key in the shared table.
    const other = await PostgresIdempotencyStore.open({ connectionString });
    try {
      const seen = await other.claim(event.idempotencykey!, 'any-other-hash', 60000);
      assert.deepEqual(seen, { status: 'conflict', storedHash: (await other.lookup(event.idempotencykey!))!.payloadHash, state: 'completed' });
    } finally {
      await other.close();
    }

    got = nextFrom([node('done'), node('dup')]);
    node('i').receive({ payload: { ...event, id: 'redelivered' } });
    const dup = await got;
    assert.equal(dup.node.id, 'dup');
    assert.equal((dup.msg.plantsync as { idempotency: { result: string } }).idempotency.result, event.data.orderId);
  });
});
