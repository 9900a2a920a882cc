import * as assert from 'node:assert/strict';
import { PostgresIdempotencyStore } from '../../lib/idempotency/postgres-store';
import { sharedPostgres, uniqueName } from '../helpers/postgres';

describe('PostgreSQL store: close on redeploy', function () {
  this.timeout(60000);

  it('lands a completion queued just before close instead of dropping it', async () => {
    const { connectionString } = await sharedPostgres();
    const table = uniqueName('close');
    const store = await PostgresIdempotencyStore.open({ connectionString, table });
    const claim = await store.claim('k-close', 'h', 60000);
    assert.ok(claim.status === 'claimed');
    const completing = store.complete('k-close', { documentNumber: '4900000001' }, claim.token);
    await store.close();
    await completing;
    const other = await PostgresIdempotencyStore.open({ connectionString, table });
    try {
      const rec = await other.lookup('k-close');
      assert.equal(rec?.state, 'completed');
      assert.deepEqual(rec?.result, { documentNumber: '4900000001' });
    } finally {
      await other.close();
    }
  });
});
