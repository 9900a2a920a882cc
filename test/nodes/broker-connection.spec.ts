/**
 * plantsync-broker connection settings against a real private RabbitMQ with a TLS listener:
 * one connection per config node shared by all its users, the negotiated heartbeat, a virtual
 * host, TLS with certificate verification on by default, and connect failures logged with the
 * broker's own reason. What the broker reports (rabbitmqctl list_connections) is the evidence.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as amqp from 'amqplib';
import { collect, helper, nextMessage, type TestNode } from '../helpers/node-helper';
import { translating } from '../helpers/catalogue';
import { startRabbit, uniqueName, type RabbitServer } from '../helpers/rabbitmq';
import { makeEvent, waitFor } from '../transport/util';
import brokerNode from '../../nodes/plantsync-broker/plantsync-broker';
import publishNode from '../../nodes/plantsync-publish/plantsync-publish';
import consumeNode from '../../nodes/plantsync-consume/plantsync-consume';
import completeNode from '../../nodes/plantsync-idempotency-complete/plantsync-idempotency-complete';

// Status texts are translated from the real catalogues, so the tests see the broker's reason.
const NODES = translating([brokerNode, publishNode, consumeNode, completeNode]).nodes;
type Status = { fill?: string; shape?: string; text?: string };

describe('broker config node: one shared connection, heartbeat, vhost and TLS (private RabbitMQ)', function () {
  this.timeout(120000);
  let rabbit: RabbitServer;
  let dir: string;
  const node = (id: string) => helper.getNode(id) as TestNode;
  const at = { z: 'f1', x: 100, y: 100 };

  before(async () => {
    rabbit = await startRabbit({ tls: true });
    await rabbit.ctl(['add_vhost', 'plant-p100']);
    await rabbit.ctl(['set_permissions', '-p', 'plant-p100', 'guest', '.*', '.*', '.*']);
    // A vhost guest may not use: the broker refuses the connection.
    await rabbit.ctl(['add_vhost', 'plant-closed']);
    await helper.startServer();
  });
  after(async () => {
    await helper.stopServer();
    await rabbit?.stop();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-broker-conn-'));
    helper.settings({ userDir: dir });
  });
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Connections the broker sees: client-provided name, vhost, negotiated heartbeat (s), TLS. */
  async function connections(): Promise<Array<{ name: string; vhost: string; timeout: number; ssl: boolean }>> {
    const out = await rabbit.ctl(['list_connections', 'vhost', 'timeout', 'ssl', 'client_properties', '--no-table-headers', '--quiet']);
    return out
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        const [vhost, timeout, ssl, ...props] = l.split('\t');
        const name = /\{"connection_name","([^"]*)"\}/.exec(props.join('\t'))?.[1] ?? '';
        return { name, vhost, timeout: Number(timeout), ssl: ssl === 'true' };
      });
  }

  function lastStatus(n: TestNode): () => Status {
    let s: Status = {};
    n.on('call:status', (call: { args: unknown[] }) => (s = call.args[0] as Status));
    return () => s;
  }

  function warnings(n: TestNode): string[] {
    const out: string[] = [];
    n.on('call:warn', (call: { args: unknown[] }) => out.push(String(call.args[0])));
    return out;
  }

  /** publish -> consume -> settle on broker `b`; resolves once one event went round. */
  async function roundTrip(): Promise<void> {
    const settled = collect(node('settled'));
    const published = nextMessage(node('published'), 15000);
    node('pub').receive({ payload: makeEvent(1) });
    await published;
    await waitFor(() => settled.length === 1, 15000, 'the event consumed and acked');
  }

  const flow = (broker: Record<string, unknown>, group: string) => [
    { id: 'f1', type: 'tab' },
    { id: 'b', type: 'plantsync-broker', name: 'plant broker', retryTiers: '300ms', reconnectMs: [100, 500], ...broker },
    { id: 'pub', type: 'plantsync-publish', broker: 'b', outbox: false, timeout: 10, wires: [['published']], ...at },
    { id: 'con', type: 'plantsync-consume', broker: 'b', group, closeTimeout: 1, wires: [['ok'], []], ...at },
    { id: 'ok', type: 'plantsync-idempotency-complete', action: 'complete', wires: [['settled']], ...at },
    ...['published', 'settled'].map((id) => ({ id, type: 'helper', ...at })),
  ];

  it('two publish and two consume nodes share ONE connection of their config node, with the configured heartbeat; the status names the broker', async () => {
    const group = uniqueName('grp');
    const port = new URL(rabbit.url).port;
    await helper.load(NODES, [
      ...flow({ url: `amqp://127.0.0.1:${port}`, user: 'guest', heartbeat: 7 }, group),
      { id: 'pub2', type: 'plantsync-publish', broker: 'b', outbox: false, timeout: 10, wires: [[]], ...at },
      { id: 'con2', type: 'plantsync-consume', broker: 'b', group: uniqueName('grp'), closeTimeout: 1, wires: [[], []], ...at },
    ], { b: { password: 'guest' } });
    const con = lastStatus(node('con'));
    const con2 = lastStatus(node('con2'));
    await waitFor(() => con().fill === 'green' && con2().fill === 'green', 15000, 'consumers connected');
    await roundTrip();
    // The status names the broker the node uses.
    await waitFor(() => con().text === 'plant broker · 0 in flight · 1 acked · 0 retried · 0 parked', 5000, `the consumer's counts after the broker's name, got "${con().text}"`);
    const ours = (await connections()).filter((c) => c.name === 'plantsync plant broker');
    assert.equal(ours.length, 1, `one connection for four nodes, the broker lists ${JSON.stringify(await connections())}`);
    assert.equal(ours[0].timeout, 7, 'heartbeat negotiated as configured');
    assert.equal(ours[0].vhost, '/');
    assert.equal(ours[0].ssl, false);

    // Closing the flow closes the connection (nothing left open at the broker).
    await helper.unload();
    await waitFor(async () => !(await connections()).some((c) => c.name === 'plantsync plant broker'), 10000, 'connection closed');
  });

  it('a virtual host: topology and traffic stay inside it', async () => {
    const group = uniqueName('grp');
    const port = new URL(rabbit.url).port;
    await helper.load(NODES, flow({ url: `amqp://127.0.0.1:${port}`, user: 'guest', vhost: 'plant-p100' }, group), { b: { password: 'guest' } });
    const con = lastStatus(node('con'));
    await waitFor(() => con().fill === 'green', 15000, 'consumer connected');
    await roundTrip();
    assert.deepEqual((await connections()).filter((c) => c.name === 'plantsync plant broker').map((c) => c.vhost), ['plant-p100']);
    const queues = async (vhost: string) => (await rabbit.ctl(['list_queues', '-p', vhost, 'name', '--no-table-headers', '--quiet'])).split('\n').map((l) => l.trim());
    assert.ok((await queues('plant-p100')).includes(`plantsync.${group}`), 'work queue in the vhost');
    assert.ok(!(await queues('/')).includes(`plantsync.${group}`), 'not in the default vhost');
  });

  it('a vhost the user may not use: the status keeps reconnecting and the log says the broker refused it', async () => {
    const port = new URL(rabbit.url).port;
    await helper.load(NODES, flow({ url: `amqp://127.0.0.1:${port}`, user: 'guest', vhost: 'plant-closed' }, uniqueName('grp')), { b: { password: 'guest' } });
    const logged = warnings(node('b'));
    const pub = lastStatus(node('pub'));
    await waitFor(() => logged.length > 0, 15000, 'a connect warning');
    assert.match(logged[0], /refused virtual host "plant-closed"/);
    await waitFor(() => pub().fill === 'yellow' && /reconnecting/.test(pub().text ?? ''), 5000, 'publish shows reconnecting');
    // Logged once per distinct reason, not once per retry: checked after three more retries.
    const attempt = () => Number(/attempt (\d+)/.exec(pub().text ?? '')?.[1] ?? 0);
    const seen = attempt();
    await waitFor(() => attempt() >= seen + 3, 20000, `three more reconnect attempts (status: ${pub().text})`);
    assert.equal(new Set(logged).size, logged.length, `repeated warnings: ${logged.join(' | ')}`);
  });

  it('a wrong password is refused with the reason in the log and never appears in it', async () => {
    const port = new URL(rabbit.url).port;
    await helper.load(NODES, flow({ url: `amqp://127.0.0.1:${port}`, user: 'guest' }, uniqueName('grp')), { b: { password: 'not-the-password' } });
    const logged = warnings(node('b'));
    await waitFor(() => logged.length > 0, 15000, 'a connect warning');
    assert.match(logged[0], /ACCESS.REFUSED|403/i);
    assert.doesNotMatch(logged.join('\n'), /not-the-password/);
  });

  it('a consumer whose queue exists with other arguments fails alone: red ring with the reason, while publish and consume on the same connection carry on', async () => {
    const group = uniqueName('grp');
    const clash = uniqueName('clash');
    const admin = await amqp.connect(rabbit.url);
    try {
      const ch = await admin.createChannel();
      await ch.assertQueue(`plantsync.${clash}`, { durable: true }); // classic, not quorum
      const port = new URL(rabbit.url).port;
      await helper.load(NODES, [
        ...flow({ url: `amqp://127.0.0.1:${port}`, user: 'guest' }, group),
        { id: 'con2', type: 'plantsync-consume', broker: 'b', group: clash, closeTimeout: 1, wires: [[], []], ...at },
      ], { b: { password: 'guest' } });
      const con2 = lastStatus(node('con2'));
      const logged = warnings(node('con2'));
      await waitFor(() => con2().fill === 'red', 15000, 'the clashing consumer shows a red ring');
      assert.match(con2().text ?? '', /PRECONDITION_FAILED|inequivalent/);
      await waitFor(() => logged.some((w) => /inequivalent arg/.test(w)), 5000, 'the reason in the log');
      await roundTrip();
      assert.equal((await connections()).filter((c) => c.name === 'plantsync plant broker').length, 1, 'the shared connection stayed up');

      // The operator removes the old queue: the consumer's retried setup succeeds, without a redeploy.
      await ch.deleteQueue(`plantsync.${clash}`);
      await waitFor(() => con2().fill === 'green', 20000, 'the consumer recovers');
      await ch.close();
    } finally {
      await admin.close();
    }
  });

  describe('TLS (amqps)', () => {
    const tlsUrl = () => `amqps://127.0.0.1:${rabbit.tls!.port}`;

    it('with the CA file: an encrypted connection the broker reports as SSL, and traffic flows', async () => {
      const caFile = path.join(dir, 'plant-ca.pem');
      fs.copyFileSync(rabbit.tls!.caFile, caFile);
      // The CA path is relative to the user directory.
      await helper.load(NODES, flow({ url: tlsUrl(), user: 'guest', tls: true, verify: true, caFile: 'plant-ca.pem' }, uniqueName('grp')), { b: { password: 'guest' } });
      const con = lastStatus(node('con'));
      await waitFor(() => con().fill === 'green', 15000, 'consumer connected over TLS');
      await roundTrip();
      const ours = (await connections()).filter((c) => c.name === 'plantsync plant broker');
      assert.equal(ours.length, 1);
      assert.equal(ours[0].ssl, true);
    });

    it('verifies the server certificate by default: an unknown CA is refused, with the reason in the log', async () => {
      await helper.load(NODES, flow({ url: tlsUrl(), user: 'guest', tls: true }, uniqueName('grp')), { b: { password: 'guest' } });
      const logged = warnings(node('b'));
      await waitFor(() => logged.length > 0, 15000, 'a connect warning');
      assert.match(logged[0], /certificate/i);
      assert.equal((await connections()).filter((c) => c.name === 'plantsync plant broker').length, 0);
    });

    it('the plain amqp:// URL with "Use TLS" ticked connects over TLS', async () => {
      const caFile = path.join(dir, 'ca.pem');
      fs.copyFileSync(rabbit.tls!.caFile, caFile);
      await helper.load(NODES, flow({ url: `amqp://127.0.0.1:${rabbit.tls!.port}`, user: 'guest', tls: true, caFile }, uniqueName('grp')), { b: { password: 'guest' } });
      const con = lastStatus(node('con'));
      await waitFor(() => con().fill === 'green', 15000, 'consumer connected over TLS');
      assert.equal((await connections()).find((c) => c.name === 'plantsync plant broker')?.ssl, true);
    });
  });

  it('the TLS listener refuses plain AMQP, so the TLS tests really use TLS', async () => {
    await assert.rejects(amqp.connect(`amqp://guest:guest@127.0.0.1:${rabbit.tls!.port}`, { timeout: 3000 }));
  });
});
