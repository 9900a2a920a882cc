/**
 * When the broker goes away, the reported reason is the connection's own (CONNECTION_FORCED on a
 * broker shutdown), not the close of a publisher or consumer channel that amqplib reports first.
 * A private RabbitMQ node of this file is stopped.
 */
import * as assert from 'node:assert/strict';
import { BrokerConnection, type BrokerStatus } from '../../lib/transport/broker-connection';
import { Consumer } from '../../lib/transport/consumer';
import { Publisher } from '../../lib/transport/publisher';
import { resolveTopology } from '../../lib/transport/topology';
import { startRabbit, uniqueName, type RabbitServer } from '../helpers/rabbitmq';
import { waitFor } from './util';

describe('transport: the reason a lost broker connection is reported with (private RabbitMQ)', function () {
  this.timeout(120000);
  let server: RabbitServer;
  let broker: BrokerConnection | undefined;

  before(async () => {
    server = await startRabbit();
  });
  after(async () => {
    await broker?.close();
    await server?.stop();
  });

  it('a broker shutdown is reported as the connection closing (CONNECTION_FORCED), not "publisher channel closed"', async () => {
    const topology = resolveTopology({ group: uniqueName('grp'), exchange: uniqueName('ex'), retryTiersMs: [200] });
    broker = new BrokerConnection({ url: server.url, connectionName: uniqueName('conn'), heartbeatSec: 5, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } });
    const lost: Array<Extract<BrokerStatus, { state: 'reconnecting' }>> = [];
    broker.onStatus((s) => {
      if (s.state === 'reconnecting') lost.push(s);
    });
    const publisher = new Publisher(broker, { topology, timeoutMs: 5000 }).start();
    const consumer = new Consumer(broker, { topology, handler: () => undefined }).start();
    await waitFor(() => broker!.status.state === 'connected' && consumer.consuming, 30000, 'connected with both channels');

    await server.stopBroker();
    await waitFor(() => lost.length > 0, 30000, 'the loss reported');
    const reason = lost[0].error ?? '';
    assert.doesNotMatch(reason, /channel closed|consumer cancelled/, reason);
    assert.match(reason, /CONNECTION.FORCED|ECONNRESET|heartbeat/i, reason);

    await publisher.close();
    await consumer.close(1000);
  });
});
