import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { CATALOGUE, currentEventTypes } from '../../lib/canonical/catalogue';
import { createEvent } from '../../lib/canonical/envelope';
import { isCanonicalEvent } from '../../lib/canonical/events';
import type { CanonicalEvent } from '../../lib/canonical/events';
import { PlantSyncError } from '../../lib/errors';
import { defaultRegistry } from '../../lib/validation/schema-registry';
import { failMessage } from '../shared/fail';
import { CounterStatus, STATUS } from '../shared/status';
import { evaluateProperty } from '../shared/typed-input';

interface EventNodeDef extends NodeDef {
  eventType: string;
  eventTypeType?: string;
  data?: string;
  dataType?: string;
  subject?: string;
  subjectType?: string;
  source?: string;
  sourceType?: string;
  siteid?: string;
  siteidType?: string;
  time?: string;
  timeType?: string;
  idempotencykey?: string;
  idempotencykeyType?: string;
  validate?: boolean;
}

/** TypedInput types of this node's own that mean "PlantSync decides" rather than a value. */
const AUTO = new Set(['auto', 'now']);

type Msg = NodeMessage & { event?: unknown; correlationid?: unknown };

/**
 * The causing event: `msg.event` when a flow kept it there while reshaping the payload, else
 * `msg.payload` when that is itself a canonical event.
 */
function causeOf(msg: Msg): CanonicalEvent | undefined {
  if (isCanonicalEvent(msg.event)) return msg.event;
  if (isCanonicalEvent(msg.payload)) return msg.payload;
  return undefined;
}

function asOptionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  throw new PlantSyncError('INVALID_INPUT', `${name} must be a string`, [{ pointer: `/${name}`, message: 'must be a string', keyword: 'type' }]);
}

export = function register(RED: NodeAPI): void {
  const registry = defaultRegistry();

  // The editor fills its event-type list from here, so it always matches the installed catalogue.
  RED.httpAdmin.get('/plantsync/event-types', RED.auth.needsPermission('plantsync-event.read'), (_req, res) => {
    res.json(currentEventTypes().map((type) => {
      const family = CATALOGUE.get(type.replace(/\.v\d+$/, ''));
      return { type, isa95: family?.isa95, accepted: family?.accepted };
    }));
  });

  function PlantSyncEventNode(this: Node, config: EventNodeDef): void {
    RED.nodes.createNode(this, config);
    const prop = (value: string | undefined, type: string | undefined, fallbackType: string) => ({
      value: value ?? '',
      type: type || fallbackType,
    });
    const eventType = prop(config.eventType, config.eventTypeType, 'catalogue');
    const data = prop(config.data || 'payload', config.dataType, 'msg');
    const subject = prop(config.subject, config.subjectType, 'auto');
    const source = prop(config.source || '/plants/${PLANT_ID}/node-red', config.sourceType, 'env');
    const siteid = prop(config.siteid || 'PLANT_ID', config.siteidType, 'env');
    const time = prop(config.time, config.timeType, 'now');
    const key = prop(config.idempotencykey, config.idempotencykeyType, 'auto');
    const validate = config.validate !== false;
    const status = new CounterStatus((s) => this.status(s));
    let created = 0;
    let failed = 0;
    const counts = () => RED._(failed ? 'plantsync-event.status.countsFailed' : 'plantsync-event.status.counts', { created, failed });

    const evaluate = (p: { value: string; type: string }, msg: NodeMessage): Promise<unknown> => {
      if (AUTO.has(p.type)) return Promise.resolve(undefined);
      const type = p.type === 'catalogue' ? 'str' : p.type;
      return evaluateProperty(RED, this, p.value, type, msg);
    };

    const build = async (msg: Msg): Promise<CanonicalEvent> => {
      const [type, payload, subj, src, site, when, idem] = await Promise.all(
        [eventType, data, subject, source, siteid, time, key].map((p) => evaluate(p, msg)),
      );
      if (typeof type !== 'string' || type === '') {
        throw new PlantSyncError('CONFIG_ERROR', 'no event type', [{ pointer: '/type', message: 'is required', keyword: 'required' }]);
      }
      if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
        throw new PlantSyncError('INVALID_INPUT', 'event data must be an object', [{ pointer: '/data', message: 'must be an object', keyword: 'type' }]);
      }
      const cause = causeOf(msg);
      const correlation = asOptionalString(msg.correlationid, 'correlationid');
      const timeValue = when instanceof Date || typeof when === 'number' ? new Date(when) : asOptionalString(when, 'time');
      return createEvent({
        type,
        source: String(src ?? ''),
        siteid: asOptionalString(site, 'siteid'),
        subject: asOptionalString(subj, 'subject'),
        time: timeValue,
        idempotencykey: asOptionalString(idem, 'idempotencykey'),
        cause,
        correlationid: correlation,
        data: payload,
      });
    };

    this.on('input', (msg: Msg, send, done) => {
      build(msg)
        .then((event) => {
          if (validate) {
            const result = registry.validate(event, { upcast: false, rejectSuperseded: true });
            if (!result.valid) throw new PlantSyncError(result.code, result.message, result.errors);
          }
          msg.payload = event;
          msg.correlationid = event.correlationid;
          created += 1;
          status.update(STATUS.ok(counts()));
          send(msg);
          done();
        })
        .catch((err: unknown) => {
          failed += 1;
          status.update(STATUS.failed(counts()));
          failMessage(msg, err, done);
        });
    });

    this.on('close', () => status.close());
  }

  RED.nodes.registerType('plantsync-event', PlantSyncEventNode);
};
