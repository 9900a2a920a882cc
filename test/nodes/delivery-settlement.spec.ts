/**
 * Settling consumed deliveries with the nodes named for what they settle, on the embedded local
 * bus (no broker): the guard acks a duplicate and parks a conflict itself, "settle claim" and
 * "settle delivery" split what "settle claim + delivery" does in one, the first of two settle
 * nodes wins, and a flow saved by the previous version (a settle node on the duplicate output,
 * no settleDelivery property) behaves as before.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocalBus } from '../../lib/transport/local-bus';
import { HEADERS } from '../../lib/transport/message';
import { collect, helper, lastStatus, nextMessage, type TestNode } from '../helpers/node-helper';
import { REPO_ROOT } from '../helpers/paths';
import { uniqueName } from '../helpers/rabbitmq';
import { runConsumeAndPostExample, transportSandbox, work, workerNode, type DeliveredMsg } from '../helpers/transport-flow';
import { makeEvent, waitFor } from '../transport/util';
import publishNode from '../../nodes/plantsync-publish/plantsync-publish';
import consumeNode from '../../nodes/plantsync-consume/plantsync-consume';
import storeNode from '../../nodes/plantsync-store/plantsync-store';
import idempotencyNode from '../../nodes/plantsync-idempotency/plantsync-idempotency';
import completeNode from '../../nodes/plantsync-idempotency-complete/plantsync-idempotency-complete';
import settleDeliveryNode from '../../nodes/plantsync-settle-delivery/plantsync-settle-delivery';

const NODES = [publishNode, consumeNode, storeNode, idempotencyNode, completeNode, settleDeliveryNode, workerNode];
const DRAINED = { ready: 0, inFlight: 0, delayed: 0, parked: 0 };
const OLD_FLOW = path.join(REPO_ROOT, 'test', 'fixtures', 'flows', 'local-bus-consume-post.saved-0.1.0.json');

type Msg = Record<string, unknown> & { plantsync: { delivery: { settled?: string }; idempotency?: { status: string } } };

describe('settling consumed deliveries: settle claim, settle delivery, and the guard on duplicates and conflicts (local bus)', function () {
  this.timeout(60000);
  let group: string;
  const node = (id: string) => helper.getNode(id) as TestNode;
  const at = { z: 'f1', x: 100, y: 100 };

  before(() => helper.startServer());
  after(() => helper.stopServer());
  const sandbox = transportSandbox('plantsync-settle-');
  beforeEach(() => {
    group = uniqueName('settle');
    work.reset();
  });

  const consume = (wires: string[][]) => ({
    id: 'con', type: 'plantsync-consume', group, bindingKeys: 'mfg.operation.completed.*.P100', maxAttempts: 3, settleTimeout: 30, closeTimeout: 2, wires, ...at,
  });
  const publisher = { id: 'pub', type: 'plantsync-publish', outbox: true, timeout: 10, wires: [['published']], ...at };

  /**
   * The new wiring: guard -> work -> settle claim -> settle delivery; a Catch -> settle claim
   * (failure) -> settle delivery (failure). The guard's duplicate and conflict outputs end in
   * plain helper nodes: no settle node there.
   */
  function splitFlow() {
    return [
      { id: 'f1', type: 'tab' },
      { id: 's', type: 'plantsync-store', kind: 'sqlite', file: path.join(sandbox.dir, 'plantsync.db'), retentionDays: 7 },
      publisher,
      consume([['guard'], ['replayed']]),
      { id: 'guard', type: 'plantsync-idempotency', store: 's', keyType: 'auto', leaseSeconds: 60, wires: [['work'], ['dup'], ['conf']], ...at },
      { id: 'work', type: 'test-worker', wires: [['claim'], ['claimbad']], ...at },
      { id: 'claim', type: 'plantsync-idempotency-complete', action: 'complete', settleDelivery: false, wires: [['deliver']], ...at },
      { id: 'deliver', type: 'plantsync-settle-delivery', action: 'ack', wires: [['after']], ...at },
      { id: 'claimbad', type: 'plantsync-idempotency-complete', action: 'failure', settleDelivery: false, wires: [['deliverbad']], ...at },
      { id: 'deliverbad', type: 'plantsync-settle-delivery', action: 'failure', wires: [['afterbad']], ...at },
      { id: 'c', type: 'catch', scope: ['guard', 'claim', 'deliver'], uncaught: false, wires: [['claimbad']], ...at },
      ...['published', 'replayed', 'dup', 'conf', 'after', 'afterbad'].map((id) => ({ id, type: 'helper', ...at })),
    ];
  }

  async function load(flow: unknown[]): Promise<void> {
    await helper.load(NODES, flow);
    const status = lastStatus(node('con'));
    await waitFor(() => status()?.fill === 'green', 15000, 'consumer ready');
  }

  async function publish(...events: Array<Record<string, unknown>>): Promise<void> {
    const published = collect(node('published'));
    for (const e of events) node('pub').receive({ payload: e });
    await waitFor(() => published.length === events.length, 15000, `${events.length} published`);
  }

  /** The bus as another process sees it. */
  async function busStats() {
    const bus = new LocalBus(path.join(sandbox.dir, 'plantsync', 'bus.db'));
    try {
      return bus.stats(group);
    } finally {
      await bus.close();
    }
  }

  it('a duplicate is acked by the guard: no settle node on the duplicate output, nothing left in flight', async () => {
    await load(splitFlow());
    const event = makeEvent(1);
    const done = nextMessage(node('after'), 10000);
    await publish(event);
    const first = (await done) as Msg;
    assert.equal(first.plantsync.delivery.settled, 'acked', 'settle delivery acked the new fact');

    const dup = nextMessage(node('dup'), 10000);
    await publish({ ...event, id: `${event.id}-again` });
    const duplicate = (await dup) as Msg;
    assert.equal(duplicate.plantsync.idempotency?.status, 'duplicate');
    assert.equal(duplicate.plantsync.delivery.settled, 'acked', 'the guard acked it');
    // Unsettled, it would stay in flight until the 30 s settle timeout.
    assert.deepEqual(await busStats(), DRAINED);
    assert.equal(work.seen.length, 1, 'the duplicate was not worked');
  });

  it('a conflict is parked by the guard with the conflict as its reason; a replay brings it back to the conflict output', async () => {
    await load(splitFlow());
    const event = makeEvent(2);
    const done = nextMessage(node('after'), 10000);
    await publish(event);
    await done;

    const conf = nextMessage(node('conf'), 10000);
    await publish({ ...event, id: `${event.id}-changed`, data: { ...(event.data as object), yield: { value: 999, uom: 'EA' } } });
    const conflict = (await conf) as Msg;
    assert.equal(conflict.plantsync.idempotency?.status, 'conflict');
    assert.equal(conflict.plantsync.delivery.settled, 'parked');
    assert.deepEqual(await busStats(), { ...DRAINED, parked: 1 }, 'parked at once (attempt 1 of 3), not retried, not acked');

    const back = nextMessage(node('conf'), 10000);
    const replayed = nextMessage(node('replayed'), 10000);
    node('con').receive({ topic: 'replay', payload: { all: true } });
    assert.deepEqual((await replayed).payload, { examined: 1, replayed: 1, kept: 0 });
    const again = (await back) as unknown as DeliveredMsg;
    assert.equal(again.amqp.headers[HEADERS.parkedReason], 'IDEMPOTENCY_CONFLICT');
    assert.match(String(again.amqp.headers[HEADERS.parkedMessage]), /already processed with different data/);
    assert.equal(work.seen.length, 1, 'the conflicting data was never worked');
  });

  it('settle claim + settle delivery: a retryable failure goes to the next retry tier, a permanent one is parked at once', async () => {
    await load(splitFlow());
    const flaky = makeEvent(3);
    const bad = makeEvent(4);
    work.decide = (msg) => (msg.payload.id === bad.id ? 'reject' : msg.amqp.attempt === 1 ? 'fail' : 'ok');
    const failures = collect(node('afterbad'));
    const done = nextMessage(node('after'), 10000);
    await publish(flaky);
    const ok = (await done) as unknown as DeliveredMsg & Msg;
    assert.equal(ok.amqp.attempt, 2);
    assert.equal(ok.amqp.headers[HEADERS.lastErrorCode], 'ERP_UNAVAILABLE');
    assert.equal(ok.plantsync.delivery.settled, 'acked');
    assert.equal((failures[0] as Msg).plantsync.delivery.settled, 'failed');

    await publish(bad);
    await waitFor(() => failures.length === 2, 10000, 'the rejected event settled');
    assert.equal((failures[1] as Msg).plantsync.delivery.settled, 'parked');
    assert.deepEqual(await busStats(), { ...DRAINED, parked: 1 });
    assert.deepEqual(work.seen.filter((s) => s.id === bad.id).map((s) => s.attempt), [1], 'not retried');
  });

  it('settle claim + delivery on a message that holds no claim settles a failure as settle delivery does: permanent parked at once, retryable retried', async () => {
    await load([
      { id: 'f1', type: 'tab' },
      publisher,
      consume([['work'], ['replayed']]),
      { id: 'work', type: 'test-worker', wires: [['ok'], ['bad']], ...at },
      { id: 'ok', type: 'plantsync-idempotency-complete', action: 'complete', wires: [['after']], ...at },
      { id: 'bad', type: 'plantsync-idempotency-complete', action: 'failure', wires: [['afterbad']], ...at },
      ...['published', 'replayed', 'after', 'afterbad'].map((id) => ({ id, type: 'helper', ...at })),
    ]);
    const flaky = makeEvent(5);
    const poison = makeEvent(6);
    work.decide = (msg) => (msg.payload.id === poison.id ? 'reject' : msg.amqp.attempt === 1 ? 'fail' : 'ok');
    const failures = collect(node('afterbad'));
    const done = nextMessage(node('after'), 10000);
    await publish(flaky);
    assert.equal(((await done) as unknown as DeliveredMsg).amqp.attempt, 2, 'the retryable failure came back through the retry tier');
    await publish(poison);
    await waitFor(() => failures.length === 2, 10000, 'the rejected event settled');
    assert.deepEqual(failures.map((f) => (f as Msg).plantsync.delivery.settled), ['failed', 'parked']);
    assert.deepEqual(await busStats(), { ...DRAINED, parked: 1 });
    assert.deepEqual(work.seen.filter((x) => x.id === poison.id).map((x) => x.attempt), [1], 'not retried');
  });

  describe('two settle delivery nodes on copies of one message: the first settle wins', () => {
    /** consume -> settle delivery A, and a copy to `copy`, which the test hands to settle delivery B later. */
    const fanOut = () => [
      { id: 'f1', type: 'tab' },
      publisher,
      consume([['a', 'copy'], ['replayed']]),
      { id: 'a', type: 'plantsync-settle-delivery', action: 'ack', wires: [['aftera']], ...at },
      { id: 'b', type: 'plantsync-settle-delivery', action: 'failure', wires: [['afterb']], ...at },
      ...['published', 'replayed', 'copy', 'aftera', 'afterb'].map((id) => ({ id, type: 'helper', ...at })),
    ];

    it('an ack first: the later failure learns already-acked, warns, and retries nothing', async () => {
      await load(fanOut());
      const warnings: string[] = [];
      node('b').on('call:warn', (call: { args: unknown[] }) => warnings.push(String(call.args[0])));
      const acked = nextMessage(node('aftera'), 10000);
      const copy = nextMessage(node('copy'), 10000);
      await publish(makeEvent(5));
      assert.equal(((await acked) as Msg).plantsync.delivery.settled, 'acked');
      const late = nextMessage(node('afterb'), 5000);
      node('b').receive({ ...(await copy), error: { code: 'ERP_UNAVAILABLE', message: 'late branch failed', retryable: true } });
      assert.equal(((await late) as Msg).plantsync.delivery.settled, 'already-acked');
      assert.equal(warnings.length, 1);
      assert.deepEqual(await busStats(), DRAINED, 'the failure moved nothing to a retry tier');
    });

    it('a permanent failure first: the delivery is parked and the later ack learns already-parked', async () => {
      const flow = fanOut().map((n) => (n.id === 'con' ? { ...n, wires: [['copy'], ['replayed']] } : n));
      await load(flow);
      const copies = collect(node('copy'));
      await publish(makeEvent(6));
      await waitFor(() => copies.length === 1, 10000, 'delivered');
      // Two copies, as Node-RED makes for two wires: neither sees what the other settles.
      const [first, second] = [structuredClone(copies[0]), structuredClone(copies[0])];
      const failed = nextMessage(node('afterb'), 5000);
      node('b').receive({ ...first, error: { code: 'SCHEMA_INVALID', message: 'bad data', retryable: false } });
      assert.equal(((await failed) as Msg).plantsync.delivery.settled, 'parked');
      const late = nextMessage(node('aftera'), 5000);
      node('a').receive(second);
      assert.equal(((await late) as Msg).plantsync.delivery.settled, 'already-parked');
      assert.deepEqual(await busStats(), { ...DRAINED, parked: 1 });
    });

    it('settle delivery refuses to ack a message that came from no consumer (NO_DELIVERY) and lets a failure of one pass', async () => {
      await load(fanOut());
      const errors: Array<{ code?: string }> = [];
      node('a').on('call:error', (call: { args: unknown[] }) => errors.push((call.args[1] as { error?: { code?: string } }).error ?? {}));
      node('a').receive({ payload: 1 });
      await waitFor(() => errors.length === 1, 5000, 'an error');
      assert.equal(errors[0].code, 'NO_DELIVERY');
      const passed = nextMessage(node('afterb'), 5000);
      node('b').receive({ payload: 2, error: { code: 'X' } });
      assert.equal((await passed).payload, 2);
    });
  });

  it('a flow saved by the previous version (settle nodes without settleDelivery, one on the duplicate output) acks as before', async () => {
    const old = JSON.parse(fs.readFileSync(OLD_FLOW, 'utf8')) as Array<Record<string, unknown>>;
    const settleNodes = old.filter((n) => n.type === 'plantsync-idempotency-complete');
    assert.equal(settleNodes.length, 3);
    assert.ok(settleNodes.every((n) => !('settleDelivery' in n)), 'saved before the option existed');
    assert.ok(!old.some((n) => n.type === 'plantsync-settle-delivery'));
    const guard = old.find((n) => n.type === 'plantsync-idempotency') as { wires: string[][] };
    assert.equal(old.find((n) => n.id === guard.wires[1][0])?.type, 'plantsync-idempotency-complete', 'its duplicates go through a settle node');

    // The first posting fails and is retried, the retry is posted and acked, the second press is a
    // duplicate acked through the old settle node.
    const posted = (await runConsumeAndPostExample(OLD_FLOW, NODES, (n) => (n.type === 'plantsync-store' ? { ...n, file: path.join(sandbox.dir, 'old.db') } : n))) as Msg;
    assert.equal(posted.plantsync.delivery.settled, 'acked');
    group = 'example-local-bus';
    await waitFor(async () => JSON.stringify(await busStats()) === JSON.stringify(DRAINED), 10000, 'nothing left in flight or on the bus');
  });
});
