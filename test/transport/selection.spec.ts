/**
 * Transport selection as a pure function: the node's Broker field as found, the environment and
 * the user directory in, the transport (or the reason there is none) out. A selected broker is
 * used or refused, never replaced by PLANTSYNC_AMQP_URL or the local bus.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { selectTransport, type SelectionInput, type TransportChoice } from '../../lib/transport/selection';

const USER_DIR = path.resolve('/srv/node-red');
const ENV_URL = 'amqp://plant:s3cret@rabbit.p100.local:5672/plant';

function choice(input: Partial<SelectionInput>): TransportChoice {
  const { choice, error } = selectTransport({ env: {}, userDir: USER_DIR, ...input });
  assert.ok(choice, `expected a transport, got ${JSON.stringify(error)}`);
  return choice;
}

function refusal(input: Partial<SelectionInput>) {
  const { choice, error } = selectTransport({ env: {}, userDir: USER_DIR, ...input });
  assert.ok(error, `expected a refusal, got ${JSON.stringify(choice)}`);
  return error;
}

describe('transport selection (pure)', () => {
  describe('no broker selected', () => {
    it('without PLANTSYNC_AMQP_URL: the local bus file <userDir>/plantsync/bus.db, named relative to the user directory, default tiers', () => {
      assert.deepEqual(choice({}), { kind: 'localBus', file: path.join(USER_DIR, 'plantsync', 'bus.db'), label: path.join('plantsync', 'bus.db'), retryTiersMs: [1000, 10000, 60000] });
    });

    it('PLANTSYNC_BUS_FILE is resolved against the user directory; a file outside it is named by its absolute path', () => {
      const moved = choice({ env: { PLANTSYNC_BUS_FILE: 'elsewhere/events.db' } });
      assert.equal(moved.kind === 'localBus' && moved.file, path.join(USER_DIR, 'elsewhere', 'events.db'));
      assert.equal(moved.label, path.join('elsewhere', 'events.db'));
      const outside = path.resolve('/var/lib/plantsync/bus.db');
      assert.equal(choice({ env: { PLANTSYNC_BUS_FILE: outside } }).label, outside);
    });

    it('PLANTSYNC_AMQP_URL: RabbitMQ at that URL, named by its host only (the URL holds the password)', () => {
      const c = choice({ env: { PLANTSYNC_AMQP_URL: ` ${ENV_URL} `, PLANTSYNC_RETRY_TIERS: '200ms,5s' } });
      assert.equal(c.kind, 'amqpUrl');
      assert.equal(c.label, 'rabbit.p100.local:5672');
      assert.ok(c.kind === 'amqpUrl');
      assert.equal(c.connection.url, ENV_URL);
      assert.equal(c.connection.tls, undefined);
      assert.deepEqual(c.retryTiersMs, [200, 5000]);
      assert.doesNotMatch(JSON.stringify({ ...c, connection: undefined }), /s3cret/);
    });

    it('an amqps:// PLANTSYNC_AMQP_URL verifies the server certificate against the URL host', () => {
      const c = choice({ env: { PLANTSYNC_AMQP_URL: 'amqps://rabbit.p100.local' } });
      assert.ok(c.kind === 'amqpUrl');
      assert.deepEqual(c.connection.tls, { rejectUnauthorized: true, servername: 'rabbit.p100.local' });
    });

    it('a PLANTSYNC_AMQP_URL that is not amqp(s) or not a URL is refused, naming the variable and never the password', () => {
      const wrong = refusal({ env: { PLANTSYNC_AMQP_URL: 'http://user:s3cret@127.0.0.1:1' } });
      assert.equal(wrong.reason, 'envInvalid');
      assert.match(wrong.message, /PLANTSYNC_AMQP_URL must start with amqp:\/\/ or amqps:\/\/, got http:/);
      const garbled = refusal({ env: { PLANTSYNC_AMQP_URL: '//guest:s3cret@rabbit' } });
      assert.match(garbled.message, /PLANTSYNC_AMQP_URL is not a URL/);
      assert.doesNotMatch(wrong.message + garbled.message, /s3cret/);
    });

    it('a bad PLANTSYNC_RETRY_TIERS is refused, naming the variable, for the local bus as for the URL', () => {
      assert.match(refusal({ env: { PLANTSYNC_RETRY_TIERS: 'soon' } }).message, /^PLANTSYNC_RETRY_TIERS: retry tier "soon" is not a duration/);
      assert.equal(refusal({ env: { PLANTSYNC_RETRY_TIERS: 'soon', PLANTSYNC_AMQP_URL: ENV_URL } }).reason, 'envInvalid');
    });
  });

  describe('a broker selected', () => {
    const env = { PLANTSYNC_AMQP_URL: ENV_URL, PLANTSYNC_RETRY_TIERS: 'not tiers' };

    it('a deployed, valid broker is used whatever the environment says, named by its name', () => {
      assert.deepEqual(choice({ env, broker: { id: 'b1', found: true, name: 'plant broker', url: 'amqp://u:p@10.1.2.3:5672' } }), {
        kind: 'broker', brokerId: 'b1', label: 'plant broker', host: '10.1.2.3:5672',
      });
    });

    it('an unnamed broker is named by its host', () => {
      assert.equal(choice({ broker: { id: 'b1', found: true, url: 'amqps://rabbit.p100.local:5671' } }).label, 'rabbit.p100.local:5671');
    });

    it('a broker that is not deployed is refused, naming its id and saying nothing goes elsewhere, even with PLANTSYNC_AMQP_URL set', () => {
      const error = refusal({ env, broker: { id: 'b-gone', found: false } });
      assert.equal(error.reason, 'brokerMissing');
      assert.match(error.message, /plantsync-broker config node b-gone selected in the Broker field is not deployed/);
      assert.match(error.message, /nothing is sent to PLANTSYNC_AMQP_URL or the local bus instead/);
      assert.equal(refusal({ broker: { id: 'b-gone', found: false } }).reason, 'brokerMissing', 'and without it: no local bus either');
    });

    it('a misconfigured broker is refused with its own configuration error', () => {
      const error = refusal({ env, broker: { id: 'b1', found: true, name: 'plant broker', configError: 'broker URL must start with amqp:// or amqps://' } });
      assert.equal(error.reason, 'brokerBroken');
      assert.equal(error.message, 'the plantsync-broker config node "plant broker" (b1) selected in the Broker field is misconfigured: broker URL must start with amqp:// or amqps://');
    });
  });
});
