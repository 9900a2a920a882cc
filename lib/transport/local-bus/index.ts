/** Embedded default transport: a durable local bus on SQLite with the RabbitMQ core's semantics. */
export * from './local-bus';
export { LOCAL_EXCHANGE, LocalConsumer, type LocalConsumeOptions } from './local-consumer';
export { anyTopicMatcher, topicMatcher, type TopicMatcher } from './topic';
