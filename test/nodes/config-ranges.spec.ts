/**
 * Out-of-range settings of the broker and store config nodes are refused at deploy, whatever
 * the editor allowed (flows also come from git through the Admin API): one log line that names
 * the setting and its range, and the nodes using them fail with CONFIG_ERROR.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createEvent } from '../../lib';
import brokerNode from '../../nodes/plantsync-broker/plantsync-broker';
import idempotencyNode from '../../nodes/plantsync-idempotency/plantsync-idempotency';
import publishNode from '../../nodes/plantsync-publish/plantsync-publish';
import storeNode from '../../nodes/plantsync-store/plantsync-store';
import type { PlantSyncBrokerNode } from '../../nodes/shared/broker-node';
import type { PlantSyncStoreNode } from '../../nodes/shared/store-node';
import { helper, nextFrom, type TestNode } from '../helpers/node-helper';

interface LogEntry { level: number; id?: string; msg: unknown }
const errorsOf = (id: string): LogEntry[] =>
  helper.log().getCalls().map((c) => c.args[0] as LogEntry).filter((e) => e.id === id && e.level === 20);

const event = () => createEvent({
  type: 'mfg.material.consumed.v2', source: '/plants/P100/mes', siteid: 'P100',
  data: { movementId: 'MV-0000881', orderId: '1000124', operationId: '0010', material: 'RM-100-STEEL', quantity: { value: 12.5, uom: 'KG' }, site: 'P100', storageLocation: '0001' },
});

describe('broker and store settings checked at deploy', function () {
  this.timeout(20000);
  const at = { z: 'f1', x: 100, y: 100 };
  const savedUrl = process.env.AMQP_URL;
  let dir: string;

  before(() => helper.startServer());
  after(async () => {
    if (savedUrl === undefined) delete process.env.AMQP_URL;
    else process.env.AMQP_URL = savedUrl;
    await helper.stopServer();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-ranges-'));
  });
  afterEach(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function send(id: string) {
    const got = nextFrom([helper.getNode('out') as TestNode, helper.getNode('caught') as TestNode]);
    (helper.getNode(id) as TestNode).receive({ payload: event() });
    return got;
  }

  async function deployBroker(broker: Record<string, unknown>) {
    await helper.load([brokerNode, publishNode], [
      { id: 'f1', type: 'tab' },
      { id: 'b', type: 'plantsync-broker', url: 'amqp://127.0.0.1:1', exchange: 'plantsync.events', ...broker },
      { id: 'p', type: 'plantsync-publish', broker: 'b', outbox: false, timeout: 1, wires: [['out']], ...at },
      { id: 'c', type: 'catch', scope: ['p'], uncaught: false, wires: [['caught']], ...at },
      { id: 'out', type: 'helper', ...at },
      { id: 'caught', type: 'helper', ...at },
    ]);
    return helper.getNode('b') as unknown as PlantSyncBrokerNode;
  }

  it('broker: a negative heartbeat and a zero prefetch are one logged line, no connection, publishes fail with CONFIG_ERROR', async () => {
    const broker = await deployBroker({ heartbeat: -1, prefetch: 0 });
    assert.equal(broker.connection, undefined, 'no connection attempt with a broken configuration');
    assert.equal(broker.configError,
      'prefetch must be a whole number from 1 to 65535, got 0; heartbeat must be a whole number from 0 to 600 s (0: off), got -1');
    const logged = errorsOf('b');
    assert.equal(logged.length, 1);
    // The line is the catalogue's "broker configuration: __message__" (the test runtime has no catalogues).
    assert.equal(typeof logged[0].msg, 'string', 'a message, not an Error with a stack');
    assert.doesNotMatch(String(logged[0].msg), /\n/);
    const got = await send('p');
    assert.equal(got.node.id, 'caught');
    assert.equal((got.msg.error as { code: string }).code, 'CONFIG_ERROR');
    assert.match((got.msg.error as { message: string }).message, /prefetch must be/);
  });

  it('broker: an unset ${AMQP_URL} names the variable; retry tiers past 24 h are refused', async () => {
    delete process.env.AMQP_URL;
    let broker = await deployBroker({ url: '${AMQP_URL}' });
    assert.equal(broker.configError, 'broker URL empty: set AMQP_URL');
    await helper.unload();
    broker = await deployBroker({ retryTiers: '1s,48h' });
    assert.equal(broker.configError, 'retry tier "48h" must be from 1 ms to 24 h');
  });

  it('broker: values in range give a usable broker', async () => {
    const broker = await deployBroker({ heartbeat: 0, prefetch: 65535 });
    assert.equal(broker.configError, undefined);
    assert.equal(broker.prefetch, 65535);
    assert.ok(broker.connection);
  });

  async function deployStore(store: Record<string, unknown>) {
    await helper.load([storeNode, idempotencyNode], [
      { id: 'f1', type: 'tab' },
      { id: 's', type: 'plantsync-store', kind: 'sqlite', file: path.join(dir, 'plantsync.db'), ...store },
      { id: 'i', type: 'plantsync-idempotency', store: 's', keyType: 'auto', leaseSeconds: 60, wires: [['out'], ['out'], ['out']], ...at },
      { id: 'c', type: 'catch', scope: ['i'], uncaught: false, wires: [['caught']], ...at },
      { id: 'out', type: 'helper', ...at },
      { id: 'caught', type: 'helper', ...at },
    ]);
    return helper.getNode('s') as unknown as PlantSyncStoreNode;
  }

  it('store: a negative retention are refused at deploy and the guard fails with CONFIG_ERROR; dead letters stay usable', async () => {
    const store = await deployStore({ retentionDays: -5 });
    assert.equal(store.configError, 'retention must be a number from 0.01 to 3650 days, got -5');
    assert.equal(errorsOf('s').length, 1);
    assert.equal(errorsOf('s')[0].msg, store.configError);
    const got = await send('i');
    assert.equal(got.node.id, 'caught');
    assert.equal((got.msg.error as { code: string }).code, 'CONFIG_ERROR');
    assert.equal(store.deadLetters().count(), 0, 'parking does not depend on the retention setting');
  });

  it('store: a retention in range claim keys as before', async () => {
    const store = await deployStore({ retentionDays: 0.5 });
    assert.equal(store.configError, undefined);
    const got = await send('i');
    assert.equal(got.node.id, 'out', JSON.stringify(got.msg.error));
  });
});
