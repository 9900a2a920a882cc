/**
 * The editor side of the config and transport dialogs, without a browser: the validators of the
 * .html files accept a freshly added node, refuse what the runtime refuses at deploy (the same
 * ranges, taken from the runtime's own tables), and every text they show is in the catalogue.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENDPOINT_RANGES } from '../../nodes/plantsync-endpoint/endpoint-settings';
import { parseRetryTiers } from '../../lib/transport/retry-tiers';
import { BROKER_RANGES } from '../../nodes/shared/broker-node';
import { ConfigCheck, type NumberSetting } from '../../nodes/shared/config-check';
import { STORE_RANGES } from '../../nodes/shared/store-node';
import { freshNode, loadEditorDefinition, validateProperty, type EditorDefinition } from '../helpers/editor-definition';
import { REPO_ROOT } from '../helpers/paths';

const NODES = ['plantsync-endpoint', 'plantsync-broker', 'plantsync-store', 'plantsync-consume', 'plantsync-publish'];
/** Fields a user must fill in: a fresh node is rightly incomplete without them (as core MQTT's broker). */
const MUST_ENTER: Record<string, string[]> = { 'plantsync-endpoint': ['baseUrl'] };

const catalogue = (node: string) =>
  JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'nodes', node, 'locales', 'en-US', `${node}.json`), 'utf8')) as Record<string, unknown>;

function hasKey(cat: Record<string, unknown>, key: string): boolean {
  let at: unknown = cat;
  for (const part of key.split('.')) at = at && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined;
  return typeof at === 'string';
}

const valid = (def: EditorDefinition, field: string, value: unknown, node = freshNode(def)) => validateProperty(def, node, field, value) === true;

const runtimeAccepts = (field: string, value: unknown, setting: NumberSetting) => {
  const check = new ConfigCheck({ id: 'n', type: 't', name: '', z: '', [field]: value } as never);
  check.number(field, setting);
  return check.problems.length === 0;
};

/** Editor and runtime agree on the bounds, a value just outside, a fraction where whole numbers are asked, and text. */
function assertSameRange(def: EditorDefinition, ranges: Readonly<Record<string, NumberSetting>>, node = freshNode(def)) {
  for (const [field, r] of Object.entries(ranges)) {
    const step = r.integer ? 1 : Math.min(0.01, r.min || 0.01);
    const cases: Array<[unknown, boolean]> = [[r.min, true], [r.max, true], [String(r.max), true], [r.min - step, false], [r.max + step, false], ['abc', false], ['', true]];
    if (r.integer) cases.push([r.min + 0.5, false]);
    for (const [value, expected] of cases) {
      assert.equal(valid(def, field, value, node), expected, `editor ${def.type}.${field} = ${JSON.stringify(value)}`);
      assert.equal(runtimeAccepts(field, value, r), expected, `runtime ${def.type}.${field} = ${JSON.stringify(value)}`);
    }
  }
}

describe('config and transport dialogs: editor validators', function () {
  const defs = Object.fromEntries(NODES.map((n) => [n, loadEditorDefinition(n)])) as Record<string, EditorDefinition>;

  it('a freshly added node passes every validator except the fields a user must enter', () => {
    for (const [node, def] of Object.entries(defs)) {
      const fresh = freshNode(def);
      for (const field of Object.keys(def.defaults)) {
        if (def.defaults[field].type) continue; // config-node references are checked by the editor itself
        const must = (MUST_ENTER[node] ?? []).includes(field);
        assert.equal(valid(def, field, fresh[field], fresh), !must, `${node}.${field} = ${JSON.stringify(fresh[field])}`);
      }
    }
  });

  it('endpoint: the numbers have the runtime ranges; the first retry delay may not exceed the longest', () => {
    const def = defs['plantsync-endpoint'];
    // The longest delay and pause at their maximum, so the first ones are checked against their own range only.
    assertSameRange(def, ENDPOINT_RANGES, { ...freshNode(def), maxDelayMs: ENDPOINT_RANGES.maxDelayMs.max, openSeconds: ENDPOINT_RANGES.openSeconds.max });
    const node = { ...freshNode(def), maxDelayMs: 30000 };
    assert.equal(valid(def, 'baseDelayMs', 30000, node), true);
    const reason = validateProperty(def, node, 'baseDelayMs', 30001);
    assert.equal(typeof reason, 'string', 'a reason the editor shows');
    assert.equal(valid(def, 'maxAttempts', -1), false);
    // The circuit's first trial may not come after its longest pause.
    const circuit = { ...freshNode(def), openSeconds: 60 };
    assert.equal(valid(def, 'probeSeconds', 60, circuit), true);
    assert.equal(typeof validateProperty(def, circuit, 'probeSeconds', 61), 'string');
    assert.deepEqual([freshNode(def).probeSeconds, freshNode(def).openSeconds], [ENDPOINT_RANGES.probeSeconds.fallback, ENDPOINT_RANGES.openSeconds.fallback]);
  });

  it('endpoint: empty overrides are valid, JSON objects are, anything else is not; auth defaults to none', () => {
    const def = defs['plantsync-endpoint'];
    assert.equal(def.defaults.authType.value, 'none');
    assert.equal(valid(def, 'overrides', ''), true);
    assert.equal(valid(def, 'overrides', '  '), true);
    assert.equal(valid(def, 'overrides', '{"valueMaps": {}}'), true);
    assert.equal(valid(def, 'overrides', '{"valueMaps": '), false);
    assert.equal(valid(def, 'overrides', '[1]'), false);
    assert.equal(valid(def, 'overrides', 'null'), false);
    assert.equal(valid(def, 'baseUrl', '${ERP_URL}'), true);
    assert.equal(valid(def, 'baseUrl', 'erp.example.com'), false);
  });

  it('broker: heartbeat and prefetch have the runtime ranges; retry tiers as parseRetryTiers', () => {
    const def = defs['plantsync-broker'];
    assertSameRange(def, BROKER_RANGES);
    const tiers: Array<[string, boolean]> = [['1s,10s,60s', true], ['', true], ['500ms, 2m, 5', true], ['24h', true], ['0ms', false], ['25h', false], ['soon', false], [Array(11).fill('1s').join(','), false]];
    for (const [text, expected] of tiers) {
      assert.equal(valid(def, 'retryTiers', text), expected, `editor retryTiers ${text}`);
      let runtime = true;
      try {
        parseRetryTiers(text);
      } catch {
        runtime = false;
      }
      assert.equal(runtime, expected, `runtime retryTiers ${text}`);
    }
    assert.equal(valid(def, 'url', 'amqp://user:pw@host'), false, 'no password in the flow');
  });

  it('store: port and retention have the runtime ranges; two stores with one name have different labels', () => {
    const def = defs['plantsync-store'];
    assertSameRange(def, STORE_RANGES);
    const label = (n: Record<string, unknown>) => (def.label as (this: Record<string, unknown>) => string).call({ ...freshNode(def), ...n });
    const a = label({ name: 'plant store', file: 'confirm-in-sap.db' });
    const b = label({ name: 'plant store', file: 'guard.db' });
    assert.notEqual(a, b);
    assert.match(a, /plant store.*confirm-in-sap\.db/);
    assert.match(label({ name: 'shared', kind: 'postgres', host: 'db1', database: 'mes' }), /db1\/mes/);
  });

  it('consume and publish: timeouts, prefetch, attempts and outbox capacity are range-checked', () => {
    const consume = defs['plantsync-consume'];
    for (const [field, value, expected] of [
      ['settleTimeout', -1, false], ['settleTimeout', 0, false], ['settleTimeout', 300, true], ['settleTimeout', 86401, false],
      ['closeTimeout', 14, true], ['closeTimeout', 15, false], ['closeTimeout', -1, false],
      ['prefetch', '', true], ['prefetch', 0, false], ['prefetch', 1.5, false], ['prefetch', 65536, false],
      ['maxAttempts', '', true], ['maxAttempts', 0, false], ['maxAttempts', 100, true],
    ] as Array<[string, unknown, boolean]>) assert.equal(valid(consume, field, value), expected, `consume ${field} = ${value}`);
    const publish = defs['plantsync-publish'];
    for (const [field, value, expected] of [
      ['outboxCapacity', 0, false], ['outboxCapacity', -5, false], ['outboxCapacity', 2.5, false], ['outboxCapacity', 1, true], ['outboxCapacity', 100000, true],
      ['timeout', 0, false], ['timeout', 10, true], ['timeout', 3601, false],
    ] as Array<[string, unknown, boolean]>) assert.equal(valid(publish, field, value), expected, `publish ${field} = ${value}`);
  });

  it('every text the dialogs and their validators show is in the catalogue', () => {
    for (const node of NODES) {
      const cat = catalogue(node);
      const html = fs.readFileSync(path.join(REPO_ROOT, 'nodes', node, `${node}.html`), 'utf8');
      const keys = new Set<string>();
      for (const m of html.matchAll(/data-i18n="([^"]+)"/g)) for (const k of m[1].split(';')) keys.add(k.replace(/^\[[^\]]+\]/, ''));
      for (const m of html.matchAll(/\b_\('([^']+)'/g)) keys.add(m[1].replace(/^[^:]+:/, ''));
      const own = [...keys].filter((k) => !k.startsWith('node-red:'));
      assert.ok(own.length > 0, node);
      for (const k of own) assert.ok(hasKey(cat, k), `${node}: missing catalogue key ${k}`);
      // Validator reasons: the key the editor would translate exists.
      const def = loadEditorDefinition(node);
      for (const [field, d] of Object.entries(def.defaults)) {
        if (!d.validate) continue;
        const reason = d.validate.call(freshNode(def), 'not a value', {});
        if (typeof reason === 'string') assert.ok(hasKey(cat, reason.replace(/^[^:]+:/, '')), `${node}.${field}: reason ${reason}`);
      }
    }
  });
});
