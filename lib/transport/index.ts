/** Transports (RabbitMQ and the local bus) and their selection: the pure core behind plantsync-broker, -publish and -consume. */
export * from './broker-connection';
export * from './consumer';
export * from './message';
export * from './node-transport';
export * from './publisher';
export * from './replay';
export * from './retry-tiers';
export * from './selection';
export * from './shared-transports';
export * from './topology';
export * from './transport-error';
export * from './local-bus';
