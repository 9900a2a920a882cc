import type { Node, NodeAPI, NodeDef } from 'node-red';
import { callRead, callWrite, type CallResult } from '../../lib/adapters/profile-call';
import { isCanonicalEvent } from '../../lib/canonical/envelope';
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
    try {
      // Compiled once per deploy with the plant's overrides; a broken override is a config error now, not per message.
      if (endpoint && !endpoint.configError) profile = createProfile(PROFILES[endpoint.profileName], endpoint.overrides as ProfileOverrides);
    } catch (err) {
      this.error(`PlantSync endpoint profile: ${(err as Error).message}`);
    }
    const unusable = endpoint?.configError;
    if (!endpoint) this.status(STATUS.failed(RED._('plantsync-request.status.noEndpoint')));

    const label = () => {
      const breaker = endpoint?.client.breakerState().state ?? 'closed';
      return `${endpoint?.role ?? ''} ${breaker === 'closed' ? '' : `${breaker} · `}✓${ok}${failed ? ` ✗${failed}` : ''}`.trim();
    };

    this.on('input', (msg: PlantSyncMessage, send, done) => {
      const run = async (): Promise<CallResult> => {
        if (!endpoint || !profile) throw new PlantSyncError('CONFIG_ERROR', unusable ?? 'no usable PlantSync endpoint configured');
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
          status.update(STATUS.ok(label()));
          send(msg);
          done();
        })
        .catch((err: unknown) => {
          failed += 1;
          const code = (err as { code?: string }).code ?? 'error';
          status.update(code === 'CIRCUIT_OPEN' ? STATUS.warn(`${label()} · ${code}`) : STATUS.failed(`${label()} · ${code}`));
          failMessage(msg, err, done);
        });
    });

    this.on('close', () => status.close());
  }

  RED.nodes.registerType('plantsync-request', PlantSyncRequestNode);
};
