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
