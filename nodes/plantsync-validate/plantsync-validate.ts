import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { PlantSyncError } from '../../lib/errors';
import { DEFAULT_MAX_EVENT_BYTES, parseEventInput } from '../../lib/validation/event-input';
import { defaultRegistry } from '../../lib/validation/schema-registry';
import { statusForOutcome } from '../../lib/delivery/http-status';
import { failMessage } from '../shared/fail';
import { CounterStatus, STATUS } from '../shared/status';

interface ValidateNodeDef extends NodeDef {
  property?: string;
  onInvalid?: 'output' | 'error';
  upcast?: boolean;
  rejectSuperseded?: boolean;
  maxBytes?: number | string;
}

export = function register(RED: NodeAPI): void {
  // Compiled once when Node-RED loads the node, never on the message path.
  const registry = defaultRegistry();

  function PlantSyncValidateNode(this: Node, config: ValidateNodeDef): void {
    RED.nodes.createNode(this, config);
    const property = config.property || 'payload';
    const toOutput = config.onInvalid !== 'error';
    const options = { upcast: config.upcast !== false, rejectSuperseded: config.rejectSuperseded === true };
    const maxBytes = Number(config.maxBytes) > 0 ? Number(config.maxBytes) : DEFAULT_MAX_EVENT_BYTES;
    const status = new CounterStatus((s) => this.status(s));
    let valid = 0;
    let invalid = 0;
    const counts = () => RED._('plantsync-validate.status.counts', { valid, invalid });

    this.on('input', (msg, send, done) => {
      let input: unknown;
      try {
        input = RED.util.getMessageProperty(msg, property);
      } catch (err) {
        failMessage(msg, new PlantSyncError('CONFIG_ERROR', `cannot read msg.${property}: ${(err as Error).message}`), done);
        return;
      }
      const parsed = parseEventInput(input, maxBytes);
      const result = parsed.ok ? registry.validate(parsed.value, options) : { valid: false as const, ...parsed };
      if (result.valid) {
        valid += 1;
        RED.util.setMessageProperty(msg, property, result.event, true);
        const meta = (msg as { plantsync?: Record<string, unknown> }).plantsync ?? {};
        (msg as { plantsync?: Record<string, unknown> }).plantsync = {
          ...meta,
          validation: result.upcastFrom ? { type: result.type, upcastFrom: result.upcastFrom } : { type: result.type },
        };
        status.update(STATUS.ok(counts()));
        send(toOutput ? [msg, null] : msg);
        done();
        return;
      }
      invalid += 1;
      status.update(STATUS.failed(counts()));
      const error = new PlantSyncError(result.code, result.message, result.errors);
      if (toOutput) {
        (msg as NodeMessage & { error?: unknown }).error = error.toJSON();
        // For an `http in` flow: the invalid output answers 422 as it is.
        (msg as NodeMessage & { statusCode?: number }).statusCode = statusForOutcome('invalid');
        send([null, msg]);
        done();
      } else {
        failMessage(msg, error, done);
      }
    });

    this.on('close', () => status.close());
  }

  RED.nodes.registerType('plantsync-validate', PlantSyncValidateNode);
};
