/**
 * The transport of a publish or consume node: finds the config node its Broker field names and
 * hands plain facts to the core (lib/transport/selection.ts decides, shared-transports.ts opens),
 * then says in the log which transport the node uses. Node-RED's log and user directory go in here.
 */
import type { Node, NodeAPI } from 'node-red';
import type { NodeTransport } from '../../lib/transport/node-transport';
import { selectTransport, type BrokerRef, type TransportChoice } from '../../lib/transport/selection';
import { sharedTransports, type ConfigNodeBroker } from '../../lib/transport/shared-transports';
import type { PlantSyncBrokerNode } from './broker-node';

export type TransportNodeType = 'plantsync-publish' | 'plantsync-consume';

/** Why a node has no transport: its status text and the message for the log and every CONFIG_ERROR. */
export interface TransportProblem {
  status: string;
  message: string;
}

function brokerRef(configNode: PlantSyncBrokerNode | null, id: string): BrokerRef {
  if (!configNode) return { id, found: false };
  const configError = configNode.configError ?? (configNode.connection ? undefined : 'it has no connection');
  return { id, found: true, name: configNode.name, url: configNode.connection?.config.url, configError };
}

/**
 * Selects and opens the node's transport and logs the choice once; the node calls `release()`
 * when closed. On a problem nothing is opened: the node refuses its messages.
 */
export function transportFor(RED: NodeAPI, node: Node, nodeType: TransportNodeType, brokerId: string | undefined): { transport: NodeTransport; problem?: undefined } | { transport?: undefined; problem: TransportProblem } {
  const configNode = brokerId ? (RED.nodes.getNode(brokerId) as PlantSyncBrokerNode | null) : null;
  const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
  const { choice, error } = selectTransport({ broker: brokerId ? brokerRef(configNode, brokerId) : undefined, env: process.env, userDir });
  if (error) {
    const status = error.reason === 'envInvalid' ? 'configError' : error.reason;
    return { problem: { status: `${nodeType}.status.${status}`, message: error.message } };
  }
  let transport: NodeTransport;
  try {
    // A broker choice has a config node with a connection (else the selection refused it).
    transport = sharedTransports.open(choice, { log: RED.log, broker: (configNode ?? undefined) as ConfigNodeBroker | undefined });
  } catch (err) {
    return { problem: { status: `${nodeType}.status.configError`, message: (err as Error).message } };
  }
  node.log(RED._(`${nodeType}.log.${choice.kind}`, logValues(choice)));
  return { transport };
}

function logValues(choice: TransportChoice): Record<string, string> {
  switch (choice.kind) {
    case 'broker':
      return { name: choice.label, host: choice.host };
    case 'amqpUrl':
      return { host: choice.host };
    case 'localBus':
      return { file: choice.file };
  }
}

/** The transport's name for the node status ("plant broker", "local bus plantsync/bus.db"), from the node's catalogue. */
export function transportName(RED: NodeAPI, nodeType: TransportNodeType, transport: NodeTransport): string {
  return RED._(`${nodeType}.transport.${transport.choice.kind}`, { label: transport.choice.label });
}
