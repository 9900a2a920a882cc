/** The peer-system simulators for tests and the demo; see sim/README.md. */
export { startSapSimulator, type SapSimulatorOptions, type SapAuthOptions } from './sap-erp';
export { startMesSimulator } from './mes';
export { startWmsSimulator } from './wms';
export { startQmsSimulator } from './qms';
export type { RestSimulatorOptions } from './common/rest';
export type { RunningSimulator } from './common/server';
export type { LedgerEntry } from './common/ledger';
export type { FaultEntry, FaultPlanInput } from './common/faults';
