/**
 * Unknown outcomes against the SAP simulator: the simulator commits and then drops a seeded share
 * of the write responses, and ignores the repeatability header (and ExternalSystemConfirmation),
 * so a blind retry would post twice. The confirmation's declared lookup (ProdnOrdConf2 by
 * ExternalSystemConfirmation through $filter) must find every document whose answer was lost.
 */
import * as assert from 'node:assert/strict';
import { callWrite, type CallResult } from '../../lib/adapters/profile-call';
import { externalKeyFor, operationFor, PROFILES } from '../../lib/mapping';
import { canonical, sapIgnoringRepeatability, SEND_TIMEOUT_MS, within } from './helpers';

const SAP = PROFILES['sap-s4hana'];
const COUNT = 200;

const released = () => canonical('mfg.productionorder.released.v1', {
  orderId: '1000123', revision: 0, material: 'FG-4711', quantity: { value: 100, uom: 'EA' },
  plannedStart: '2026-11-26T06:00:00Z', plannedEnd: '2026-11-27T14:00:00Z', site: 'P100', state: 'Released',
  operations: [{ operationId: '0010', workCenter: 'WC-CUT1' }],
}, '/plants/P100/aps');

const confirmation = (n: number) => canonical('mfg.operation.completed.v3', {
  confirmationId: `CNF-1000123-0010-${n}`, orderId: '1000123', operationId: '0010', workCenter: 'WC-CUT1', site: 'P100',
  actualStart: '2026-11-26T06:00:00Z', actualEnd: '2026-11-26T07:30:00Z', yield: { value: 1, uom: 'EA' }, scrap: { value: 0, uom: 'EA' }, confirmationType: 'Partial',
});

/** The ExternalSystemConfirmation the profile derives for an event. */
async function externalKey(n: number): Promise<string> {
  const event = confirmation(n);
  const body = (await operationFor(SAP, event.type).toVendor(event)).body as Record<string, string>;
  return body.ExternalSystemConfirmation;
}

describe('integration: unknown outcomes against the SAP simulator (lookup before posting again)', () => {
  const sap = sapIgnoringRepeatability();
  const write = (event: ReturnType<typeof confirmation>, options = {}) => within(callWrite(sap.client, SAP, event, options), SEND_TIMEOUT_MS, `confirm ${event.data.confirmationId}`);

  beforeEach(async () => {
    await within(callWrite(sap.client, SAP, released()), SEND_TIMEOUT_MS, 'release');
  });

  it(`${COUNT} confirmations with 30% of the responses dropped after the commit and the header ignored post exactly once each`, async () => {
    await sap.sim.faults({ dropAfterCommitRate: 0.3, seed: 1126 });
    const results: CallResult[] = [];
    for (let n = 1; n <= COUNT; n++) results.push(await write(confirmation(n)));

    const postings = (await sap.sim.postings()).filter((e) => e.path.includes('ProdnOrdConf2'));
    const keys = postings.map((e) => (e.body as Record<string, string>).ExternalSystemConfirmation);
    assert.equal(postings.length, COUNT, 'one confirmation document per event, none twice');
    assert.equal(new Set(keys).size, COUNT);
    assert.deepEqual(new Set(keys), new Set(await Promise.all(Array.from({ length: COUNT }, (_, i) => externalKey(i + 1)))));
    const dropped = postings.filter((e) => e.fault === 'dropAfterCommit').length;
    const byLookup = results.filter((r) => r.resolvedBy === 'lookup');
    // Every dropped answer was resolved by the lookup, and only those; each says it was a repeat.
    assert.equal(byLookup.length, dropped);
    assert.ok(dropped > COUNT * 0.2 && dropped < COUNT * 0.4, `about 30% dropped, got ${dropped}`);
    assert.ok(byLookup.every((r) => r.repeated === true && r.attempts === 1));
    assert.deepEqual(new Set(results.map((r) => (r.result as { documentNumber: string }).documentNumber)), new Set(['0000000123']));
    assert.deepEqual(results.map((r) => Number((r.result as { confirmationCount: string }).confirmationCount)).sort((a, b) => a - b), Array.from({ length: COUNT }, (_, i) => i + 1));
    console.log(`      ${COUNT} confirmations posted once each; ${byLookup.length} resolved by lookup after a dropped response`);
  });

  it('a redelivery (outcome unknown) of a confirmation that posted is found by the lookup, nothing is posted', async () => {
    const first = await write(confirmation(1));
    const again = await write(confirmation(1), { outcomeUnknown: true });
    assert.deepEqual([again.resolvedBy, again.repeated, again.attempts], ['lookup', true, 0]);
    assert.deepEqual(again.result, first.result);
    assert.equal((await sap.sim.postings()).filter((e) => e.path.includes('ProdnOrdConf2')).length, 1);
  });

  it('a redelivery (outcome unknown) of a confirmation that never arrived: the lookup finds nothing, it posts once', async () => {
    const res = await write(confirmation(2), { outcomeUnknown: true });
    assert.deepEqual([res.resolvedBy, res.repeated, res.attempts], [undefined, undefined, 1]);
    const postings = (await sap.sim.postings()).filter((e) => e.path.includes('ProdnOrdConf2'));
    assert.deepEqual(postings.map((e) => (e.body as Record<string, string>).ExternalSystemConfirmation), [await externalKey(2)]);
    assert.equal(externalKeyFor('confirmOperation', confirmation(2).idempotencykey as string), await externalKey(2));
  });

  it('with the header honoured, the answer reports Repeatability-Result (accepted) and is no repeat', async () => {
    await sap.sim.config({ ignoreRepeatability: false });
    try {
      const res = await write(confirmation(3));
      assert.deepEqual([res.repeatability, res.repeated, res.resolvedBy], ['accepted', undefined, undefined]);
    } finally {
      await sap.sim.config({ ignoreRepeatability: true });
    }
  });
});
