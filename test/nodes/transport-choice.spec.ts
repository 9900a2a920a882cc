/**
 * Publish and consume nodes say which transport they use (node status and one log line per
 * start), and a selected broker that is not deployed or is misconfigured is an error, never a
 * quiet fallback to PLANTSYNC_AMQP_URL or the local bus. No RabbitMQ needed: the AMQP addresses
 * point at a closed port, which is enough to see the names and to prove nothing else is used.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocalBus } from '../../lib/transport/local-bus';
import { catalogueText, translating } from '../helpers/catalogue';
import { collect, helper, type TestNode } from '../helpers/node-helper';
import { transportSandbox } from '../helpers/transport-flow';
import { makeEvent, waitFor } from '../transport/util';
import brokerNode from '../../nodes/plantsync-broker/plantsync-broker';
import publishNode from '../../nodes/plantsync-publish/plantsync-publish';
import consumeNode from '../../nodes/plantsync-consume/plantsync-consume';

const NODES = translating([brokerNode, publishNode, consumeNode]).nodes;
/** Nothing listens on port 1: connections are refused at once. */
const CLOSED = '127.0.0.1:1';

type Status = { fill?: string; shape?: string; text?: string };
interface LogEntry { level: number; id?: string; msg: unknown }

// Node-RED's runtime events: every status, including those set while a node is constructed.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeEvents = (require('@node-red/util') as { events: NodeJS.EventEmitter }).events;

describe('publish and consume name their transport; a selected broker that is missing or broken is an error', function () {
  this.timeout(30000);
  const at = { z: 'f1', x: 100, y: 100 };
  const statuses = new Map<string, Status[]>();
  const onStatus = (e: { id: string; status: Status }) => statuses.set(e.id, [...(statuses.get(e.id) ?? []), e.status]);
  const last = (id: string): Status => statuses.get(id)?.at(-1) ?? {};
  const node = (id: string) => helper.getNode(id) as TestNode;
  const busFile = () => path.join(sandbox.dir, 'plantsync', 'bus.db');
  const logs = (id: string, level: number) => helper.log().getCalls().map((c) => c.args[0] as LogEntry).filter((e) => e.id === id && e.level === level).map((e) => String(e.msg));
  const infos = (id: string) => logs(id, 40);
  const errors = (id: string) => logs(id, 20);

  before(() => helper.startServer());
  after(() => helper.stopServer());
  const sandbox = transportSandbox('plantsync-choice-', { retryTiers: null });
  beforeEach(() => {
    statuses.clear();
    runtimeEvents.on('node-status', onStatus);
  });
  afterEach(() => {
    runtimeEvents.off('node-status', onStatus);
  });

  const publishAndConsume = (broker: string | undefined, group: string) => [
    { id: 'f1', type: 'tab' },
    { id: 'pub', type: 'plantsync-publish', broker, outbox: true, wires: [[]], ...at },
    { id: 'con', type: 'plantsync-consume', broker, group, closeTimeout: 1, wires: [[], []], ...at },
    { id: 'c', type: 'catch', scope: ['pub', 'con'], uncaught: false, wires: [['caught']], ...at },
    { id: 'caught', type: 'helper', ...at },
  ];

  /** A bus file with group `watch` bound to every event: a publish that reached the bus would wait there. */
  async function watchedBus(): Promise<void> {
    const bus = new LocalBus(busFile());
    try {
      await bus.bind('watch');
    } finally {
      await bus.close();
    }
  }

  async function busState() {
    const bus = new LocalBus(busFile());
    try {
      return { groups: bus.groups(), watch: bus.stats('watch') };
    } finally {
      await bus.close();
    }
  }

  /** Sends 3 events to the publish node and a replay to the consume node; each must come back as CONFIG_ERROR. */
  async function everyMessageRefused(naming: RegExp): Promise<void> {
    const caught = collect(node('caught'));
    for (let i = 0; i < 3; i++) node('pub').receive({ payload: makeEvent(i) });
    node('con').receive({ topic: 'replay', payload: { all: true } });
    await waitFor(() => caught.length === 4, 10000, 'four messages refused');
    for (const m of caught) {
      const error = m.error as { code: string; message: string };
      assert.equal(error.code, 'CONFIG_ERROR');
      assert.match(error.message, naming);
    }
  }

  it('no broker and no PLANTSYNC_AMQP_URL: the status shows the local bus file, the log names its full path once per start', async () => {
    await helper.load(NODES, publishAndConsume(undefined, 'orders'));
    await waitFor(() => last('con').fill === 'green' && last('pub').fill === 'green', 10000, 'both ready');
    const shown = `local bus ${path.join('plantsync', 'bus.db')}`;
    assert.equal(last('pub').text, shown);
    assert.equal(last('con').text, `${shown} · 0 in flight · 0 acked · 0 retried · 0 parked`);
    assert.deepEqual(infos('pub'), [`publishes through the local bus ${busFile()} (no broker selected, PLANTSYNC_AMQP_URL unset)`]);
    assert.deepEqual(infos('con'), [`consumes through the local bus ${busFile()} (no broker selected, PLANTSYNC_AMQP_URL unset)`]);
  });

  it('PLANTSYNC_AMQP_URL: the status and the log name its host and never its password; the publish node opens its outbox', async () => {
    process.env.PLANTSYNC_AMQP_URL = `amqp://guest:s3cret@${CLOSED}`;
    await helper.load(NODES, publishAndConsume(undefined, 'orders'));
    const named = `${CLOSED} (PLANTSYNC_AMQP_URL)`;
    await waitFor(() => (last('pub').text ?? '').includes(named) && (last('con').text ?? '').includes(named), 10000, 'statuses naming the URL host');
    assert.match(last('con').text ?? '', /^(connecting|reconnecting) to 127\.0\.0\.1:1 \(PLANTSYNC_AMQP_URL\)/);
    assert.deepEqual(infos('pub'), [`publishes through RabbitMQ at ${CLOSED} (PLANTSYNC_AMQP_URL, no broker selected)`]);
    assert.deepEqual(infos('con'), [`consumes through RabbitMQ at ${CLOSED} (PLANTSYNC_AMQP_URL, no broker selected)`]);
    assert.doesNotMatch(JSON.stringify([...statuses.values(), helper.log().args]), /s3cret/);
    // What a quiet fallback to this URL would leave behind (see the missing-broker test).
    assert.ok(fs.existsSync(path.join(sandbox.dir, 'plantsync', 'outbox-pub.db')));
    assert.ok(!fs.existsSync(busFile()), 'no local bus');
  });

  it('a broker config node: the status names the broker, the log its name and host', async () => {
    await helper.load(NODES, [
      ...publishAndConsume('b', 'orders'),
      { id: 'b', type: 'plantsync-broker', name: 'plant broker', url: `amqp://${CLOSED}`, reconnectMs: [100, 500] },
    ]);
    await waitFor(() => /^(connecting|reconnecting) to plant broker/.test(last('con').text ?? '') && /^(connecting|reconnecting) to plant broker/.test(last('pub').text ?? ''), 10000, 'statuses naming the broker');
    assert.deepEqual(infos('pub'), [`publishes through the RabbitMQ broker plant broker (${CLOSED})`]);
    assert.deepEqual(infos('con'), [`consumes through the RabbitMQ broker plant broker (${CLOSED})`]);
  });

  it('a selected broker that is not deployed: red ring, an error naming it, CONFIG_ERROR for every message; nothing reaches the local bus or PLANTSYNC_AMQP_URL', async () => {
    await watchedBus();
    process.env.PLANTSYNC_AMQP_URL = `amqp://guest:guest@${CLOSED}`;
    await helper.load(NODES, publishAndConsume('b-gone', 'orders'));

    for (const [id, type] of [['pub', 'plantsync-publish'], ['con', 'plantsync-consume']]) {
      assert.deepEqual(statuses.get(id), [{ fill: 'red', shape: 'ring', text: `${type}.status.brokerMissing` }], `${id}: one red ring, never a transport`);
      assert.ok(catalogueText(`${type}.status.brokerMissing`), 'a catalogue key the editor translates');
      assert.equal(errors(id).length, 1, `${id}: one error at start`);
      assert.match(errors(id)[0], /^cannot (publish|consume): the plantsync-broker config node b-gone selected in the Broker field is not deployed \(deleted, disabled or not imported\)/);
      assert.deepEqual(infos(id), [], `${id}: no transport in use`);
    }
    await everyMessageRefused(/config node b-gone .* not deployed/);

    // Neither a local bus publish (group "watch" takes every event) nor a local consumer (it
    // would bind its group "orders"), nor the URL (the publish node would have opened its outbox).
    assert.deepEqual(await busState(), { groups: { watch: ['#'] }, watch: { ready: 0, inFlight: 0, delayed: 0, parked: 0 } });
    assert.deepEqual(fs.readdirSync(path.join(sandbox.dir, 'plantsync')).filter((f) => f.startsWith('outbox-')), []);
  });

  it('a selected broker config node that is disabled counts as not deployed: red ring and CONFIG_ERROR, nothing on the local bus', async () => {
    await watchedBus();
    await helper.load(NODES, [
      ...publishAndConsume('b', 'orders'),
      { id: 'b', type: 'plantsync-broker', name: 'plant broker', url: `amqp://${CLOSED}`, d: true },
    ]);
    assert.deepEqual(statuses.get('pub'), [{ fill: 'red', shape: 'ring', text: 'plantsync-publish.status.brokerMissing' }]);
    await everyMessageRefused(/config node b .* not deployed \(deleted, disabled or not imported\)/);
    assert.deepEqual(await busState(), { groups: { watch: ['#'] }, watch: { ready: 0, inFlight: 0, delayed: 0, parked: 0 } });
  });

  it('a selected broker that is misconfigured: red ring, an error with its own reason, CONFIG_ERROR for every message; nothing reaches the local bus', async () => {
    await watchedBus();
    await helper.load(NODES, [
      ...publishAndConsume('b', 'orders'),
      { id: 'b', type: 'plantsync-broker', name: 'plant broker', url: 'http://localhost:5672' },
    ]);
    for (const [id, type] of [['pub', 'plantsync-publish'], ['con', 'plantsync-consume']]) {
      assert.deepEqual(statuses.get(id), [{ fill: 'red', shape: 'ring', text: `${type}.status.brokerBroken` }], id);
      assert.match(errors(id)[0] ?? '', /config node "plant broker" \(b\) selected in the Broker field is misconfigured: broker URL .* must start with amqp:\/\/ or amqps:\/\//);
    }
    await everyMessageRefused(/"plant broker" \(b\) .* misconfigured/);
    assert.deepEqual(await busState(), { groups: { watch: ['#'] }, watch: { ready: 0, inFlight: 0, delayed: 0, parked: 0 } });
  });
});
