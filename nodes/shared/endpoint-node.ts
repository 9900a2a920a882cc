import type { Node } from 'node-red';
import type { EndpointClient } from '../../lib/adapters/endpoint-client';
import type { PlantSyncError } from '../../lib/errors';

export interface EndpointCredentials {
  password?: string;
  apiKey?: string;
  clientSecret?: string;
}

export type ProfileName = 'sap-s4hana' | 'generic-rest';

/**
 * What request nodes use of a `plantsync-endpoint` config node.
 *
 * A misconfigured endpoint (empty base URL, out-of-range number, broken overrides) still exists:
 * it logs one line at deploy saying what to fix and is unusable. Request nodes should call
 * `assertUsable()` (or read `configError`) before using `client`; a client of an unusable
 * endpoint rejects every send with that same CONFIG_ERROR, so nothing reaches a target with a
 * wrong configuration even when a caller forgets.
 */
export interface PlantSyncEndpointNode extends Node<EndpointCredentials> {
  client: EndpointClient;
  profileName: ProfileName;
  /** Value-map and unit overrides of this plant (JSON from the editor), applied on top of the profile; {} when none. */
  overrides: Record<string, unknown>;
  role: string;
  /** Why the endpoint cannot be used, one line naming the fix (e.g. "base URL empty: set ERP_URL"). */
  configError?: string;
  /** The structured CONFIG_ERROR (code, message = configError, details with a JSON pointer per setting). */
  configProblem?: PlantSyncError;
  /** Throws `configProblem` when the endpoint is unusable. */
  assertUsable(): void;
}
