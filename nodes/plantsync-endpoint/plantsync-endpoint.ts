import type { NodeAPI } from 'node-red';
import { openEndpoint } from '../../lib/adapters/endpoint';
import { operationList } from '../../lib/mapping/operation-list';
import { profileNamed } from '../../lib/mapping/registry';
import type { EndpointCredentials, PlantSyncEndpointNode } from '../shared/endpoint-node';
import { readEndpointSettings, type EndpointNodeDef } from './endpoint-settings';

export = function register(RED: NodeAPI): void {
  // The request dialog lists the operations of its endpoint's profile from here, so it always matches the installed profiles.
  RED.httpAdmin.get('/plantsync/profiles/:profile/operations', RED.auth.needsPermission('plantsync-endpoint.read'), (req, res) => {
    let profile;
    try {
      profile = profileNamed(String(req.params.profile));
    } catch (err) {
      res.status(404).json({ error: (err as Error).message });
      return;
    }
    res.json(operationList(profile));
  });

  function PlantSyncEndpointNode(this: PlantSyncEndpointNode, config: EndpointNodeDef): void {
    RED.nodes.createNode(this, config);
    // One line, no stack, when unusable: what to fix. Request nodes report it per message as CONFIG_ERROR.
    const endpoint = openEndpoint(readEndpointSettings(config), this.credentials ?? {}, { logger: { error: (m) => this.error(m) } });
    this.endpoint = endpoint;
    this.client = endpoint.client;
    this.role = endpoint.role;
    this.overrides = endpoint.overrides;
    this.configProblem = endpoint.problem;
    this.configError = endpoint.problem?.message;
    this.assertUsable = () => endpoint.assertUsable();
    this.on('close', () => endpoint.close());
  }

  RED.nodes.registerType<PlantSyncEndpointNode, EndpointNodeDef, unknown, EndpointCredentials>('plantsync-endpoint', PlantSyncEndpointNode, {
    credentials: {
      password: { type: 'password' },
      apiKey: { type: 'password' },
      clientSecret: { type: 'password' },
    },
  });
};
