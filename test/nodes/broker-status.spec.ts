/**
 * Status fan-out of plantsync-broker to its publish and consume nodes across a broker stop and
 * start (a private RabbitMQ of this file), store-and-forward while it is down, and configuration
 * errors.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { queuesOf, resolveTopology } from '../../lib/transport/topology';
import { collect, helper, nextMessage, type TestNode } from '../helpers/node-helper';
import { startRabbit, uniqueName, type RabbitServer } from '../helpers/rabbitmq';
import { Admin, makeEvent, waitFor } from '../transport/util';
import { parseRetryTiers } from '../../lib/transport/retry-tiers';
import brokerNode from '../../nodes/plantsync-broker/plantsync-broker';
import publishNode from '../../nodes/plantsync-publish/plantsync-publish';
import consumeNode from '../../nodes/plantsync-consume/plantsync-consume';
import completeNode from '../../nodes/plantsync-idempotency-complete/plantsync-idempotency-complete';

const NODES = [brokerNode, publishNode, consumeNode, completeNode];
type Status = { fill?: string; shape?: string; text?: string };

/** Every status a node sets, in order. */
function statuses(node: TestNode): Status[] {
  const out: Status[] = [];
  node.on('call:status', (call: { args: unknown[] }) => out.push(call.args[0] as Status));
  return out;
}

const last = (list: Status[]) => list[list.length - 1] ?? {};
const is = (fill: string, shape: string) => (list: Status[]) => last(list).fill === fill && last(list).shape === shape;

describe('broker nodes: status and store-and-forward across a broker restart (private RabbitMQ)', function () {
  this.timeout(120000);
  let rabbit: RabbitServer;
  let dir: string;
  const node = (id: string) => helper.getNode(id) as TestNode;

  before(async () => {
    rabbit = await startRabbit();
    await helper.startServer();
  });
  after(async () => {
    await helper.stopServer();
    await rabbit?.stop();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-broker-status-'));
    helper.settings({ userDir: dir });
  });
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('green dot connected, yellow ring reconnecting while the broker is down, green again; the outbox buffers and drains', async () => {
    const exchange = uniqueName('ex');
    const group = uniqueName('grp');
    const at = { z: 'f1', x: 100, y: 100 };
    await helper.load(NODES, [
      { id: 'f1', type: 'tab' },
      // A full URL as a credential (password inside it).
      { id: 'b', type: 'plantsync-broker', heartbeat: 2, exchange, retryTiers: '300ms', reconnectMs: [100, 500] },
      { id: 'pub', type: 'plantsync-publish', broker: 'b', timeout: 10, wires: [['published']], ...at },
      { id: 'con', type: 'plantsync-consume', broker: 'b', group, closeTimeout: 1, wires: [['ok'], []], ...at },
      { id: 'ok', type: 'plantsync-idempotency-complete', action: 'complete', wires: [['settled']], ...at },
      ...['published', 'settled'].map((id) => ({ id, type: 'helper', ...at })),
    ], { b: { fullUrl: rabbit.url } });
    const pubStatus = statuses(node('pub'));
    const conStatus = statuses(node('con'));
    const settled = collect(node('settled'));

    await waitFor(() => is('green', 'dot')(pubStatus) && is('green', 'dot')(conStatus), 15000, 'both connected');
    let published = nextMessage(node('published'));
    node('pub').receive({ payload: makeEvent(1) });
    await published;
    await waitFor(() => settled.length === 1, 10000, 'first event consumed and acked');

    await rabbit.stopBroker();
    await waitFor(() => is('yellow', 'ring')(pubStatus) && is('yellow', 'ring')(conStatus), 15000, 'both reconnecting');
    assert.match(last(conStatus).text ?? '', /reconnecting/);

    // Broker down: the publish completes once the event is in the outbox, and the status shows the backlog.
    published = nextMessage(node('published'));
    node('pub').receive({ payload: makeEvent(2) });
    await published;
    await waitFor(() => /buffering/.test(last(pubStatus).text ?? ''), 5000, 'buffering status');
    assert.ok(fs.existsSync(path.join(dir, 'plantsync', 'outbox-pub.db')), 'outbox under <userDir>/plantsync');

    await rabbit.startBroker();
    await waitFor(() => is('green', 'dot')(pubStatus) && is('green', 'dot')(conStatus), 30000, 'both connected again');
    await waitFor(() => settled.length === 2, 20000, 'the buffered event forwarded and consumed');

    const admin = await Admin.open(rabbit.url);
    try {
      for (const q of queuesOf(resolveTopology({ group, exchange, retryTiersMs: [300] }))) assert.equal(await admin.count(q), 0, q);
    } finally {
      await admin.close();
    }
  });

  it('while the broker is down the outbox holds at most its capacity: later publishes fail with OUTBOX_FULL, event intact; the held ones arrive after', async () => {
    const exchange = uniqueName('ex');
    const group = uniqueName('grp');
    const at = { z: 'f1', x: 100, y: 100 };
    await helper.load(NODES, [
      { id: 'f1', type: 'tab' },
      { id: 'b', type: 'plantsync-broker', heartbeat: 2, exchange, retryTiers: '300ms', reconnectMs: [100, 500] },
      { id: 'pub', type: 'plantsync-publish', broker: 'b', outbox: true, outboxCapacity: 5, timeout: 10, wires: [['published']], ...at },
      { id: 'c', type: 'catch', scope: ['pub'], uncaught: false, wires: [['caught']], ...at },
      { id: 'con', type: 'plantsync-consume', broker: 'b', group, closeTimeout: 1, wires: [['ok'], []], ...at },
      { id: 'ok', type: 'plantsync-idempotency-complete', action: 'complete', wires: [['settled']], ...at },
      ...['published', 'caught', 'settled'].map((id) => ({ id, type: 'helper', ...at })),
    ], { b: { fullUrl: rabbit.url } });
    const conStatus = statuses(node('con'));
    const pubStatus = statuses(node('pub'));
    await waitFor(() => is('green', 'dot')(conStatus), 15000, 'consumer connected');
    const published = collect(node('published'));
    const caught = collect(node('caught'));
    const settled = collect(node('settled'));

    await rabbit.stopBroker();
    await waitFor(() => is('yellow', 'ring')(pubStatus), 15000, 'publisher reconnecting');
    const events = Array.from({ length: 8 }, (_, i) => makeEvent(i));
    for (const e of events) node('pub').receive({ payload: e });
    await waitFor(() => published.length + caught.length === 8, 10000, 'all 8 publishes answered');
    assert.equal(published.length, 5, 'five held by the outbox');
    assert.equal(caught.length, 3, 'three refused');
    for (const m of caught) {
      assert.equal((m.error as { code: string }).code, 'OUTBOX_FULL');
      assert.ok(events.some((e) => e.id === (m.payload as { id: string }).id), 'the refused event is intact on the message');
    }

    await rabbit.startBroker();
    await waitFor(() => settled.length === 5, 30000, 'the five held events forwarded and consumed');
    assert.deepEqual(new Set(settled.map((m) => (m.payload as { id: string }).id)), new Set(published.map((m) => (m.payload as { id: string }).id)));
  });

  it('a broken configuration shows a red ring and fails messages with CONFIG_ERROR; retry tiers parse with units', async () => {
    assert.deepEqual(parseRetryTiers('1s,10s,60s'), [1000, 10000, 60000]);
    assert.deepEqual(parseRetryTiers('500ms, 2m, 5'), [500, 120000, 5000]);
    assert.deepEqual(parseRetryTiers(''), [1000, 10000, 60000]);
    assert.throws(() => parseRetryTiers('soon'), /not a duration/);

    const at = { z: 'f1', x: 100, y: 100 };
    await helper.load(NODES, [
      { id: 'f1', type: 'tab' },
      { id: 'b', type: 'plantsync-broker', url: 'http://localhost:5672', retryTiers: '1s' },
      { id: 'pub', type: 'plantsync-publish', broker: 'b', wires: [[]], ...at },
      { id: 'c', type: 'catch', scope: ['pub'], uncaught: false, wires: [['caught']], ...at },
      { id: 'caught', type: 'helper', ...at },
    ]);
    const caught = nextMessage(node('caught'));
    node('pub').receive({ payload: makeEvent(1) });
    const msg = await caught;
    assert.equal((msg.error as { code: string }).code, 'CONFIG_ERROR');
  });

  it('refuses a user or password in the URL field (it is saved in the flow JSON), with CONFIG_ERROR naming the right place', async () => {
    const at = { z: 'f1', x: 100, y: 100 };
    await helper.load(NODES, [
      { id: 'f1', type: 'tab' },
      { id: 'b', type: 'plantsync-broker', url: `amqp://guest:guest@127.0.0.1:${new URL(rabbit.url).port}` },
      { id: 'pub', type: 'plantsync-publish', broker: 'b', wires: [[]], ...at },
      { id: 'c', type: 'catch', scope: ['pub'], uncaught: false, wires: [['caught']], ...at },
      { id: 'caught', type: 'helper', ...at },
    ]);
    const caught = nextMessage(node('caught'));
    node('pub').receive({ payload: makeEvent(1) });
    const error = (await caught).error as { code: string; message: string };
    assert.equal(error.code, 'CONFIG_ERROR');
    assert.match(error.message, /URL field must not contain a user or password/);
  });

  it('an outbox file that cannot be opened: CONFIG_ERROR per message, and the broker connection is given back at once on close', async () => {
    // <userDir>/plantsync is a file, so the outbox folder cannot be made.
    fs.writeFileSync(path.join(dir, 'plantsync'), 'not a folder');
    const at = { z: 'f1', x: 100, y: 100 };
    await helper.load(NODES, [
      { id: 'f1', type: 'tab' },
      { id: 'b', type: 'plantsync-broker', reconnectMs: [100, 500] },
      { id: 'pub', type: 'plantsync-publish', broker: 'b', outbox: true, wires: [[]], ...at },
      { id: 'c', type: 'catch', scope: ['pub'], uncaught: false, wires: [['caught']], ...at },
      { id: 'caught', type: 'helper', ...at },
    ], { b: { fullUrl: rabbit.url } });
    const caught = nextMessage(node('caught'));
    node('pub').receive({ payload: makeEvent(1) });
    assert.equal(((await caught).error as { code: string }).code, 'CONFIG_ERROR');
    const started = Date.now();
    await helper.unload();
    // The config node waits (up to 12 s) for users still holding the connection: none is left.
    assert.ok(Date.now() - started < 5000, `closed in ${Date.now() - started} ms`);
  });
});
