/**
 * TypeScript types for the canonical envelope and the data of every catalogue event. They mirror
 * the JSON Schemas in `schemas/`; the schemas stay the authority at run time.
 */

export interface Quantity {
  value: number;
  /** UN/ECE Recommendation 20 or ISO unit code: EA, KGM, KG, MTR... */
  uom: string;
}

export interface Reason {
  code: string;
  text?: string;
}

export type RequestState = 'Forecast' | 'Released' | 'Ready' | 'Waiting' | 'Running' | 'Completed' | 'Aborted' | 'Held';
export type MaterialUse =
  | 'Consumed' | 'Produced' | 'Consumable' | 'Sample' | 'Returned Sample' | 'Carrier' | 'Returned Carrier' | 'Other';
export type StockType = 'Unrestricted' | 'QualityInspection' | 'Blocked';
export type LotDisposition = 'Unrestricted' | 'Restricted' | 'Blocked' | 'Closed';
export type EquipmentState = 'Running' | 'Idle' | 'Setup' | 'Starved' | 'Blocked' | 'Down' | 'Maintenance' | 'Off';
export type EquipmentLevel =
  | 'Enterprise' | 'Site' | 'Area' | 'ProcessCell' | 'Unit' | 'ProductionLine' | 'WorkCell' | 'ProductionUnit'
  | 'StorageZone' | 'StorageUnit' | 'WorkCenter' | 'WorkUnit' | 'EquipmentModule' | 'ControlModule';
export type SystemRole = 'ERP' | 'APS' | 'MES' | 'WMS' | 'QMS' | 'EAM' | 'BROKER';

export interface Reservation {
  number: string;
  item?: string;
}

export interface MaterialRequirement {
  material: string;
  lot?: string;
  quantity: Quantity;
  use: MaterialUse;
  storageLocation?: string;
  reservation?: Reservation;
}

export interface Operation {
  operationId: string;
  description?: string;
  workCenter: string;
  plannedStart?: string;
  plannedEnd?: string;
  quantity?: Quantity;
  materialRequirements?: MaterialRequirement[];
}

export interface ProductionOrderData {
  orderId: string;
  revision: number;
  material: string;
  quantity: Quantity;
  plannedStart: string;
  plannedEnd: string;
  site: string;
  area?: string;
  workCenter?: string;
  state: RequestState;
  priority?: number;
  operations: Operation[];
  /** Requirements not assigned to an operation (SAP components without operation assignment). */
  materialRequirements?: MaterialRequirement[];
}

export interface ProductionOrderRevisedData extends ProductionOrderData {
  changeReason?: Reason;
}

export interface ProductionOrderCancelledData {
  orderId: string;
  revision?: number;
  site: string;
  reason: Reason;
  cancelledBy?: string;
}

export interface ReleaseRejectionReason {
  category: 'routing' | 'resource' | 'material' | 'capacity' | 'data';
  code: string;
  message: string;
  operationId?: string;
  material?: string;
}

export interface ProductionOrderReleaseRejectedData {
  orderId: string;
  revision: number;
  site: string;
  reasons: ReleaseRejectionReason[];
}

export interface MaterialActualData {
  orderId: string;
  operationId?: string;
  material: string;
  lot?: string;
  sublot?: string;
  quantity: Quantity;
  site: string;
  storageLocation: string;
  reservation?: Reservation;
}

export interface MaterialConsumedData extends MaterialActualData {
  finalIssue?: boolean;
}

export interface MaterialReturnedData extends MaterialActualData {
  reason?: Reason;
}

/** The source's own id of a goods movement: the identity (and idempotency key) from v2 on. */
interface MovementIdentity {
  movementId: string;
}

export interface MaterialConsumedV2Data extends MaterialConsumedData, MovementIdentity {}
export interface MaterialReturnedV2Data extends MaterialReturnedData, MovementIdentity {}

interface OperationCompletedBase {
  orderId: string;
  operationId: string;
  workCenter: string;
  site: string;
  actualStart: string;
  actualEnd: string;
  yield: Quantity;
  scrap: Quantity;
  rework?: Quantity;
  varianceReason?: Reason;
  personnel?: string;
}

export interface OperationCompletedV1Data extends OperationCompletedBase {
  final: boolean;
}

export interface OperationCompletedV2Data extends OperationCompletedBase {
  confirmationType: 'Partial' | 'Final';
}

export interface OperationCompletedV3Data extends OperationCompletedV2Data {
  /** The MES's own confirmation id: the identity (and idempotency key) from v3 on. */
  confirmationId: string;
}

export interface ProductionConfirmedData {
  orderId: string;
  site: string;
  material: string;
  yield: Quantity;
  scrap: Quantity;
  producedLot?: string;
  erpConfirmation: string;
  final: boolean;
}

export interface StorageLocation {
  site: string;
  storageLocation: string;
  bin?: string;
  stockType: StockType;
}

export interface InventoryMovedData {
  material: string;
  lot?: string;
  quantity: Quantity;
  from: StorageLocation;
  to: StorageLocation;
  handlingUnit?: string;
  reason?: Reason;
}

export interface InventoryMovedV2Data extends InventoryMovedData, MovementIdentity {}

export interface QualityDispositionChangedData {
  lot: string;
  material: string;
  site: string;
  quantity?: Quantity;
  from: LotDisposition;
  to: LotDisposition;
  decision: 'Hold' | 'Release' | 'Reject' | 'Rework';
  decisionCode?: string;
  inspectionLot?: string;
  decidedBy: string;
  decidedAt: string;
  reason?: Reason;
}

export interface EquipmentStateChangedData {
  equipmentId: string;
  level: EquipmentLevel;
  site: string;
  workCenter?: string;
  state: EquipmentState;
  previousState?: EquipmentState;
  reason?: Reason;
}

export interface EquipmentStateChangedV2Data extends EquipmentStateChangedData {
  /** The source's time stamp of the change (OPC UA SourceTimestamp): with the equipment, its identity. */
  changedAt: string;
}

export interface DowntimeStartedData {
  downtimeId: string;
  equipmentId: string;
  workCenter?: string;
  site: string;
  reason: Reason;
  planned: boolean;
  start: string;
  /** Percent of the work centre's capacity lost, 0..100. */
  capacityImpact: number;
}

export interface DowntimeEndedData extends Omit<DowntimeStartedData, 'capacityImpact' | 'planned'> {
  planned?: boolean;
  capacityImpact?: number;
  end: string;
  durationSeconds?: number;
}

export interface IntegrationTarget {
  system: string;
  role: SystemRole;
}

export interface ErrorDetail {
  code: string;
  message: string;
  pointer?: string;
}

interface IntegrationRef {
  originalId: string;
  originalType: string;
  originalSource?: string;
  attempts: number;
}

export interface IntegrationAcknowledgedData extends IntegrationRef {
  target: IntegrationTarget;
  status: 'Accepted' | 'Duplicate';
  documentNumber?: string;
}

export interface IntegrationFailedData extends IntegrationRef {
  target: IntegrationTarget;
  retryable: boolean;
  errors: ErrorDetail[];
}

export interface IntegrationDeadLetteredData extends IntegrationRef {
  target?: IntegrationTarget;
  deadLetterId: string;
  errors: ErrorDetail[];
  firstFailureAt: string;
  lastFailureAt: string;
  flow?: string;
  node?: string;
}

export interface IntegrationReplayedData extends IntegrationRef {
  target?: IntegrationTarget;
  deadLetterId: string;
  replayCount: number;
  replayedBy?: string;
  selector?: string;
}

/** Data type of every catalogue event type, by its full versioned name. */
export interface EventDataByType {
  'mfg.productionorder.released.v1': ProductionOrderData;
  'mfg.productionorder.revised.v1': ProductionOrderRevisedData;
  'mfg.productionorder.cancelled.v1': ProductionOrderCancelledData;
  'mfg.productionorder.releaserejected.v1': ProductionOrderReleaseRejectedData;
  'mfg.material.consumed.v1': MaterialConsumedData;
  'mfg.material.consumed.v2': MaterialConsumedV2Data;
  'mfg.material.returned.v1': MaterialReturnedData;
  'mfg.material.returned.v2': MaterialReturnedV2Data;
  'mfg.operation.completed.v1': OperationCompletedV1Data;
  'mfg.operation.completed.v2': OperationCompletedV2Data;
  'mfg.operation.completed.v3': OperationCompletedV3Data;
  'mfg.production.confirmed.v1': ProductionConfirmedData;
  'mfg.inventory.moved.v1': InventoryMovedData;
  'mfg.inventory.moved.v2': InventoryMovedV2Data;
  'mfg.quality.disposition.changed.v1': QualityDispositionChangedData;
  'mfg.equipment.state.changed.v1': EquipmentStateChangedData;
  'mfg.equipment.state.changed.v2': EquipmentStateChangedV2Data;
  'mfg.equipment.downtime.started.v1': DowntimeStartedData;
  'mfg.equipment.downtime.ended.v1': DowntimeEndedData;
  'mfg.integration.acknowledged.v1': IntegrationAcknowledgedData;
  'mfg.integration.failed.v1': IntegrationFailedData;
  'mfg.integration.deadlettered.v1': IntegrationDeadLetteredData;
  'mfg.integration.replayed.v1': IntegrationReplayedData;
}

export type EventType = keyof EventDataByType;

/** The CloudEvents 1.0 structured envelope with PlantSync's extension attributes. */
export interface CanonicalEvent<T = unknown, K extends string = string> {
  specversion: '1.0';
  id: string;
  source: string;
  type: K;
  subject: string;
  time: string;
  datacontenttype?: 'application/json';
  dataschema?: string;
  correlationid?: string;
  causationid?: string;
  idempotencykey?: string;
  siteid?: string;
  sequence?: number;
  data: T;
  /** Other CloudEvents extension attributes (lower-case names, scalar values). */
  [extension: string]: unknown;
}

export type EventOf<K extends EventType> = CanonicalEvent<EventDataByType[K], K>;

/** True when a value has the shape of a canonical event (not a validation: a quick recognition). */
export function isCanonicalEvent(value: unknown): value is CanonicalEvent {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return v.specversion === '1.0' && typeof v.id === 'string' && typeof v.type === 'string' && 'data' in v;
}
