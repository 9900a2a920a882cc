import type { Node } from 'node-red';
import type { EndpointCredentials, OpenEndpoint } from '../../lib/adapters/endpoint';
import type { EndpointClient } from '../../lib/adapters/endpoint-client';
import type { PlantSyncError } from '../../lib/errors';
import type { ProfileOverrides } from '../../lib/mapping/types';

export type { EndpointCredentials } from '../../lib/adapters/endpoint';
export type { ProfileName } from '../../lib/mapping/registry';

/**
 * What request nodes use of a `plantsync-endpoint` config node: `endpoint`, opened once at deploy
 * (client and compiled profile, lib/adapters/endpoint.ts); the other members are views of it.
 *
 * A misconfigured endpoint (empty base URL, out-of-range number, broken overrides) still exists:
 * it logs one line at deploy saying what to fix and is unusable; its client rejects every send
 * with that same CONFIG_ERROR, so nothing reaches a target with a wrong configuration.
 */
export interface PlantSyncEndpointNode extends Node<EndpointCredentials> {
  endpoint: OpenEndpoint;
  client: EndpointClient;
  /** Value-map and unit overrides of this plant, compiled into `endpoint.profile`; {} when none. */
  overrides: ProfileOverrides;
  role: string;
  /** Why the endpoint cannot be used, one line naming the fix (e.g. "base URL empty: set ERP_URL"). */
  configError?: string;
  /** The structured CONFIG_ERROR (code, message = configError, details with a JSON pointer per setting). */
  configProblem?: PlantSyncError;
  /** Throws `configProblem` when the endpoint is unusable. */
  assertUsable(): void;
}
