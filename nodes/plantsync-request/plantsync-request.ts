import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { CallResult } from '../../lib/adapters/profile-call';
import { isCanonicalEvent } from '../../lib/canonical/events';
import { statusForOutcome } from '../../lib/delivery/http-status';
import { PlantSyncError } from '../../lib/errors';
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
    // Opened once by the config node (client and compiled profile), shared by every request node on it.
    const endpoint = (RED.nodes.getNode(config.endpoint) as PlantSyncEndpointNode | null)?.endpoint;
    const operation = config.operation || 'auto';
    const status = new CounterStatus((s) => this.status(s));
    let ok = 0;
    let failed = 0;
    // Fixed texts are catalogue keys the editor translates; counters are translated here (they need numbers).
    if (!endpoint) this.status(STATUS.failed('plantsync-request.status.noEndpoint'));
    else if (endpoint.problem) this.status(STATUS.failed('plantsync-request.status.configError'));

    const label = (code?: string) => {
      const breaker = endpoint?.client.breakerState().state ?? 'closed';
      const key = code ? 'failedWith' : breaker === 'open' ? 'circuitOpen' : breaker === 'half-open' ? 'circuitHalfOpen' : 'counts';
      return RED._(`plantsync-request.status.${key}`, { target: endpoint?.role ?? '', ok, failed, code: code ?? '' });
    };

    this.on('input', (msg: PlantSyncMessage, send, done) => {
      const run = async (): Promise<CallResult> => {
        if (!endpoint) throw new PlantSyncError('CONFIG_ERROR', 'no plantsync-endpoint configured: choose one in the request node');
        endpoint.assertUsable(); // a misconfigured endpoint's CONFIG_ERROR comes before anything about the message
        if (operation !== 'auto') {
          const params = await evaluateProperty(RED, this, config.params || 'payload', config.paramsType || 'msg', msg);
          if (params === null || typeof params !== 'object') {
            throw new PlantSyncError('INVALID_INPUT', `the parameters of ${operation} must be an object`, [{ pointer: '', message: 'must be an object', keyword: 'type' }]);
          }
          const correlation = typeof msg.correlationid === 'string' ? msg.correlationid : undefined;
          return endpoint.read(operation, params as Record<string, string>, correlation);
        }
        if (!isCanonicalEvent(msg.payload)) throw new PlantSyncError('NOT_AN_EVENT', 'msg.payload is not a canonical event', [{ pointer: '', message: 'must be a canonical event', keyword: 'type' }]);
        // Validated (and upcast) before mapping: a broken event is a validation error, never a half-mapped posting.
        const checked = registry.validate(msg.payload);
        if (!checked.valid) throw new PlantSyncError(checked.code, checked.message, checked.errors);
        // A re-claimed key (a redelivery, a replay) or one taken over after its lease expired may
        // already be posted: the target is asked first, by the operation's lookup.
        const claim = meta(msg).idempotency;
        const outcomeUnknown = claim?.status === 'claimed' && (claim.takeover === true || (claim.attempt ?? 1) > 1);
        return endpoint.write(checked.event, { outcomeUnknown });
      };
      run()
        .then((res) => {
          ok += 1;
          const request: Record<string, unknown> = { target: endpoint?.role, operation: res.operation, status: res.status, attempts: res.attempts };
          if (res.repeated) request.repeated = true;
          if (res.resolvedBy) request.resolvedBy = res.resolvedBy;
          if (res.repeatability) request.repeatability = res.repeatability;
          meta(msg).request = request;
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
