/**
 * The endpoint's plant time zone: checked at deploy (an IANA name, empty is UTC), passed into the
 * profile it compiles, and offered by the editor with its label, tip and validation message.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openEndpoint } from '../../lib/adapters/endpoint';
import { readEndpointSettings, type EndpointNodeDef } from '../../nodes/plantsync-endpoint/endpoint-settings';

const NODE_DIR = path.join(__dirname, '../../../nodes/plantsync-endpoint');
const def = (extra: Partial<EndpointNodeDef>): EndpointNodeDef =>
  ({ id: 'ep', type: 'plantsync-endpoint', z: '', name: '', baseUrl: 'http://127.0.0.1:1', profile: 'sap-s4hana', ...extra }) as EndpointNodeDef;
const quiet = { logger: { error: () => undefined } };

describe('plantsync-endpoint plant time zone', () => {
  it('empty is UTC; an IANA name reaches the compiled profile and its SAP times', async () => {
    assert.equal(readEndpointSettings(def({})).timeZone, 'UTC');
    const endpoint = openEndpoint(readEndpointSettings(def({ timeZone: ' Europe/Berlin ' })), {}, quiet);
    try {
      assert.equal(endpoint.problem, undefined);
      assert.equal(endpoint.profile?.definition.timeZone, 'Europe/Berlin');
      const op = endpoint.profile?.writeFor('mfg.operation.completed.v3');
      const request = await op?.toVendor({
        specversion: '1.0', id: 'e1', type: 'mfg.operation.completed.v3', source: '/plants/P100/mes', time: '2026-11-26T09:15:00Z', siteid: 'P100',
        idempotencykey: 'k1', datacontenttype: 'application/json',
        data: {
          confirmationId: 'C1', orderId: '1000123', operationId: '0010', workCenter: 'WC-CUT1', site: 'P100', actualStart: '2026-11-26T06:00:00Z',
          actualEnd: '2026-11-26T07:30:00Z', yield: { value: 1, uom: 'EA' }, scrap: { value: 0, uom: 'EA' }, confirmationType: 'Partial',
        },
      } as never);
      assert.equal((request?.body as Record<string, unknown>).ConfirmedExecutionStartTime, 'PT07H00M00S', '06:00Z is 07:00 in Berlin');
    } finally {
      endpoint.close();
    }
  });

  it('an unknown name is a CONFIG_ERROR at /timeZone that makes the endpoint unusable', () => {
    const settings = readEndpointSettings(def({ timeZone: 'Europe/Atlantis' }));
    assert.equal(settings.problem?.code, 'CONFIG_ERROR');
    assert.deepEqual(settings.problem?.details.map((d) => d.pointer), ['/timeZone']);
    assert.match(settings.problem?.message ?? '', /plant unknown time zone 'Europe\/Atlantis' \(an IANA name such as Europe\/Berlin, or UTC\)/);
    const endpoint = openEndpoint(settings, {}, quiet);
    assert.throws(() => endpoint.assertUsable(), /Europe\/Atlantis/);
    endpoint.close();
  });

  it('the editor has the field with a validator, and its label, tip, placeholder and error in the locale', () => {
    const html = fs.readFileSync(path.join(NODE_DIR, 'plantsync-endpoint.html'), 'utf8');
    assert.match(html, /timeZone: \{\s*value: 'UTC',\s*validate:/);
    assert.match(html, /id="node-config-input-timeZone"/);
    const locale = JSON.parse(fs.readFileSync(path.join(NODE_DIR, 'locales/en-US/plantsync-endpoint.json'), 'utf8'))['plantsync-endpoint'];
    for (const group of ['label', 'tip', 'placeholder', 'errors']) assert.equal(typeof locale[group].timeZone, 'string', `${group}.timeZone`);
    const help = fs.readFileSync(path.join(NODE_DIR, 'locales/en-US/plantsync-endpoint.html'), 'utf8');
    assert.match(help, /<b>Plant time zone<\/b>/);
  });
});
