import * as assert from 'node:assert/strict';
import { PlantSyncError } from '../../lib';
import {
  createProfile, GENERIC_REST, GENERIC_UNITS, SAP_S4HANA, type ProfileDefinition, type ReadOperation, type WriteOperation,
} from '../../lib/mapping';
import { event, mappingError } from './fixtures';

/** A small profile exercising the engine's rule kinds on their own. */
const TEST: ProfileDefinition = {
  name: 'test',
  description: 'engine test profile',
  units: GENERIC_UNITS,
  unitSystem: 'test',
  valueMaps: {
    reason: { label: 'reason', toVendor: { SCRAP: 'S1' }, otherwise: 'passThrough' },
    state: { label: 'state', toVendor: { Released: 'R', Ready: 'R', Held: 'H' }, toCanonical: { R: 'Released' }, unsupported: { Forecast: 'plans are not sent' } },
    shared: { label: 'shared', toVendor: { Partial: 'P', Final: 'P' } },
    sloc: { label: 'storage location', toVendor: {}, otherwise: { vendor: 'DEFAULT' } },
    flags: { label: 'order flag', toVendor: { Held: 'IsHeld', Released: 'IsReleased' } },
  },
  operations: {
    post: {
      kind: 'write',
      system: 'MES',
      method: 'POST',
      path: '/orders/{id}/items',
      params: [{ to: 'id', from: '/data/orderId' }],
      repeatHeader: 'Idempotency-Key',
      variants: [{
        eventType: 'mfg.material.consumed.v1',
        body: [
          { to: 'kind', const: 'ISSUE' },
          { to: 'material', from: '/data/material', as: 'string' },
          { to: ['qty', 'uom'], from: '/data/quantity', as: 'quantity' },
          { to: 'label', expr: "data.material & ' @ ' & data.storageLocation" },
          { to: 'sloc', from: '/data/site', map: 'sloc', only: 'toVendor' },
          { to: 'location', from: '/data/storageLocation' },
          { to: 'lot', from: '/data/lot', empty: '' },
          { to: 'nested/site', from: '/data/site' },
        ],
      }],
      response: [{ from: '/documentNumber', to: 'id' }],
    },
    get: {
      kind: 'read',
      system: 'MES',
      method: 'GET',
      path: '/orders/{id}',
      params: [{ to: 'id', from: '/id' }],
      response: [
        { from: '/state', flags: 'flags' },
        { from: '/revision', value: 0 },
        {
          from: '/ops',
          to: 'operations',
          each: [
            { from: '/id', to: 'seq' },
            { from: '/parts', to: '$$/parts', where: 'op = $parent.seq', optional: true, each: [{ from: '/material', to: 'material' }] },
          ],
        },
      ],
    },
  },
};

// v1 goods movements have no identity of their own: their producer keys them (lib/idempotency/keys.ts).
const KEYED = { idempotencykey: 'mes:movement:881' };

const consumed = {
  orderId: '1000123', material: 'RM-100-STEEL', quantity: { value: 12.5, uom: 'KG' }, site: 'P100', storageLocation: '0001',
};

describe('mapping: the declarative engine', () => {
  const profile = createProfile(TEST);
  const post = profile.operation<WriteOperation>('post');
  const get = profile.operation<ReadOperation>('get');

  it('applies constants, codecs, JSONata expressions, value-map defaults, empties and nested paths', async () => {
    const request = await post.toVendor(event('mfg.material.consumed.v1', consumed, KEYED));
    assert.equal(request.path, '/orders/1000123/items');
    assert.deepEqual(request.body, {
      kind: 'ISSUE', material: 'RM-100-STEEL', qty: 12.5, uom: 'KGM', label: 'RM-100-STEEL @ 0001', sloc: 'DEFAULT', location: '0001', lot: '',
      nested: { site: 'P100' },
    });
    const back = await post.fromVendorRequest(request.body, { path: request.path });
    assert.deepEqual(back, { type: 'mfg.material.consumed.v1', data: consumed });
  });

  it('never returns a half-mapped result: every problem of one mapping in one MappingError', async () => {
    const bad = { ...consumed, material: 42, quantity: { value: -1, uom: 'KG' } } as unknown as typeof consumed;
    delete (bad as Partial<typeof bad>).storageLocation;
    const err = await mappingError(() => post.toVendor(event('mfg.material.consumed.v1', bad, KEYED)));
    assert.equal(err.name, 'MappingError');
    assert.equal(err.code, 'MAPPING_ERROR');
    assert.equal(err.direction, 'toVendor');
    assert.equal(err.profile, 'test');
    assert.equal(err.operation, 'post');
    assert.deepEqual(err.details.map((d) => [d.pointer, d.keyword]), [
      ['/data/material', 'type'],
      ['/data/quantity/value', 'minimum'],
      ['/data/storageLocation', 'required'],
    ]);
    assert.equal(err.field, '/data/material', 'field and value name the first problem');
    assert.equal(err.value, 42);
    assert.match(err.message, /^3 mapping problems: not a string: 42 at \/data\/material; negative quantity -1 at \/data\/quantity\/value; required value missing at \/data\/storageLocation/);
    const json = err.toJSON();
    assert.equal(json.code, 'MAPPING_ERROR');
    assert.equal(json.details.length, 3);
    assert.deepEqual(JSON.parse(JSON.stringify(err)).details, json.details, 'serialises like validation errors');
  });

  it('reads status flags by precedence, canonical constants, and joins arrays with a JSONata predicate', async () => {
    const doc = {
      IsHeld: false, IsReleased: true,
      operations: [{ seq: '10' }, { seq: '20' }],
      parts: [{ op: '20', material: 'B' }, { op: '10', material: 'A' }, { op: '20', material: 'C' }],
    };
    assert.deepEqual(await get.fromVendorResponse(doc), {
      state: 'Released',
      revision: 0,
      ops: [{ id: '10', parts: [{ material: 'A' }] }, { id: '20', parts: [{ material: 'B' }, { material: 'C' }] }],
    });
    assert.equal(((await get.fromVendorResponse({ ...doc, IsHeld: true })) as { state: string }).state, 'Held');
    const e = await mappingError(() => get.fromVendorResponse({ ...doc, parts: [{ op: '10' }] }));
    assert.equal(e.field, 'parts/0/material', 'elements chosen by a predicate keep their real place');
  });

  it('value maps: unsupported values explain, ambiguous inverses are errors, passThrough passes', async () => {
    const profile2 = createProfile({
      ...TEST,
      operations: {
        s: {
          kind: 'write', system: 'MES', method: 'POST', path: '/s', repeatHeader: 'Idempotency-Key',
          variants: [{
            eventType: 'mfg.productionorder.cancelled.v1',
            body: [
              { to: 'state', from: '/data/reason/code', map: 'state' },
              { to: 'why', from: '/data/reason/text', map: 'reason' },
              { to: 'kind', from: '/data/cancelledBy', map: 'shared', optional: true },
            ],
          }],
        },
      },
    });
    const s = profile2.operation<WriteOperation>('s');
    const data = { orderId: '1', site: 'P100', reason: { code: 'Ready', text: 'SCRAP' } };
    assert.deepEqual((await s.toVendor(event('mfg.productionorder.cancelled.v1', data))).body, { state: 'R', why: 'S1' });
    assert.deepEqual((await s.fromVendorRequest({ state: 'R', why: 'OTHER' })).data, { reason: { code: 'Released', text: 'OTHER' } });
    const unsupported = await mappingError(() => s.toVendor(event('mfg.productionorder.cancelled.v1', { ...data, reason: { code: 'Forecast' } })));
    assert.match(unsupported.message, /state 'Forecast' has no vendor value: plans are not sent at \/data\/reason\/code/);
    const ambiguous = await mappingError(() => s.fromVendorRequest({ state: 'H', why: 'x', kind: 'P' }));
    assert.equal(ambiguous.field, 'kind');
    assert.match(ambiguous.message, /ambiguous \(Partial, Final\)/);
    const unknown = await mappingError(() => s.fromVendorRequest({ state: 'Q', why: 'x' }));
    assert.equal(unknown.message, "unknown state 'Q' at state (test s toCanonical)");
  });

  it('plant overrides change value maps and units without code, and leave the base alone', async () => {
    const plant = createProfile(profile, {
      valueMaps: { sloc: { toVendor: { P100: 'HALL-3' } }, reason: { toVendor: { SCRAP: 'S9' } } },
      units: { toCanonical: { KGS: { uom: 'KG', factor: 1 } }, toVendor: { KG: 'KGS' } },
    });
    const body = (await plant.operation<WriteOperation>('post').toVendor(event('mfg.material.consumed.v1', consumed, KEYED))).body as Record<string, unknown>;
    assert.equal(body.sloc, 'HALL-3');
    assert.equal(body.uom, 'KGS');
    const base = (await post.toVendor(event('mfg.material.consumed.v1', consumed, KEYED))).body as Record<string, unknown>;
    assert.equal(base.sloc, 'DEFAULT');
    assert.equal(base.uom, 'KGM');
    assert.deepEqual(TEST.valueMaps.sloc.toVendor, {}, 'the definition is not mutated');
    const stacked = createProfile(plant, { valueMaps: { sloc: { toVendor: { P200: 'HALL-9' } } } });
    assert.deepEqual(stacked.context.valueMaps.sloc.toVendor, { P100: 'HALL-3', P200: 'HALL-9' }, 'overrides stack');
  });

  it('definition mistakes are CONFIG_ERRORs at construction, never on the message path', () => {
    const config = (fn: () => unknown, pattern: RegExp) =>
      assert.throws(fn, (e: unknown) => e instanceof PlantSyncError && e.code === 'CONFIG_ERROR' && pattern.test(e.message));
    config(() => createProfile(TEST, { valueMaps: { stat: { toVendor: { X: 'Y' } } } }), /no such map/);
    config(() => createProfile(TEST, { units: { toVendor: { EA: 'ST' } } }), /does not read back/);
    const withRule = (rule: object) => ({
      ...TEST,
      operations: { x: { kind: 'read' as const, system: 'MES' as const, method: 'GET' as const, path: '/x', response: [rule] } },
    });
    config(() => createProfile(withRule({ from: '/a', to: 'a', read: 'a +' })), /JSONata/);
    config(() => createProfile(withRule({ from: '/a', to: 'a', map: 'nope' })), /no value map nope/);
    config(() => createProfile(withRule({ from: '/a', to: 'a', as: 'quantity' })), /needs 2 vendor field/);
    config(() => createProfile(withRule({ from: '/a', to: 'a', as: 'sapUnicorn' })), /no codec/);
    config(() => createProfile({ ...TEST, operations: { x: { kind: 'read', system: 'MES', method: 'GET', path: '/x/{id}' } } }), /no params rule fills \{id\}/);
    config(() => createProfile(TEST).operation('nope'), /has no operation nope/);
  });

  it('rejects an event type the operation does not map', async () => {
    const err = await mappingError(() => post.toVendor(event('mfg.material.returned.v1', consumed, KEYED)));
    assert.equal(err.field, '/type');
    assert.equal(err.details[0].keyword, 'operation');
  });

  it('the built-in definitions compile with their operations, reads and writes', () => {
    const kinds = (p: ProfileDefinition) => Object.fromEntries(Object.entries(createProfile(p).operations).map(([n, op]) => [n, op.kind]));
    assert.deepEqual(kinds(SAP_S4HANA), {
      readProductionOrder: 'read', releaseProductionOrder: 'write', confirmOperation: 'write', goodsMovement: 'write', usageDecision: 'write', readStock: 'read',
    });
    assert.deepEqual(kinds(GENERIC_REST), {
      dispatchOrder: 'write', reviseOrder: 'write', readOrder: 'read', confirmOperation: 'write', consumeMaterial: 'write',
      moveInventory: 'write', readStock: 'read', changeDisposition: 'write', readLot: 'read',
    });
  });

  it('a request whose path and body disagree is a conflict, not a silent choice', async () => {
    const revise = createProfile(GENERIC_REST).operation<WriteOperation>('reviseOrder');
    const err = await mappingError(() => revise.fromVendorRequest({ orderId: '1000123' }, { path: '/api/v1/orders/1000999' }));
    assert.ok(err.details.some((d) => d.pointer === '/$path/orderId' && d.keyword === 'conflict'), JSON.stringify(err.details));
  });
});
