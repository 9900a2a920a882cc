/**
 * Unknown outcomes of goods movements and usage decisions against the SAP simulator: the simulator
 * commits and then drops a seeded share of the write responses and ignores the repeatability header,
 * so a blind retry would post twice. Goods movements are found by the 25-character external key the
 * profile writes into MaterialDocumentHeaderText (A_MaterialDocumentHeader through $filter); a usage
 * decision by reading the lot's usage decision (A_InspLotUsageDecision('<lot>')) with the posted code.
 */
import * as assert from 'node:assert/strict';
import { callWrite, type CallResult } from '../../lib/adapters/profile-call';
import type { CanonicalEvent } from '../../lib/canonical/events';
import { externalKeyFor, operationFor, PROFILES } from '../../lib/mapping';
import { canonical, sapIgnoringRepeatability, SEND_TIMEOUT_MS, within } from './helpers';

const SAP = PROFILES['sap-s4hana'];
const MOVEMENTS = 100;
const DECISIONS = 30;
const DROP_RATE = 0.3;

type Body = Record<string, unknown>;
type Stock = [string, 'Unrestricted' | 'Blocked'];

const move = (n: number, from: Stock, to: Stock) => canonical('mfg.inventory.moved.v2', {
  movementId: `TO-${n}`, material: 'RM-100-STEEL', quantity: { value: 1, uom: 'KG' },
  from: { site: 'P100', storageLocation: from[0], stockType: from[1] }, to: { site: 'P100', storageLocation: to[0], stockType: to[1] },
}, '/plants/P100/wms');

/** The n-th goods movement: 261, 262, 101, 311, 344, 343 in turn (the 344 before each 343 blocks what it unblocks). */
function movement(n: number): CanonicalEvent {
  switch (n % 6) {
    case 0: return canonical('mfg.material.consumed.v2', {
      movementId: `MV-261-${n}`, orderId: '1000123', operationId: '0010', material: 'RM-100-STEEL', quantity: { value: 1.5, uom: 'KG' }, site: 'P100', storageLocation: '0001',
      reservation: { number: '12345', item: '0001' },
    });
    case 1: return canonical('mfg.material.returned.v2', {
      movementId: `MV-262-${n}`, orderId: '1000123', material: 'RM-100-STEEL', quantity: { value: 0.5, uom: 'KG' }, site: 'P100', storageLocation: '0001',
    });
    case 2: return canonical('mfg.production.confirmed.v1', {
      orderId: '1000123', site: 'P100', material: 'FG-4711', yield: { value: 1 + n, uom: 'EA' }, scrap: { value: 0, uom: 'EA' }, producedLot: `B-${n}`,
      erpConfirmation: `CONF-${n}`, final: false,
    });
    case 3: return move(n, ['0001', 'Unrestricted'], ['0002', 'Unrestricted']);
    case 4: return move(n, ['0001', 'Unrestricted'], ['0001', 'Blocked']);
    default: return move(n, ['0001', 'Blocked'], ['0001', 'Unrestricted']);
  }
}

const DECISION_KINDS = ['Release', 'Reject', 'Rework'] as const;
const decision = (n: number) => canonical('mfg.quality.disposition.changed.v1', {
  lot: 'L2026-1126-01', material: 'FG-4711', site: 'P100', from: 'Restricted', to: n % 3 === 0 ? 'Unrestricted' : 'Blocked', decision: DECISION_KINDS[n % 3],
  inspectionLot: '010000000123', decidedBy: 'QM-USER1', decidedAt: `2026-11-27T10:${String(n % 60).padStart(2, '0')}:00Z`,
}, '/plants/P100/qms');

const headerText = (body: unknown) => (body as Body).MaterialDocumentHeaderText as string;

describe('integration: unknown outcomes of goods movements and usage decisions against the SAP simulator (lookup before posting again)', () => {
  const sap = sapIgnoringRepeatability();
  const write = (event: CanonicalEvent, options = {}) => within(callWrite(sap.client, SAP, event, options), SEND_TIMEOUT_MS, `post ${event.type} ${event.id}`);


  it(`${MOVEMENTS} goods movements (261, 262, 101, 311, 344, 343) with 30% of the responses dropped after the commit and the header ignored post exactly once each`, async () => {
    await sap.sim.faults({ dropAfterCommitRate: DROP_RATE, seed: 1127 });
    const events = Array.from({ length: MOVEMENTS }, (_, n) => movement(n));
    const results: CallResult[] = [];
    for (const event of events) results.push(await write(event));

    const postings = (await sap.sim.postings()).filter((e) => e.path.includes('A_MaterialDocumentHeader'));
    const expected = events.map((e) => externalKeyFor('goodsMovement', e.idempotencykey as string, 25));
    assert.equal(postings.length, MOVEMENTS, 'one material document per event, none twice');
    assert.deepEqual(postings.map((e) => headerText(e.body)), expected, 'each posted once, in order, with its own header text');
    assert.ok(expected.every((k) => /^[0-9A-F]{25}$/.test(k)));
    assert.equal(new Set(expected).size, MOVEMENTS, 'a fact of its own each (no two events share an identity)');
    const types = postings.map((e) => ((e.body as Body).to_MaterialDocumentItem as { results: Body[] }).results[0].GoodsMovementType);
    assert.deepEqual(new Set(types), new Set(['261', '262', '101', '311', '344', '343']));

    const dropped = postings.filter((e) => e.fault === 'dropAfterCommit').length;
    const byLookup = results.filter((r) => r.resolvedBy === 'lookup');
    assert.equal(byLookup.length, dropped, 'every dropped answer resolved by the lookup, and only those');
    assert.ok(dropped > MOVEMENTS * 0.15 && dropped < MOVEMENTS * 0.45, `about 30% dropped, got ${dropped}`);
    assert.ok(byLookup.every((r) => r.repeated === true && r.attempts === 1));
    // The document each call reports is the one its posting created.
    const numbers = postings.map((e) => ((e.response as { d: Body }).d.MaterialDocument));
    assert.deepEqual(results.map((r) => (r.result as { documentNumber: string }).documentNumber), numbers);
    console.log(`      ${MOVEMENTS} goods movements posted once each; ${byLookup.length} resolved by lookup after a dropped response`);
  });

  it(`${DECISIONS} usage decisions (Release, Reject, Rework), each on a fresh lot, with 30% of the responses dropped after the commit post exactly once each`, async () => {
    // The seed has one inspection lot and a lot takes one decision: each decision gets the seed afresh.
    const results: CallResult[] = [];
    let postings = 0;
    let dropped = 0;
    for (let n = 0; n < DECISIONS; n++) {
      await sap.sim.reset();
      await sap.sim.faults({ dropAfterCommitRate: DROP_RATE, seed: 2000 + n });
      const res = await write(decision(n));
      const mine = (await sap.sim.postings()).filter((e) => e.path.includes('A_InspLotUsageDecision'));
      assert.equal(mine.length, 1, `decision ${n} posted once`);
      assert.equal((mine[0].body as Body).InspLotUsageDecisionCode, ['A', 'R', 'R2'][n % 3]);
      assert.deepEqual(res.result, { documentNumber: '010000000123', usageDecisionCode: ['A', 'R', 'R2'][n % 3] });
      if (mine[0].fault === 'dropAfterCommit') {
        dropped += 1;
        assert.deepEqual([res.resolvedBy, res.repeated, res.attempts], ['lookup', true, 1], `decision ${n}: dropped, found by the lookup`);
      } else {
        assert.deepEqual([res.resolvedBy, res.repeated], [undefined, undefined], `decision ${n}: answered, no lookup`);
      }
      postings += mine.length;
      results.push(res);
    }
    const byLookup = results.filter((r) => r.resolvedBy === 'lookup').length;
    assert.equal(postings, DECISIONS);
    assert.equal(byLookup, dropped);
    assert.ok(dropped > 0 && dropped < DECISIONS, `some dropped, some not: ${dropped}`);
    console.log(`      ${DECISIONS} usage decisions posted once each; ${byLookup} resolved by lookup after a dropped response`);
  });

  it('a redelivered goods movement (outcome unknown) that posted is found by its header text, nothing is posted', async () => {
    const first = await write(movement(0));
    const again = await write(movement(0), { outcomeUnknown: true });
    assert.deepEqual([again.resolvedBy, again.repeated, again.attempts], ['lookup', true, 0]);
    assert.deepEqual(again.result, first.result);
    assert.equal((await sap.sim.postings()).filter((e) => e.path.includes('A_MaterialDocumentHeader')).length, 1);
  });

  it('a redelivered goods movement that never arrived: the lookup finds nothing, it posts once with its header text', async () => {
    const event = movement(1);
    const res = await write(event, { outcomeUnknown: true });
    assert.deepEqual([res.resolvedBy, res.repeated, res.attempts], [undefined, undefined, 1]);
    const postings = (await sap.sim.postings()).filter((e) => e.path.includes('A_MaterialDocumentHeader'));
    const body = (await operationFor(SAP, event.type).toVendor(event)).body;
    assert.deepEqual(postings.map((e) => headerText(e.body)), [headerText(body)]);
  });

  it('a lot decided with another code is not this decision: the redelivery posts and SAP refuses the second decision', async () => {
    await write(decision(0)); // Release: A
    await assert.rejects(write(decision(1), { outcomeUnknown: true }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TARGET_REJECTED');
      assert.match(err.message, /QA\/101|already been made/);
      return true;
    });
  });
});
