/** The outbound HTTP layer: transport, auth, SAP CSRF sessions, correlation, the endpoint client and openEndpoint (client + compiled profile). */
export * from './adapter-errors';
export * from './auth';
export * from './cookie-jar';
export * from './correlation';
export * from './csrf';
export * from './endpoint-client';
export * from './http-transport';
export * from './profile-call';
export * from './endpoint';
