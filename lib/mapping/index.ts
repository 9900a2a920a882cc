/** Declarative canonical <-> vendor mapping: profiles, the engine, units and OData formats. */
export { MappingError, isMappingError, type Direction, type MappingIssue } from './errors';
export * from './types';
export * from './units';
export * from './odata';
export { createProfile, type MappingProfile } from './engine';
export { repeatKeyFor, externalKeyFor } from './repeat-keys';
export { omitPointers } from './paths';
export { FieldProblem } from './problem';
export { PROFILES, operationFor, profileNamed, type ProfileName } from './registry';
export { operationList, type OperationSummary } from './operation-list';
export { SAP_S4HANA, SAP_SERVICES, inventoryMovementType } from './profiles/sap-s4hana';
export { GENERIC_REST } from './profiles/generic-rest';
