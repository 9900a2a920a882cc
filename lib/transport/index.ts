/** AMQP (RabbitMQ) transport: the pure core behind plantsync-broker, -publish and -consume. */
export * from './broker-connection';
export * from './consumer';
export * from './message';
export * from './publisher';
export * from './replay';
export * from './topology';
export * from './transport-error';
export * from './local-bus';
