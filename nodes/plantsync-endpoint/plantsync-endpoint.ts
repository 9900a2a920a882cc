import type { NodeAPI } from 'node-red';
import { apiKeyAuth, basicAuth, noAuth, oauth2ClientCredentials, type AuthProvider } from '../../lib/adapters/auth';
import type { TargetRole } from '../../lib/adapters/adapter-errors';
import { EndpointClient, type SendResult } from '../../lib/adapters/endpoint-client';
import type { PlantSyncError } from '../../lib/errors';
import type { EndpointCredentials, PlantSyncEndpointNode } from '../shared/endpoint-node';
import { readEndpointSettings, type EndpointNodeDef } from './endpoint-settings';

/**
 * The client of an unusable endpoint: every send fails with the endpoint's CONFIG_ERROR. It
 * points at a reserved, never-resolving host (RFC 6761 `.invalid`) and never opens a socket.
 */
class RefusingClient extends EndpointClient {
  constructor(role: TargetRole, private readonly problem: PlantSyncError) {
    super({ baseUrl: 'http://unusable.invalid/', role, repeatability: 'none', breaker: false });
  }

  override send(): Promise<SendResult> {
    return Promise.reject(this.problem);
  }
}

export = function register(RED: NodeAPI): void {
  function PlantSyncEndpointNode(this: PlantSyncEndpointNode, config: EndpointNodeDef): void {
    RED.nodes.createNode(this, config);
    const creds: EndpointCredentials = this.credentials ?? {};
    const settings = readEndpointSettings(config);
    const { tls, numbers: n } = settings;

    let auth: AuthProvider = noAuth;
    switch (config.authType) {
      case 'basic':
        auth = basicAuth(config.user ?? '', creds.password ?? '');
        break;
      case 'apikey':
        auth = apiKeyAuth(config.apiKeyHeader || 'X-API-Key', creds.apiKey ?? '');
        break;
      case 'oauth2':
        auth = oauth2ClientCredentials({ tokenUrl: config.tokenUrl ?? '', clientId: config.clientId ?? '', clientSecret: creds.clientSecret ?? '', scope: config.scope || undefined, tls });
        break;
    }

    this.role = settings.role;
    this.profileName = settings.profile;
    this.overrides = settings.overrides;
    this.configProblem = settings.error;
    this.configError = settings.error?.message;
    this.assertUsable = () => {
      if (this.configProblem) throw this.configProblem;
    };
    if (settings.error || !settings.baseUrl) {
      // One line, no stack: what to fix. Request nodes report it per message as CONFIG_ERROR.
      this.error(settings.error?.message);
      this.client = new RefusingClient(this.role as TargetRole, settings.error as PlantSyncError);
    } else {
      this.client = new EndpointClient({
        baseUrl: settings.baseUrl,
        role: this.role as TargetRole,
        auth,
        tls,
        timeoutMs: n.timeoutMs,
        ratePerSec: n.ratePerSec || undefined,
        retry: { maxAttempts: n.maxAttempts, baseDelayMs: n.baseDelayMs, maxDelayMs: n.maxDelayMs },
        breaker: { failureThreshold: n.failureThreshold, openMs: n.openSeconds * 1000 },
        csrf: settings.profile === 'sap-s4hana',
        repeatability: settings.profile === 'sap-s4hana' ? 'sap' : 'idempotency-key',
      });
    }

    this.on('close', () => this.client.close());
  }

  RED.nodes.registerType<PlantSyncEndpointNode, EndpointNodeDef, unknown, EndpointCredentials>('plantsync-endpoint', PlantSyncEndpointNode, {
    credentials: {
      password: { type: 'password' },
      apiKey: { type: 'password' },
      clientSecret: { type: 'password' },
    },
  });
};
