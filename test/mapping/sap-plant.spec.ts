/**
 * The SAP profile's plant-specific field mapping, round trip: ALPHA conversion of SAP keys, the
 * site <-> plant (and storage location) maps a plant's overrides set, and plant wall-clock time
 * across both daylight-saving changes of 2026 in Europe/Berlin.
 */
import * as assert from 'node:assert/strict';
import { PlantSyncError } from '../../lib/errors';
import { createProfile, odataDateTimeToTimestamp, PROFILES, timestampToODataDateTime, type ReadOperation, type StockItem, type WriteOperation } from '../../lib/mapping';
import { assertRoundTrip, confirmation, consumption, disposition, event, mappingError, production, relocation, sapOrder } from './fixtures';

const sap = PROFILES['sap-s4hana'];
type Body = Record<string, unknown>;
const itemOf = (body: unknown) => ((body as Body).to_MaterialDocumentItem as { results: Body[] }).results[0];
const writeOf = (profile: typeof sap, name: string) => profile.operation<WriteOperation>(name);
const readOf = <R>(profile: typeof sap, name: string) => profile.operation<ReadOperation<Record<string, string>, R>>(name);
/** /Date(ms)/ of a UTC midnight. */
const day = (iso: string) => `/Date(${Date.parse(`${iso}T00:00:00Z`)})/`;

describe('mapping: SAP keys in their internal form (ALPHA)', () => {
  it('production order, reservation and a numeric material get leading zeros out and lose them on the way back', async () => {
    const data = { ...consumption, material: '4711', reservation: { number: '12345', item: '0001' } };
    const request = await assertRoundTrip(writeOf(sap, 'goodsMovement'), event('mfg.material.consumed.v2', data));
    const item = itemOf(request.body);
    assert.equal(item.ManufacturingOrder, '000001000123');
    assert.equal(item.Reservation, '0000012345');
    assert.equal(item.Material, '000000000000004711', 'numeric material numbers: 18 characters');
    assert.equal(item.ReservationItem, '0001', 'not an ALPHA key: unchanged');
  });

  it('keys with letters are left as they are', async () => {
    const request = await assertRoundTrip(writeOf(sap, 'goodsMovement'), event('mfg.material.consumed.v2', { ...consumption, orderId: 'PO-77' }));
    assert.equal(itemOf(request.body).ManufacturingOrder, 'PO-77');
    assert.equal(itemOf(request.body).Material, 'RM-100-STEEL');
  });

  it('in the key of a read, a function import parameter and the confirmation body', async () => {
    const readOrder = readOf(sap, 'readProductionOrder');
    const get = await readOrder.toVendor({ orderId: '1000123' });
    assert.match(get.path, /A_ProductionOrder_2\('000001000123'\)$/);
    assert.deepEqual(await readOrder.fromVendorRequest(undefined, get), { orderId: '1000123' });
    const order = await readOrder.fromVendorResponse(sapOrder()) as { orderId: string };
    assert.equal(order.orderId, '1000123', 'the answer is read back in the external form');
    const confirm = await assertRoundTrip(writeOf(sap, 'confirmOperation'), event('mfg.operation.completed.v3', confirmation));
    assert.equal((confirm.body as Body).OrderID, '000001000123');
  });

  it('a plant with 40-character material numbers sets the length in its overrides', async () => {
    const plant = createProfile(sap, { alpha: { material: 40 } });
    const request = await assertRoundTrip(writeOf(plant, 'goodsMovement'), event('mfg.material.consumed.v2', { ...consumption, material: '4711' }));
    assert.equal(itemOf(request.body).Material, '4711'.padStart(40, '0'));
  });

  it('a number longer than the field is a MappingError at its pointer; bad overrides are CONFIG_ERRORs', async () => {
    const err = await mappingError(() => writeOf(sap, 'confirmOperation').toVendor(event('mfg.operation.completed.v3', { ...confirmation, orderId: '1234567890123' })));
    assert.equal(err.field, '/data/orderId');
    assert.equal(err.details[0].keyword, 'maxLength');
    assert.match(err.message, /production order '1234567890123' has 13 digits, more than the 12 SAP keeps/);
    assert.throws(() => createProfile(sap, { alpha: { matnr: 40 } }), (e: unknown) => e instanceof PlantSyncError && /alpha override matnr: the profile has no such key/.test(e.message));
    assert.throws(() => createProfile(sap, { alpha: { material: 0 } }), (e: unknown) => e instanceof PlantSyncError && /not a length from 1 to 40/.test(e.message));
  });
});

describe('mapping: site <-> SAP plant and storage location maps', () => {
  const plant = createProfile(sap, { valueMaps: { plant: { toVendor: { P100: '1010' } }, storageLocation: { toVendor: { '0003': 'RM01', '0005': 'FG01' } } } });

  it('without a map sites and storage locations pass unchanged', async () => {
    const request = await assertRoundTrip(writeOf(sap, 'goodsMovement'), event('mfg.inventory.moved.v2', relocation));
    assert.equal(itemOf(request.body).Plant, 'P100');
    assert.equal(itemOf(request.body).StorageLocation, '0003');
  });

  it('goods movements post to the SAP plant and storage locations and read back as site and canonical codes', async () => {
    const moved = await assertRoundTrip(writeOf(plant, 'goodsMovement'), event('mfg.inventory.moved.v2', relocation));
    const item = itemOf(moved.body);
    assert.deepEqual([item.Plant, item.StorageLocation, item.IssuingOrReceivingPlant, item.IssuingOrReceivingStorageLoc], ['1010', 'RM01', '1010', 'FG01']);
    const receipt = await assertRoundTrip(writeOf(plant, 'goodsMovement'), event('mfg.production.confirmed.v1', production, { source: '/plants/P100/erp' }));
    assert.equal(itemOf(receipt.body).Plant, '1010');
  });

  it('an unmapped site is a MAPPING_ERROR naming the site and its pointer, before any call', async () => {
    const data = { ...relocation, from: { ...relocation.from, site: 'P200' }, to: { ...relocation.to, site: 'P200' } };
    const err = await mappingError(() => writeOf(plant, 'goodsMovement').toVendor(event('mfg.inventory.moved.v2', data)));
    assert.equal(err.code, 'MAPPING_ERROR');
    assert.deepEqual(err.details.map((d) => d.pointer), ['/data/from/site', '/data/to/site']);
    assert.equal(err.value, 'P200');
    assert.match(err.message, /unknown site 'P200' \(the endpoint's overrides map only P100 in valueMaps\.plant\) at \/data\/from\/site/);
    const sloc = await mappingError(() => writeOf(plant, 'goodsMovement').toVendor(event('mfg.material.consumed.v2', consumption)));
    assert.equal(sloc.field, '/data/storageLocation', 'storage location 0001 is not in the plant map either');
  });

  it('read answers map back: the order plant, stock lines; an SAP plant the map does not know is an error at its field', async () => {
    const plantOnly = createProfile(sap, { valueMaps: { plant: { toVendor: { P100: '1010' } } } });
    const order = await readOf<{ site: string }>(plantOnly, 'readProductionOrder').fromVendorResponse({ d: { ...sapOrder().d, ProductionPlant: '1010' } });
    assert.equal(order.site, 'P100');
    const stock = readOf<StockItem[]>(plant, 'readStock');
    const get = await stock.toVendor({ material: 'RM-100-STEEL', site: 'P100' });
    assert.equal(get.query?.$filter, "Material eq 'RM-100-STEEL' and Plant eq '1010'");
    assert.deepEqual(await stock.fromVendorRequest(undefined, get), { material: 'RM-100-STEEL', site: 'P100' });
    const line = { Material: 'RM-100-STEEL', Plant: '1010', StorageLocation: 'RM01', Batch: '', InventoryStockType: '01', MatlWrhsStkQtyInMatlBaseUnit: '500.000', MaterialBaseUnit: 'KG' };
    const items = await stock.fromVendorResponse({ d: { results: [line] } });
    assert.deepEqual(items, [{ material: 'RM-100-STEEL', site: 'P100', storageLocation: '0003', stockType: 'Unrestricted', quantity: { value: 500, uom: 'KG' } }]);
    const unknown = await mappingError(() => stock.fromVendorResponse({ d: { results: [{ ...line, Plant: '2020' }] } }));
    assert.equal(unknown.field, 'results/0/Plant');
    assert.equal(unknown.details[0].pointer, '/d/results/0/Plant');
    const unmapped = await mappingError(() => stock.toVendor({ material: 'RM-100-STEEL', site: 'P200' }));
    assert.equal(unmapped.field, '/site');
  });
});

describe('mapping: plant time (Europe/Berlin) across the 2026 daylight-saving changes', () => {
  const berlin = createProfile(sap, { timeZone: 'Europe/Berlin' });
  const confirm = writeOf(berlin, 'confirmOperation');
  const times = (body: unknown) => {
    const b = body as Body;
    return [b.PostingDate, b.ConfirmedExecutionStartDate, b.ConfirmedExecutionStartTime, b.ConfirmedExecutionEndDate, b.ConfirmedExecutionEndTime];
  };

  it('winter: UTC+1 on the wire, the same instants back', async () => {
    const request = await assertRoundTrip(confirm, event('mfg.operation.completed.v3', confirmation));
    assert.deepEqual(times(request.body), [day('2026-11-26'), day('2026-11-26'), 'PT07H00M00S', day('2026-11-26'), 'PT08H30M00S']);
  });

  it('29 March 2026: a confirmation across the skipped hour (01:30 CET -> 03:30 CEST) round-trips exactly', async () => {
    const data = { ...confirmation, actualStart: '2026-03-29T00:30:00Z', actualEnd: '2026-03-29T01:30:00Z' };
    const request = await assertRoundTrip(confirm, event('mfg.operation.completed.v3', data));
    assert.deepEqual(times(request.body), [day('2026-03-29'), day('2026-03-29'), 'PT01H30M00S', day('2026-03-29'), 'PT03H30M00S']);
  });

  it('25 October 2026: 02:15 CEST -> 03:30 CET round-trips; a wall time of the repeated hour reads as its first occurrence', async () => {
    const data = { ...confirmation, actualStart: '2026-10-25T00:15:00Z', actualEnd: '2026-10-25T02:30:00Z' };
    const request = await assertRoundTrip(confirm, event('mfg.operation.completed.v3', data));
    assert.deepEqual(times(request.body), [day('2026-10-25'), day('2026-10-25'), 'PT02H15M00S', day('2026-10-25'), 'PT03H30M00S']);
    // 00:45Z (02:45 CEST) and 01:45Z (02:45 CET) are the same wall time; SAP keeps no offset.
    assert.deepEqual(timestampToODataDateTime('2026-10-25T01:45:00Z', 'timestamp', 'Europe/Berlin'), { date: day('2026-10-25'), time: 'PT02H45M00S' });
    assert.equal(odataDateTimeToTimestamp(day('2026-10-25'), 'PT02H45M00S', ['date', 'time'], 'Europe/Berlin'), '2026-10-25T00:45:00Z');
    // A wall time in the skipped hour (SAP would not write one) is read one hour later, as Temporal does.
    assert.equal(odataDateTimeToTimestamp(day('2026-03-29'), 'PT02H30M00S', ['date', 'time'], 'Europe/Berlin'), '2026-03-29T01:30:00Z');
  });

  it('posting and document dates are the plant calendar day: 23:30Z on 24 October is the 25th in Berlin, the 24th in UTC', async () => {
    const late = event('mfg.material.consumed.v2', consumption, { time: '2026-10-24T22:30:00Z' });
    assert.equal(((await writeOf(berlin, 'goodsMovement').toVendor(late)).body as Body).PostingDate, day('2026-10-25'));
    assert.equal(((await writeOf(sap, 'goodsMovement').toVendor(late)).body as Body).PostingDate, day('2026-10-24'));
    const end = { ...confirmation, actualStart: '2026-10-24T21:00:00Z', actualEnd: '2026-10-24T22:30:00Z' };
    assert.equal(((await confirm.toVendor(event('mfg.operation.completed.v3', end))).body as Body).PostingDate, day('2026-10-25'));
  });

  it('a usage decision is dated on the plant day at plant time, across both 2026 changes; the instant comes back', async () => {
    const decide = writeOf(berlin, 'usageDecision');
    const sent = async (decidedAt: string) => {
      const body = (await assertRoundTrip(decide, event('mfg.quality.disposition.changed.v1', { ...disposition, decidedAt }))).body as Body;
      return [body.InspLotUsageDecidedOn, body.InspLotUsageDecisionTime];
    };
    // 23:30Z on 28 March is 00:30 CET on the 29th: the plant's day, never the UTC one.
    assert.deepEqual(await sent('2026-03-28T23:30:00Z'), [day('2026-03-29'), 'PT00H30M00S']);
    // 29 March: 01:30Z is 03:30 CEST, after the skipped hour.
    assert.deepEqual(await sent('2026-03-29T01:30:00Z'), [day('2026-03-29'), 'PT03H30M00S']);
    // 25 October: 00:15Z is 02:15 CEST, 02:30Z is 03:30 CET; 22:30Z is already the 26th.
    assert.deepEqual(await sent('2026-10-25T00:15:00Z'), [day('2026-10-25'), 'PT02H15M00S']);
    assert.deepEqual(await sent('2026-10-25T02:30:00Z'), [day('2026-10-25'), 'PT03H30M00S']);
    assert.deepEqual(await sent('2026-10-25T23:30:00Z'), [day('2026-10-26'), 'PT00H30M00S']);
    // In UTC the same instant is still the 28th.
    const utc = await writeOf(sap, 'usageDecision').toVendor(event('mfg.quality.disposition.changed.v1', { ...disposition, decidedAt: '2026-03-28T23:30:00Z' }));
    assert.deepEqual([(utc.body as Body).InspLotUsageDecidedOn, (utc.body as Body).InspLotUsageDecisionTime], [day('2026-03-28'), 'PT23H30M00S']);
  });

  it('order dates read back as the plant day start; an unknown zone is a CONFIG_ERROR at compile', async () => {
    const order = await readOf<{ plannedStart: string }>(berlin, 'readProductionOrder').fromVendorResponse(sapOrder());
    assert.equal(order.plannedStart, '2026-11-25T23:00:00Z', 'midnight in Berlin');
    assert.throws(() => createProfile(sap, { timeZone: 'Mars/Olympus' }), (e: unknown) => e instanceof PlantSyncError && e.code === 'CONFIG_ERROR' && /unknown time zone 'Mars\/Olympus'/.test(e.message));
  });

  it('quantities are always written at their scale: 0 is "0.000"', async () => {
    const request = await assertRoundTrip(confirm, event('mfg.operation.completed.v3', { ...confirmation, scrap: { value: 0, uom: 'EA' } }));
    assert.equal((request.body as Body).ConfirmationScrapQuantity, '0.000');
  });
});
