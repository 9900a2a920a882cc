import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { IdempotencyStore, StoreEnvironment } from '../../lib/idempotency/idempotency-store';
import type { StoreSpec } from '../../lib/idempotency/open-store';
import { PlantSyncError } from '../../lib/errors';

const run = promisify(execFile);

export interface ContractBackend {
  /** A fresh, empty store using the given environment (clock). */
  open(env: StoreEnvironment): Promise<IdempotencyStore>;
  /** The spec another process uses to open the same store. */
  spec(): StoreSpec;
}

/** A clock the tests move by hand. */
function manualClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const isLeaseLost = (e: unknown) => e instanceof PlantSyncError && e.code === 'LEASE_LOST';

/**
 * The one behaviour every IdempotencyStore backend must show, run against each of them.
 */
export function idempotencyContract(name: string, backend: () => ContractBackend): void {
  describe(`idempotency store contract: ${name}`, function () {
    this.timeout(60000);
    let store: IdempotencyStore;
    let clock: ReturnType<typeof manualClock>;

    beforeEach(async () => {
      clock = manualClock();
      store = await backend().open({ now: clock.now });
    });
    afterEach(() => store.close());

    it('claims a new key, then reports it in-flight to a second claimer within the lease', async () => {
      const first = await store.claim('k1', 'h1', 30000);
      assert.equal(first.status, 'claimed');
      assert.ok(first.status === 'claimed' && first.attempt === 1 && !first.takeover && first.token.length > 0);
      const second = await store.claim('k1', 'h1', 30000);
      assert.deepEqual(second, { status: 'in-flight', leaseExpiresAt: clock.now() + 30000 });
    });

    it('returns the stored result of the completed first attempt as a duplicate', async () => {
      const c = await store.claim('k2', 'h', 30000);
      assert.ok(c.status === 'claimed');
      await store.complete('k2', { documentNumber: '4900001234' }, c.token);
      const again = await store.claim('k2', 'h', 30000);
      assert.equal(again.status, 'duplicate');
      assert.ok(again.status === 'duplicate');
      assert.deepEqual(again.result, { documentNumber: '4900001234' });
      const rec = await store.lookup('k2');
      assert.equal(rec?.state, 'completed');
      assert.deepEqual(rec?.result, { documentNumber: '4900001234' });
    });

    it('reports a conflict for the same key with another payload hash, in any state', async () => {
      const c = await store.claim('k3', 'h-a', 30000);
      assert.ok(c.status === 'claimed');
      assert.deepEqual(await store.claim('k3', 'h-b', 30000), { status: 'conflict', storedHash: 'h-a', state: 'in-flight' });
      await store.complete('k3', 1, c.token);
      assert.deepEqual(await store.claim('k3', 'h-b', 30000), { status: 'conflict', storedHash: 'h-a', state: 'completed' });
    });

    it('lets a retry claim a released key at once, counting attempts', async () => {
      const c = await store.claim('k4', 'h', 30000);
      assert.ok(c.status === 'claimed');
      await store.release('k4', c.token);
      assert.equal((await store.lookup('k4'))?.state, 'released');
      const retry = await store.claim('k4', 'h', 30000);
      assert.ok(retry.status === 'claimed' && retry.attempt === 2 && retry.token !== c.token);
    });

    it('keeps a permanently failed key failed, unless a replay reclaims it', async () => {
      const c = await store.claim('k5', 'h', 30000);
      assert.ok(c.status === 'claimed');
      await store.fail('k5', { code: 'SCHEMA_INVALID' }, c.token);
      assert.deepEqual(await store.claim('k5', 'h', 30000), { status: 'failed', reason: { code: 'SCHEMA_INVALID' } });
      const replay = await store.claim('k5', 'h', 30000, { reclaimFailed: true });
      assert.ok(replay.status === 'claimed' && replay.attempt === 2);
    });

    it('lets another holder take over an expired lease, and fences the stale holder out', async () => {
      const a = await store.claim('k6', 'h', 1000);
      assert.ok(a.status === 'claimed');
      clock.advance(999);
      assert.equal((await store.claim('k6', 'h', 1000)).status, 'in-flight');
      clock.advance(1);
      const b = await store.claim('k6', 'h', 1000);
      assert.ok(b.status === 'claimed' && b.takeover && b.attempt === 2);
      await assert.rejects(store.complete('k6', 'stale', a.token), isLeaseLost);
      await assert.rejects(store.release('k6', a.token), isLeaseLost);
      await store.complete('k6', 'fresh', b.token);
      const dup = await store.claim('k6', 'h', 1000);
      assert.ok(dup.status === 'duplicate' && dup.result === 'fresh');
    });

    it('reports the first claim\'s time on every later claim: after a release, a takeover and a replay', async () => {
      const first = clock.now();
      const a = await store.claim('k9', 'h', 1000);
      assert.ok(a.status === 'claimed');
      assert.equal(a.firstAttemptAt, first);
      clock.advance(60_000);
      await store.release('k9', a.token);
      const b = await store.claim('k9', 'h', 1000);
      assert.ok(b.status === 'claimed' && b.attempt === 2);
      assert.equal(b.firstAttemptAt, first, 'a redelivery after a release');
      clock.advance(5_000); // the lease of b expired: its holder crashed
      const c = await store.claim('k9', 'h', 1000);
      assert.ok(c.status === 'claimed' && c.takeover);
      assert.equal(c.firstAttemptAt, first, 'a takeover');
      await store.fail('k9', { code: 'TARGET_REJECTED' }, c.token);
      clock.advance(3_600_000);
      const d = await store.claim('k9', 'h', 1000, { reclaimFailed: true });
      assert.ok(d.status === 'claimed' && d.attempt === 4);
      assert.equal(d.firstAttemptAt, first, 'a replay from the dead-letter store');
      assert.equal((await store.lookup('k9'))?.createdAt, first);
      const other = await store.claim('k10', 'h', 1000);
      assert.ok(other.status === 'claimed' && other.firstAttemptAt === clock.now(), 'a new key starts its own');
    });

    it('refuses to settle a key twice or with an unknown token', async () => {
      const c = await store.claim('k7', 'h', 30000);
      assert.ok(c.status === 'claimed');
      await assert.rejects(store.complete('k7', 1, 'not-the-token'), isLeaseLost);
      await store.complete('k7', 1, c.token);
      await assert.rejects(store.complete('k7', 2, c.token), isLeaseLost);
      await assert.rejects(store.fail('k7', 'x', c.token), isLeaseLost);
      await assert.rejects(store.complete('never-claimed', 1, 'x'), isLeaseLost);
      assert.equal((await store.lookup('k7'))?.result, 1);
    });

    it('looks up unknown keys as undefined and known ones with their history', async () => {
      assert.equal(await store.lookup('nope'), undefined);
      const c = await store.claim('k8', 'h8', 5000);
      assert.ok(c.status === 'claimed');
      const rec = await store.lookup('k8');
      assert.equal(rec?.payloadHash, 'h8');
      assert.equal(rec?.state, 'in-flight');
      assert.equal(rec?.attempts, 1);
      assert.equal(rec?.leaseExpiresAt, clock.now() + 5000);
    });

    it('purges settled records older than the retention, and never a live claim', async () => {
      const done1 = await store.claim('old-done', 'h', 1000);
      const live = await store.claim('old-live', 'h', 10 * 86400000);
      assert.ok(done1.status === 'claimed' && live.status === 'claimed');
      await store.complete('old-done', 'r', done1.token);
      clock.advance(2 * 86400000);
      const recent = await store.claim('recent', 'h', 1000);
      assert.ok(recent.status === 'claimed');
      await store.complete('recent', 'r', recent.token);
      const removed = await store.purge(86400000);
      assert.equal(removed, 1);
      assert.equal(await store.lookup('old-done'), undefined);
      assert.equal((await store.lookup('old-live'))?.state, 'in-flight');
      assert.equal((await store.lookup('recent'))?.state, 'completed');
    });

    it('settles many concurrent claims of distinct keys correctly (group commits)', async () => {
      const keys = Array.from({ length: 500 }, (_, i) => `bulk-${i}`);
      const claims = await Promise.all(keys.map((k) => store.claim(k, 'h', 30000)));
      assert.ok(claims.every((c) => c.status === 'claimed'));
      await Promise.all(claims.map((c, i) => store.complete(keys[i], i, (c as { token: string }).token)));
      const again = await Promise.all(keys.map((k) => store.claim(k, 'h', 30000)));
      assert.deepEqual(again.map((c) => (c.status === 'duplicate' ? c.result : c.status)), keys.map((_, i) => i));
    });

    it('gives a key to exactly one of several processes claiming it at the same moment', async () => {
      const worker = path.join(__dirname, 'claim-worker.js');
      const spec = JSON.stringify(backend().spec());
      for (const round of [1, 2, 3]) {
        const key = `race-${round}-${process.pid}`;
        const startAt = Date.now() + 1500;
        const outs = await Promise.all(Array.from({ length: 6 }, () => run(process.execPath, [worker, spec, key, String(startAt)])));
        const statuses = outs.map((o) => (JSON.parse(o.stdout) as { status: string }).status).sort();
        assert.deepEqual(statuses, ['claimed', 'in-flight', 'in-flight', 'in-flight', 'in-flight', 'in-flight'], `round ${round}`);
      }
    });
  });
}
