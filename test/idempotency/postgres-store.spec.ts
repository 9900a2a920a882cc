import * as assert from 'node:assert/strict';
import { Client } from 'pg';
import { PlantSyncError } from '../../lib/errors';
import type { ClaimOutcome, StoreEnvironment } from '../../lib/idempotency/idempotency-store';
import { openIdempotencyStore } from '../../lib/idempotency/open-store';
import { PostgresIdempotencyStore, type ClaimItem } from '../../lib/idempotency/postgres-store';
import { sharedPostgres, uniqueName } from '../helpers/postgres';
import { idempotencyContract } from './store-contract';

let connectionString = '';
let table = '';

const isLeaseLost = (e: unknown) => e instanceof PlantSyncError && e.code === 'LEASE_LOST';
/** Token values differ between runs; everything else must agree. */
const withoutToken = (o: ClaimOutcome) => (o.status === 'claimed' ? { ...o, token: 'T' } : o);

describe('PostgreSQL idempotency store', function () {
  this.timeout(60000);

  before(async () => {
    connectionString = (await sharedPostgres()).connectionString;
  });

  idempotencyContract('PostgreSQL', () => ({
    open: async (env) => {
      table = uniqueName('idem');
      return PostgresIdempotencyStore.open({ connectionString, table }, env);
    },
    spec: () => ({ kind: 'postgres', connectionString, table }),
  }));

  describe('PostgreSQL specifics', () => {
    let t = 1_700_000_000_000;
    const env: StoreEnvironment = { now: () => t };
    const open = (name = uniqueName('pgx'), poolSize?: number) => PostgresIdempotencyStore.open({ connectionString, table: name, poolSize }, env);
    const opened: PostgresIdempotencyStore[] = [];
    const track = async (p: Promise<PostgresIdempotencyStore>) => {
      const s = await p;
      opened.push(s);
      return s;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    /** Puts a store into a mix of states: new keys aside, every state a claim can meet. */
    async function seed(store: PostgresIdempotencyStore): Promise<void> {
      const claim = async (key: string, lease = 30000) => {
        const c = await store.claim(key, 'h', lease);
        assert.equal(c.status, 'claimed');
        return (c as { token: string }).token;
      };
      await store.complete('done', { doc: 42 }, await claim('done'));
      await store.release('released', await claim('released'));
      await store.fail('failed', { code: 'SCHEMA_INVALID' }, await claim('failed'));
      await claim('busy');
      await claim('expired', 1000);
      t += 5000;
    }

    it('claimMany answers exactly what single claims in input order answer, repeated keys included', async () => {
      const single = await track(open());
      const batch = await track(open());
      t = 1_700_000_000_000;
      await seed(single);
      t = 1_700_000_000_000;
      await seed(batch);
      const items: ClaimItem[] = [
        ['zeta', 'h'], ['done', 'h'], ['busy', 'h'], ['done', 'other'], ['released', 'h'], ['failed', 'h'],
        ['expired', 'h'], ['alpha', 'h'], ['alpha', 'h'], ['alpha', 'x'], ['released', 'other'], ['mid', 'h'],
      ].map(([key, payloadHash]) => ({ key, payloadHash, leaseMs: 30000 }));
      const expected: ClaimOutcome[] = [];
      for (const i of items) expected.push(await single.claim(i.key, i.payloadHash, i.leaseMs));
      const got = await batch.claimMany(items);
      assert.deepEqual(got.map(withoutToken), expected.map(withoutToken));
      // spot-check the expectations themselves, so that a wrong single path cannot hide a wrong batch
      assert.deepEqual(got.map((o) => o.status), [
        'claimed', 'duplicate', 'in-flight', 'conflict', 'claimed', 'failed',
        'claimed', 'claimed', 'in-flight', 'conflict', 'conflict', 'claimed',
      ]);
      assert.ok(got[6].status === 'claimed' && got[6].takeover && got[6].attempt === 2);
      assert.ok(got[4].status === 'claimed' && !got[4].takeover && got[4].attempt === 2);
      // the batch's tokens really hold the claims
      const ok = await batch.completeMany(got.flatMap((o, n) => (o.status === 'claimed' ? [{ key: items[n].key, result: n, token: o.token }] : [])));
      assert.ok(ok.every(Boolean));
      assert.equal((await batch.lookup('expired'))?.result, 6);
    });

    it('claimMany with reclaimFailed takes a failed key, like a single replay', async () => {
      const store = await track(open());
      await seed(store);
      const [out] = await store.claimMany([{ key: 'failed', payloadHash: 'h', leaseMs: 1000 }], { reclaimFailed: true });
      assert.ok(out.status === 'claimed' && out.attempt === 2 && !out.takeover);
    });

    it('claimMany lets a repeated key conflict first and claim next when its stored state is claimable', async () => {
      const store = await track(open());
      const c = await store.claim('k', 'h0', 1000);
      assert.ok(c.status === 'claimed');
      await store.release('k', c.token);
      const out = await store.claimMany([
        { key: 'k', payloadHash: 'h1', leaseMs: 1000 },
        { key: 'k', payloadHash: 'h0', leaseMs: 1000 },
      ]);
      assert.deepEqual(out.map((o) => o.status), ['conflict', 'claimed']);
    });

    it('completeMany agrees with single completes: stale tokens and repeated keys are refused', async () => {
      const store = await track(open());
      const claims = await store.claimMany(['c', 'a', 'b'].map((key) => ({ key, payloadHash: 'h', leaseMs: 30000 })));
      const tok = claims.map((c) => (c as { token: string }).token);
      const ok = await store.completeMany([
        { key: 'c', result: 'rc', token: tok[0] },
        { key: 'a', result: 'wrong', token: 'not-the-token' },
        { key: 'b', result: 'rb', token: tok[2] },
        { key: 'c', result: 'again', token: tok[0] },
        { key: 'nope', result: 1, token: 'x' },
      ]);
      assert.deepEqual(ok, [true, false, true, false, false]);
      assert.equal((await store.lookup('c'))?.result, 'rc');
      assert.equal((await store.lookup('a'))?.state, 'in-flight');
      await assert.rejects(store.complete('c', 'single', tok[0]), isLeaseLost);
      await store.complete('a', 'ra', tok[1]);
      const client = new Client({ connectionString });
      await client.connect();
      try {
        const rows = (await client.query(`SELECT key, completions FROM "${store.table}" ORDER BY key`)).rows;
        assert.deepEqual(rows, [{ key: 'a', completions: 1 }, { key: 'b', completions: 1 }, { key: 'c', completions: 1 }]);
      } finally {
        await client.end();
      }
    });

    it('runs concurrent batches with overlapping keys in opposite orders without deadlock, one claimer per key', async () => {
      const name = uniqueName('pgx');
      const a = await track(open(name, 4));
      const b = await track(open(name, 4));
      // four overlapping slices per store, all eight statements running at once
      const slices = (ks: string[]) => [0, 1, 2, 3].map((q) => ks.slice(q * 80, q * 80 + 160));
      const claimAll = async (store: PostgresIdempotencyStore, ks: string[]) => {
        const parts = slices(ks);
        const outs = await Promise.all(parts.map((p) => store.claimMany(p.map((key) => ({ key, payloadHash: 'h', leaseMs: 60000 })))));
        return parts.flatMap((p, q) => p.map((key, n) => [key, outs[q][n]] as const));
      };
      for (let round = 0; round < 10; round++) {
        const keys = Array.from({ length: 400 }, (_, i) => `r${round}-${String(i).padStart(4, '0')}`);
        const results = (await Promise.all([claimAll(a, keys), claimAll(b, [...keys].reverse())])).flat();
        const tokens = new Map<string, string[]>();
        for (const [key, o] of results) {
          if (o.status === 'claimed') tokens.set(key, [...(tokens.get(key) ?? []), o.token]);
          else assert.equal(o.status, 'in-flight', `${key} ${JSON.stringify(o)}`);
        }
        assert.equal(tokens.size, 400, `round ${round}: every key claimed`);
        assert.ok([...tokens.values()].every((ts) => ts.length === 1), `round ${round}: a key had two claimers`);
        // completing them from both stores in opposite orders at once does not deadlock either
        const items = keys.map((key) => ({ key, result: key, token: (tokens.get(key) as string[])[0] }));
        const [ca, cb] = await Promise.all([a.completeMany(items), b.completeMany([...items].reverse())]);
        assert.equal(ca.filter(Boolean).length + cb.filter(Boolean).length, 400, `round ${round}: each key completed once`);
      }
      assert.equal(await a.count(), 4000);
    });

    it('lets several instances open the same new table at once', async () => {
      const name = uniqueName('pgx');
      const stores = await Promise.all(Array.from({ length: 6 }, () => track(open(name, 1))));
      const outs = await Promise.all(stores.map((s) => s.claim('same', 'h', 30000)));
      assert.deepEqual(outs.map((o) => o.status).sort(), ['claimed', 'in-flight', 'in-flight', 'in-flight', 'in-flight', 'in-flight']);
    });

    it('opens through openIdempotencyStore and counts its keys', async () => {
      const store = await openIdempotencyStore({ kind: 'postgres', connectionString, table: uniqueName('pgx') }, env);
      try {
        assert.ok(store instanceof PostgresIdempotencyStore);
        assert.equal(await store.count(), 0);
        await store.claimMany([{ key: 'x', payloadHash: 'h', leaseMs: 1 }, { key: 'y', payloadHash: 'h', leaseMs: 1 }]);
        assert.equal(await store.count(), 2);
      } finally {
        await store.close();
      }
    });

    it('rejects a bad table name and a closed store with PlantSync errors', async () => {
      await assert.rejects(open('Robert"; DROP TABLE x; --'), (e: unknown) => e instanceof PlantSyncError && e.code === 'CONFIG_ERROR');
      const store = await open();
      await store.close();
      await store.close();
      await assert.rejects(store.claim('k', 'h', 1000), (e: unknown) => e instanceof PlantSyncError && e.code === 'STORE_CLOSED');
    });

    it('refuses a connection whose commits would not be durable (synchronous_commit off)', async () => {
      const lax = `${connectionString}?options=${encodeURIComponent('-c synchronous_commit=off')}`;
      await assert.rejects(
        PostgresIdempotencyStore.open({ connectionString: lax, table: uniqueName('pgx') }),
        (e: unknown) => e instanceof PlantSyncError && e.code === 'CONFIG_ERROR' && /synchronous_commit/.test(e.message),
      );
    });

    it('never purges a key that a newer claim took over', async () => {
      const store = await track(open());
      t = 1_700_000_000_000;
      const old = await store.claim('k', 'h', 1000);
      assert.ok(old.status === 'claimed');
      t += 3 * 86400000;
      const fresh = await store.claim('k', 'h', 1000);
      assert.ok(fresh.status === 'claimed' && fresh.takeover);
      assert.equal(await store.purge(86400000), 0);
      await store.release('k', fresh.token);
      t += 2 * 86400000;
      assert.equal(await store.purge(86400000), 1);
      assert.equal(await store.count(), 0);
    });
  });
});
