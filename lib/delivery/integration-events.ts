import { createEvent } from '../canonical/envelope';
import { isCanonicalEvent } from '../canonical/events';
import type { CanonicalEvent } from '../canonical/events';
import type { DeadLetterRecord, DeadLetterSelector } from './dead-letter-store';
import { normaliseErrorCode } from './dead-letter-selector';

/**
 * `mfg.integration.deadlettered.v1` / `.replayed.v1` about a dead-letter record, caused by (and
 * correlated with) its original event; null when the original is not a canonical event.
 */
export function integrationEvent(rec: DeadLetterRecord, kind: 'deadlettered' | 'replayed', siteid: string, selector?: DeadLetterSelector): CanonicalEvent | null {
  if (!isCanonicalEvent(rec.original)) return null;
  const ref = { originalId: rec.original.id, originalType: rec.original.type, originalSource: rec.original.source, attempts: rec.reason.attempts, deadLetterId: rec.id };
  const data =
    kind === 'deadlettered'
      ? {
          ...ref,
          errors: [{ code: normaliseErrorCode(rec.reason.code), message: rec.reason.message.slice(0, 500) || 'failed' }],
          firstFailureAt: rec.reason.firstFailureAt,
          lastFailureAt: rec.reason.lastFailureAt,
          ...(rec.flow ? { flow: rec.flow.id } : {}),
          ...(rec.node ? { node: rec.node.id } : {}),
        }
      : { ...ref, replayCount: rec.replayCount, selector: JSON.stringify(selector ?? {}).slice(0, 500) };
  return createEvent({
    type: `mfg.integration.${kind}.v1`,
    source: `/plants/${siteid}/node-red`,
    siteid,
    cause: rec.original,
    // The same record can be dead-lettered and replayed several times: each is its own fact.
    idempotencykey: `mfg.integration.${kind}:${rec.id}:${kind === 'replayed' ? rec.replayCount : rec.reason.lastFailureAt}`,
    data,
  });
}
