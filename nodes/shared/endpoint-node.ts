import type { Node } from 'node-red';
import type { EndpointClient } from '../../lib/adapters/endpoint-client';

export interface EndpointCredentials {
  password?: string;
  apiKey?: string;
  clientSecret?: string;
}

export type ProfileName = 'sap-s4hana' | 'generic-rest';

/** What request nodes use of a `plantsync-endpoint` config node. */
export interface PlantSyncEndpointNode extends Node<EndpointCredentials> {
  client: EndpointClient;
  profileName: ProfileName;
  /** Value-map and unit overrides of this plant (JSON from the editor), applied on top of the profile. */
  overrides: Record<string, unknown>;
  role: string;
  /** Why the endpoint cannot be used (broken overrides), reported per message as CONFIG_ERROR. */
  configError?: string;
}
