import { PlantSyncError } from '../errors';
import { createProfile, type MappingProfile } from './engine';
import { MappingError, show } from './errors';
import { GENERIC_REST } from './profiles/generic-rest';
import { SAP_S4HANA } from './profiles/sap-s4hana';
import type { WriteOperation } from './types';

/** The built-in profiles, compiled once. A plant's variant: createProfile(PROFILES['sap-s4hana'], overrides). */
export const PROFILES: Readonly<Record<'sap-s4hana' | 'generic-rest', MappingProfile>> = Object.freeze({
  'sap-s4hana': createProfile(SAP_S4HANA),
  'generic-rest': createProfile(GENERIC_REST),
});

export type ProfileName = keyof typeof PROFILES;

export function profileNamed(name: string): MappingProfile {
  if (!Object.hasOwn(PROFILES, name)) {
    throw new PlantSyncError('CONFIG_ERROR', `no mapping profile ${name} (has: ${Object.keys(PROFILES).join(', ')})`);
  }
  return PROFILES[name as ProfileName];
}

/**
 * The write operation for an incoming canonical event type (mfg.material.consumed.v1 ->
 * goodsMovement on SAP, consumeMaterial on generic REST), so a request node maps any supported
 * event without the user choosing. A type the profile does not write is a MappingError on /type.
 */
export function operationFor(profile: string | MappingProfile, eventType: string): WriteOperation {
  const p = typeof profile === 'string' ? profileNamed(profile) : profile;
  const op = p.writeFor(eventType);
  if (op) return op;
  throw new MappingError('toVendor', [{
    field: '/type',
    pointer: '/type',
    value: eventType,
    keyword: 'operation',
    problem: `${p.name} has no write operation for ${show(eventType)} (writes ${p.writableEventTypes().join(', ')})`,
  }], { profile: p.name });
}
