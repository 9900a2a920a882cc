/**
 * The request dialog's operation list comes from the runtime, for the profile of the endpoint
 * chosen, never from a list in the .html; a saved operation the profile lacks stays, flagged.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { operationList } from '../../lib/mapping/operation-list';
import { PROFILES } from '../../lib/mapping/registry';
import { openDialog, type FakeElement } from '../helpers/editor-dialog';
import { REPO_ROOT } from '../helpers/paths';

const ENDPOINTS = { erp: { type: 'plantsync-endpoint', profile: 'sap-s4hana' }, mes: { type: 'plantsync-endpoint', profile: 'generic-rest' } };
const runtimeList = (profile: 'sap-s4hana' | 'generic-rest') => JSON.parse(JSON.stringify(operationList(PROFILES[profile]))) as unknown;
const values = (select: FakeElement) => select.options.map((o) => o.value);

describe('request dialog: operations from the runtime', () => {
  it('the template lists no operation of its own, only "post the event"', () => {
    const html = fs.readFileSync(path.join(REPO_ROOT, 'nodes', 'plantsync-request', 'plantsync-request.html'), 'utf8');
    const template = /<script type="text\/html" data-template-name="plantsync-request">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    assert.deepEqual([...template.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]), ['auto']);
    for (const name of Object.keys({ ...PROFILES['sap-s4hana'].operations, ...PROFILES['generic-rest'].operations })) {
      assert.ok(!html.includes(name), `${name} is not written into the dialog`);
    }
  });

  it('asks the runtime for the chosen endpoint\'s profile and lists its reads', () => {
    const dialog = openDialog('plantsync-request', { endpoint: 'erp', operation: 'readStock' }, ENDPOINTS);
    assert.deepEqual(dialog.requests.map((r) => r.url), ['plantsync/profiles/sap-s4hana/operations']);
    dialog.requests[0].answer(runtimeList('sap-s4hana'));
    const select = dialog.element('#node-input-operation');
    assert.deepEqual(values(select), ['auto', 'readProductionOrder', 'readStock']);
    assert.equal(select.value, 'readStock');
    assert.match(String(select.options[1].label), /^readProductionOrder — read a production order/);
    assert.match(String(select.options[0].title), /goodsMovement: mfg\.material\.consumed\.v2/, '"post the event" says which events go where');
    assert.equal(dialog.element('.plantsync-request-params').visible, true, 'a read shows its parameters field');
  });

  it('keeps a saved operation the profile lacks, flagged, and follows a change of endpoint', () => {
    const dialog = openDialog('plantsync-request', { endpoint: 'mes', operation: 'readLot' }, ENDPOINTS);
    dialog.requests[0].answer(runtimeList('generic-rest'));
    const select = dialog.element('#node-input-operation');
    assert.deepEqual(values(select), ['auto', 'readOrder', 'readStock', 'readLot']);
    assert.equal(select.value, 'readLot');

    dialog.choose('#node-input-endpoint', 'erp');
    assert.equal(dialog.requests[1].url, 'plantsync/profiles/sap-s4hana/operations');
    dialog.requests[1].answer(runtimeList('sap-s4hana'));
    assert.deepEqual(values(select), ['auto', 'readProductionOrder', 'readStock', 'readLot']);
    assert.equal(select.value, 'readLot', 'the saved value is not dropped');
    assert.equal(select.options[3].label, 'readLot (not a read of sap-s4hana)');
  });

  it('keeps the saved operation, unflagged, when the runtime cannot be asked', () => {
    const dialog = openDialog('plantsync-request', { endpoint: 'erp', operation: 'readProductionOrder' }, ENDPOINTS);
    dialog.requests[0].refuse();
    const select = dialog.element('#node-input-operation');
    assert.deepEqual(values(select), ['auto', 'readProductionOrder']);
    assert.equal(select.options[1].label, 'readProductionOrder');
    assert.equal(select.value, 'readProductionOrder');

    const fresh = openDialog('plantsync-request', { endpoint: '', operation: 'auto' }, ENDPOINTS);
    assert.deepEqual(fresh.requests, [], 'no endpoint chosen yet: nothing to ask');
    assert.deepEqual(values(fresh.element('#node-input-operation')), ['auto']);
    assert.equal(fresh.element('.plantsync-request-params').visible, false);
  });
});
