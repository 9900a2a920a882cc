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

    /** The code of the last failure, until a call succeeds. */
    let lastCode: string | undefined;
    /** Counts down the time to the next trial while the endpoint's circuit is open. */
    let ticker: NodeJS.Timeout | undefined;

    const render = () => {
      const client = endpoint?.client;
      const breaker = client?.breakerState().state ?? 'closed';
      const values = { target: endpoint?.role ?? '', ok, failed, code: lastCode ?? '' };
      if (breaker === 'open') {
        // Seconds to the next trial call, on the client's clock; "1" for the last part second.
        const seconds = Math.max(1, Math.ceil((client?.nextTrialInMs() ?? 0) / 1000));
        return STATUS.warn(RED._('plantsync-request.status.circuitOpen', { ...values, seconds }));
      }
      if (breaker === 'half-open') return STATUS.warn(RED._('plantsync-request.status.circuitHalfOpen', values));
      if (lastCode) return STATUS.failed(RED._('plantsync-request.status.failedWith', values));
      return STATUS.ok(RED._('plantsync-request.status.counts', values));
    };

    /** Shows the outcome; while the circuit is open, updates the countdown every second until it is not. */
    const show = () => {
      status.update(render);
      if (ticker || endpoint?.client.nextTrialInMs() === undefined) return;
      ticker = setInterval(() => {
        // Asked before the (throttled, later) render: a circuit seen open is shown again on the next tick.
        const open = endpoint.client.nextTrialInMs() !== undefined;
        status.update(render);
        if (!open) {
          clearInterval(ticker);
          ticker = undefined;
        }
      }, 1000);
      ticker.unref();
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
        // already be posted: the target is asked first, by the operation's lookup. The claim's
        // first attempt (kept by the guard across redeliveries and replays) is the first-sent time.
        const claim = meta(msg).idempotency;
        const outcomeUnknown = claim?.status === 'claimed' && (claim.takeover === true || (claim.attempt ?? 1) > 1);
        const firstSentAt = claim?.status === 'claimed' && typeof claim.firstAttemptAt === 'string' ? Date.parse(claim.firstAttemptAt) : Number.NaN;
        return endpoint.write(checked.event, Number.isFinite(firstSentAt) ? { outcomeUnknown, firstSentAt } : { outcomeUnknown });
      };
      run()
        .then((res) => {
          ok += 1;
          lastCode = undefined;
          const request: Record<string, unknown> = { target: endpoint?.role, operation: res.operation, status: res.status, attempts: res.attempts };
          if (res.repeated) request.repeated = true;
          if (res.resolvedBy) request.resolvedBy = res.resolvedBy;
          if (res.repeatability) request.repeatability = res.repeatability;
          meta(msg).request = request;
          msg.payload = res.result;
          // For an `http in` flow: a posting created a document, a read answered one.
          (msg as PlantSyncMessage & { statusCode?: number }).statusCode = statusForOutcome(operation === 'auto' ? 'created' : 'ok');
          show();
          send(msg);
          done();
        })
        .catch((err: unknown) => {
          failed += 1;
          lastCode = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'UNEXPECTED_ERROR';
          show();
          failMessage(msg, err, done);
        });
    });

    this.on('close', () => {
      if (ticker) clearInterval(ticker);
      ticker = undefined;
      status.close();
    });
  }

  RED.nodes.registerType('plantsync-request', PlantSyncRequestNode);
};
