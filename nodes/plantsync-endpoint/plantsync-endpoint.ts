import * as fs from 'node:fs';
import type { NodeAPI, NodeDef } from 'node-red';
import { apiKeyAuth, basicAuth, noAuth, oauth2ClientCredentials, type AuthProvider } from '../../lib/adapters/auth';
import type { TargetRole } from '../../lib/adapters/adapter-errors';
import { EndpointClient } from '../../lib/adapters/endpoint-client';
import type { EndpointCredentials, PlantSyncEndpointNode, ProfileName } from '../shared/endpoint-node';

interface EndpointNodeDef extends NodeDef {
  role?: TargetRole;
  profile?: ProfileName;
  baseUrl: string;
  authType?: 'none' | 'basic' | 'apikey' | 'oauth2';
  user?: string;
  apiKeyHeader?: string;
  tokenUrl?: string;
  clientId?: string;
  scope?: string;
  timeoutMs?: string | number;
  rejectUnauthorized?: boolean;
  caFile?: string;
  ratePerSec?: string | number;
  maxAttempts?: string | number;
  baseDelayMs?: string | number;
  maxDelayMs?: string | number;
  failureThreshold?: string | number;
  openSeconds?: string | number;
  overrides?: string;
}

const num = (v: string | number | undefined, fallback: number) => (v === undefined || v === '' || Number.isNaN(Number(v)) ? fallback : Number(v));

export = function register(RED: NodeAPI): void {
  function PlantSyncEndpointNode(this: PlantSyncEndpointNode, config: EndpointNodeDef): void {
    RED.nodes.createNode(this, config);
    const creds: EndpointCredentials = this.credentials ?? {};
    const profile: ProfileName = config.profile === 'generic-rest' ? 'generic-rest' : 'sap-s4hana';
    const tls = { rejectUnauthorized: config.rejectUnauthorized !== false, ...(config.caFile ? { ca: fs.readFileSync(config.caFile) } : {}) };

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

    let overrides: Record<string, unknown> = {};
    if (config.overrides && config.overrides.trim()) {
      try {
        overrides = JSON.parse(config.overrides) as Record<string, unknown>;
      } catch (err) {
        // Posting with the profile's defaults instead of the plant's codes would be silently wrong.
        this.configError = `the plant overrides are not valid JSON: ${(err as Error).message}`;
        this.error(this.configError);
      }
    }

    this.role = config.role ?? 'ERP';
    this.profileName = profile;
    this.overrides = overrides;
    this.client = new EndpointClient({
      baseUrl: config.baseUrl,
      role: this.role as TargetRole,
      auth,
      tls,
      timeoutMs: num(config.timeoutMs, 30000),
      ratePerSec: num(config.ratePerSec, 0) || undefined,
      retry: { maxAttempts: num(config.maxAttempts, 5), baseDelayMs: num(config.baseDelayMs, 500), maxDelayMs: num(config.maxDelayMs, 30000) },
      breaker: { failureThreshold: num(config.failureThreshold, 5), openMs: num(config.openSeconds, 30) * 1000 },
      csrf: profile === 'sap-s4hana',
      repeatability: profile === 'sap-s4hana' ? 'sap' : 'idempotency-key',
    });

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
