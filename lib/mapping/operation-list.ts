/**
 * What a profile offers, in plain data: the editor lists a profile's operations from this (through
 * an admin endpoint), so its choices always match the installed profiles.
 */
import type { EventType } from '../canonical/events';
import type { MappingProfile } from './engine';
import type { FieldRule, VendorSystem } from './types';

export interface OperationSummary {
  name: string;
  kind: 'read' | 'write';
  system: VendorSystem;
  description: string;
  /** Writes: the canonical event types it posts (the request node picks it by the event's type). */
  eventTypes: EventType[];
  /** Reads: the parameters it takes, e.g. ["orderId"]. */
  params: string[];
}

/** The first member of each rule's canonical pointer ("/orderId" -> "orderId"), once each. */
function paramNames(rules: readonly FieldRule[]): string[] {
  const names = rules.flatMap((r) => (r.from === undefined ? [] : [r.from.split('/')[1]])).filter((n) => n);
  return [...new Set(names)];
}

export function operationList(profile: MappingProfile): OperationSummary[] {
  return Object.entries(profile.definition.operations).map(([name, spec]) => ({
    name,
    kind: spec.kind,
    system: spec.system,
    description: spec.description ?? '',
    eventTypes: spec.kind === 'write' ? spec.variants.map((v) => v.eventType) : [],
    params: spec.kind === 'read' ? paramNames([...(spec.params ?? []), ...(spec.query ?? [])]) : [],
  }));
}
