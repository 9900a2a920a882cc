import type { Node, NodeAPI, NodeDef } from 'node-red';
import { callRead, callWrite, type CallResult } from '../../lib/adapters/profile-call';
import { isCanonicalEvent } from '../../lib/canonical/envelope';
import { statusForOutcome } from '../../lib/delivery/http-status';
import { PlantSyncError } from '../../lib/errors';
import { createProfile, type MappingProfile } from '../../lib/mapping/engine';
import { PROFILES } from '../../lib/mapping/registry';
import type { ProfileOverrides } from '../../lib/mapping/types';
import { defaultRegistry } from '../../lib/validation/schema-registry';
import type { PlantSyncEndpointNode } from '../shared/endpoint-node';
import { failMessage } from '../shared/fail';
import { meta, type PlantSyncMessage } from '../shared/plantsync-meta';
import { CounterStatus, STATUS } from '../shared/status';
import { evaluateProperty } from '../shared/typed-input';

interface RequestNodeDef extends NodeDef {
  endpoint: string;
  /** 'auto': the write operation for the event's type; else a read operation's name. */
  operation?: string;
  params?: string;
  paramsType?: string;
}

/**
 * How an endpoint says it is misconfigured (for example "base URL empty: set ERP_URL"), detected
 * at deploy: the structured CONFIG_ERROR when it has one, else its one-line reason.
 */
interface EndpointConfigState {
  configProblem?: PlantSyncError;
  configError?: string;
}

/** The CONFIG_ERROR of an unusable endpoint, undefined when it is usable. */
function configProblemOf(endpoint: EndpointConfigState): PlantSyncError | undefined {
  if (endpoint.configProblem) return endpoint.configProblem;
  return endpoint.configError ? new PlantSyncError('CONFIG_ERROR', endpoint.configError) : undefined;
}

export = function register(RED: NodeAPI): void {
  const registry = defaultRegistry();

  function PlantSyncRequestNode(this: Node, config: RequestNodeDef): void {
    RED.nodes.createNode(this, config);
    const endpoint = RED.nodes.getNode(config.endpoint) as PlantSyncEndpointNode | null;
    const operation = config.operation || 'auto';
    const status = new CounterStatus((s) => this.status(s));
    let ok = 0;
    let failed = 0;
    let profile: MappingProfile | undefined;
    let unusable = endpoint ? configProblemOf(endpoint as PlantSyncEndpointNode & EndpointConfigState) : undefined;
    try {
      // Compiled once per deploy with the plant's overrides; a broken override is a config error now, not per message.
      if (endpoint && !unusable) profile = createProfile(PROFILES[endpoint.profileName], endpoint.overrides as ProfileOverrides);
    } catch (err) {
      unusable = err instanceof PlantSyncError ? err : new PlantSyncError('CONFIG_ERROR', `endpoint profile: ${(err as Error).message}`, [], { cause: err });
      this.error(`PlantSync endpoint profile: ${(err as Error).message}`);
    }
    // Fixed texts are catalogue keys the editor translates; counters are translated here (they need numbers).
    if (!endpoint) this.status(STATUS.failed('plantsync-request.status.noEndpoint'));
    else if (unusable) this.status(STATUS.failed('plantsync-request.status.configError'));

    const label = (code?: string) => {
      const breaker = endpoint?.client.breakerState().state ?? 'closed';
      const key = code ? 'failedWith' : breaker === 'open' ? 'circuitOpen' : breaker === 'half-open' ? 'circuitHalfOpen' : 'counts';
      return RED._(`plantsync-request.status.${key}`, { target: endpoint?.role ?? '', ok, failed, code: code ?? '' });
    };

    this.on('input', (msg: PlantSyncMessage, send, done) => {
      const run = async (): Promise<CallResult> => {
        if (unusable) throw unusable;
        if (!endpoint || !profile) throw new PlantSyncError('CONFIG_ERROR', 'no plantsync-endpoint configured: choose one in the request node');
        if (operation !== 'auto') {
          const params = await evaluateProperty(RED, this, config.params || 'payload', config.paramsType || 'msg', msg);
          if (params === null || typeof params !== 'object') {
            throw new PlantSyncError('INVALID_INPUT', `the parameters of ${operation} must be an object`, [{ pointer: '', message: 'must be an object', keyword: 'type' }]);
          }
          const correlation = typeof msg.correlationid === 'string' ? msg.correlationid : undefined;
          return callRead(endpoint.client, profile, operation, params as Record<string, string>, correlation);
        }
        if (!isCanonicalEvent(msg.payload)) throw new PlantSyncError('NOT_AN_EVENT', 'msg.payload is not a canonical event', [{ pointer: '', message: 'must be a canonical event', keyword: 'type' }]);
        // Validated (and upcast) before mapping: a broken event is a validation error, never a half-mapped posting.
        const checked = registry.validate(msg.payload);
        if (!checked.valid) throw new PlantSyncError(checked.code, checked.message, checked.errors);
        return callWrite(endpoint.client, profile, checked.event);
      };
      run()
        .then((res) => {
          ok += 1;
          meta(msg).request = { target: endpoint?.role, operation: res.operation, status: res.status, attempts: res.attempts };
          msg.payload = res.result;
          // For an `http in` flow: a posting created a document, a read answered one.
          (msg as PlantSyncMessage & { statusCode?: number }).statusCode = statusForOutcome(operation === 'auto' ? 'created' : 'ok');
          status.update(STATUS.ok(label()));
          send(msg);
          done();
        })
        .catch((err: unknown) => {
          failed += 1;
          const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'UNEXPECTED_ERROR';
          status.update(code === 'CIRCUIT_OPEN' ? STATUS.warn(label(code)) : STATUS.failed(label(code)));
          failMessage(msg, err, done);
        });
    });

    this.on('close', () => status.close());
  }

  RED.nodes.registerType('plantsync-request', PlantSyncRequestNode);
};
