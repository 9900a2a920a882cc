/** PlantSync core: pure TypeScript, no Node-RED imports (the node wrappers depend on this, never the reverse). */
export * from './errors';
export * from './canonical/catalogue';
export * from './canonical/events';
export * from './canonical/envelope';
export * from './canonical/json-pointer';
export * from './canonical/stable-json';
export { UPCASTERS, type Upcaster } from './canonical/upcasters';
export * from './validation/ajv-factory';
export * from './validation/event-input';
export * from './validation/problems';
export * from './validation/schema-registry';
export * from './delivery/retry-policy';
export * from './delivery/failure-classifier';
export * from './delivery/circuit-breaker';
export * from './delivery/outbox';
export * from './delivery/dead-letter-store';
export * from './delivery/dead-letter-selector';
export * from './delivery/integration-events';
export * from './delivery/settlement';
export * from './idempotency/idempotency-store';
export * from './idempotency/sqlite-store';
export * from './idempotency/postgres-store';
export * from './idempotency/open-store';
export * from './idempotency/keys';
export * from './mapping';
export * from './adapters';
// The RabbitMQ transport as a namespace: its TransportError (broker failures) would clash with the
// adapters' HTTP TransportError.
export * as transport from './transport';
