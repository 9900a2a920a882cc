/**
 * The settings of a `plantsync-endpoint`, read and checked at deploy. The ranges here are the
 * ones the editor's validators enforce (plantsync-endpoint.html) and the help documents; a test
 * checks the three agree.
 */
import * as fs from 'node:fs';
import type { NodeDef } from 'node-red';
import type { TargetRole } from '../../lib/adapters/adapter-errors';
import type { EndpointConfig } from '../../lib/adapters/endpoint';
import { timeZoneProblem } from '../../lib/mapping/plant-time';
import type { ProfileOverrides } from '../../lib/mapping/types';
import { ConfigCheck, type NumberSetting } from '../shared/config-check';
import type { ProfileName } from '../shared/endpoint-node';

export interface EndpointNodeDef extends NodeDef {
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
  /** Seconds an open circuit waits before its first trial call; doubles while trials fail. */
  probeSeconds?: string | number;
  /** The longest wait between trial calls (the doubling's cap); before probeSeconds existed, the one fixed wait. */
  openSeconds?: string | number;
  /** IANA name of the plant's time zone (SAP dates and times are its wall clock); empty: UTC. */
  timeZone?: string;
  overrides?: string;
}

type NumericField = 'timeoutMs' | 'ratePerSec' | 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs' | 'failureThreshold' | 'probeSeconds' | 'openSeconds';

export const ENDPOINT_RANGES: Readonly<Record<NumericField, NumberSetting>> = {
  timeoutMs: { label: 'timeout', min: 100, max: 600000, integer: true, unit: 'ms', fallback: 30000 },
  ratePerSec: { label: 'rate limit', min: 0, max: 10000, unit: 'requests/s (0: unlimited)', fallback: 0 },
  maxAttempts: { label: 'attempts', min: 1, max: 20, integer: true, fallback: 5 },
  baseDelayMs: { label: 'first retry delay', min: 0, max: 600000, integer: true, unit: 'ms', fallback: 500 },
  maxDelayMs: { label: 'longest retry delay', min: 0, max: 3600000, integer: true, unit: 'ms', fallback: 30000 },
  failureThreshold: { label: 'open circuit after', min: 1, max: 1000, integer: true, unit: 'failures', fallback: 5 },
  probeSeconds: { label: 'first trial after', min: 1, max: 3600, integer: true, unit: 's', fallback: 2 },
  openSeconds: { label: 'longest circuit pause', min: 1, max: 3600, integer: true, unit: 's', fallback: 60 },
};

/**
 * Reads the node's settings into the plain configuration `openEndpoint` takes; every problem ends
 * up in `problem`, nothing throws. The overrides are parsed here and compiled there, once.
 */
export function readEndpointSettings(config: EndpointNodeDef): EndpointConfig {
  const check = new ConfigCheck(config);
  const profile: ProfileName = config.profile === 'generic-rest' ? 'generic-rest' : 'sap-s4hana';
  const baseUrl = check.url('baseUrl', 'base URL', ['http:', 'https:'], 'https://erp.example.com:44300');
  if (config.authType === 'oauth2') check.url('tokenUrl', 'token URL', ['http:', 'https:'], 'https://login.example.com/oauth2/token');

  const numbers = {} as Record<NumericField, number>;
  for (const field of Object.keys(ENDPOINT_RANGES) as NumericField[]) numbers[field] = check.number(field, ENDPOINT_RANGES[field]);
  if (numbers.baseDelayMs > numbers.maxDelayMs) {
    check.add('baseDelayMs', `first retry delay ${numbers.baseDelayMs} ms is above the longest retry delay ${numbers.maxDelayMs} ms`);
  }
  if (numbers.probeSeconds > numbers.openSeconds) {
    check.add('probeSeconds', `first trial after ${numbers.probeSeconds} s is above the longest circuit pause ${numbers.openSeconds} s`);
  }

  const tls: { rejectUnauthorized: boolean; ca?: Buffer } = { rejectUnauthorized: config.rejectUnauthorized !== false };
  if (config.caFile && config.caFile.trim()) {
    try {
      tls.ca = fs.readFileSync(config.caFile.trim());
    } catch (err) {
      check.add('caFile', `CA file ${config.caFile.trim()} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }

  const timeZone = (config.timeZone ?? '').trim() || 'UTC';
  const zoneProblem = timeZoneProblem(timeZone);
  if (zoneProblem) check.add('timeZone', `plant ${zoneProblem}`);

  let overrides: ProfileOverrides = {};
  // Empty means "no overrides"; a broken one must not silently post with the profile's codes.
  if (config.overrides && config.overrides.trim()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(config.overrides);
    } catch (err) {
      check.add('overrides', `overrides are not valid JSON: ${(err as Error).message} (leave the field empty for none)`);
    }
    if (parsed !== undefined && (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))) {
      check.add('overrides', 'overrides: expected a JSON object like {"valueMaps": {...}} (leave the field empty for none)');
    } else if (parsed !== undefined) {
      overrides = parsed as ProfileOverrides;
    }
  }

  const { user, apiKeyHeader, tokenUrl, clientId, scope } = config;
  return {
    role: config.role ?? 'ERP',
    profile,
    baseUrl: baseUrl ? config.baseUrl.trim() : undefined,
    auth: { type: config.authType ?? 'none', user, apiKeyHeader, tokenUrl, clientId, scope },
    tls,
    timeoutMs: numbers.timeoutMs,
    ratePerSec: numbers.ratePerSec,
    retry: { maxAttempts: numbers.maxAttempts, baseDelayMs: numbers.baseDelayMs, maxDelayMs: numbers.maxDelayMs },
    breaker: { failureThreshold: numbers.failureThreshold, openMs: numbers.probeSeconds * 1000, maxOpenMs: numbers.openSeconds * 1000 },
    overrides,
    timeZone: zoneProblem ? undefined : timeZone,
    problem: check.error(),
  };
}
