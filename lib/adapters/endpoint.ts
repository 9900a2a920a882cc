/**
 * One target endpoint, opened once from its plain configuration (a `plantsync-endpoint` config
 * node's settings): the HTTP client and the mapping profile compiled with the plant's overrides.
 * Every request node on the endpoint shares both, so the profile is compiled once per deploy and
 * one breaker, rate limit and CSRF session guard the target.
 *
 * What the client sends follows the profile's declarations, never its name: each write carries
 * the repeat header its operation declares (through profile-call), and CSRF tokens are fetched
 * when the profile's writes name a CSRF service root.
 */
import type { CanonicalEvent } from '../canonical/events';
import { PlantSyncError, type Problem } from '../errors';
import { createProfile, type MappingProfile } from '../mapping/engine';
import { profileNamed } from '../mapping/registry';
import type { ProfileOverrides } from '../mapping/types';
import type { TargetRole } from './adapter-errors';
import { apiKeyAuth, basicAuth, noAuth, oauth2ClientCredentials, type AuthProvider } from './auth';
import { EndpointClient, repeatabilityOf, type RepeatabilityMode, type SendResult } from './endpoint-client';
import type { TlsOptions } from './http-transport';
import { callRead, callWrite, type CallResult, type WriteOptions } from './profile-call';

export interface EndpointCredentials {
  password?: string;
  apiKey?: string;
  clientSecret?: string;
}

export interface EndpointAuthConfig {
  type?: 'none' | 'basic' | 'apikey' | 'oauth2';
  user?: string;
  /** API key auth: the header that carries the key; X-API-Key when empty. */
  apiKeyHeader?: string;
  tokenUrl?: string;
  clientId?: string;
  scope?: string;
}

export interface EndpointConfig {
  role: TargetRole;
  /** A built-in profile's name ('sap-s4hana', 'generic-rest') or a compiled profile. */
  profile: string | MappingProfile;
  /** Absent when the settings hold none that works; `problem` then says why. */
  baseUrl?: string;
  auth?: EndpointAuthConfig;
  tls?: TlsOptions;
  timeoutMs?: number;
  /** Requests per second; 0 or absent: unlimited. */
  ratePerSec?: number;
  retry?: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
  /** openMs: the first open interval; it doubles while trials fail, up to maxOpenMs. */
  breaker?: { failureThreshold: number; openMs: number; maxOpenMs?: number };
  /** The plant's value-map and unit overrides, applied on top of the profile. */
  overrides?: ProfileOverrides;
  /** IANA time zone of the plant: SAP posting dates and times are its wall clock (default UTC). */
  timeZone?: string;
  /** The CONFIG_ERROR reading the settings found; the endpoint then opens unusable. */
  problem?: PlantSyncError;
}

export interface EndpointOptions {
  /** Gets the one line naming the fix when the endpoint is unusable. */
  logger: { error(message: string): void };
  clock?: { now(): number; sleep?(ms: number): Promise<void> };
}

export interface OpenEndpoint {
  readonly role: TargetRole;
  readonly client: EndpointClient;
  /** The profile compiled with the overrides; undefined only when the endpoint is unusable. */
  readonly profile: MappingProfile | undefined;
  /** The overrides in force ({} when none or when they were refused). */
  readonly overrides: ProfileOverrides;
  /** Why the endpoint cannot be used (CONFIG_ERROR, one line naming the fix); undefined when usable. */
  readonly problem: PlantSyncError | undefined;
  /** Throws `problem` when the endpoint is unusable. */
  assertUsable(): void;
  /** Posts an event with the write operation for its type: looked up first when an earlier attempt's outcome is unknown; `firstSentAt` when it repeats an earlier attempt. */
  write(event: CanonicalEvent, options?: WriteOptions): Promise<CallResult>;
  /** Reads with a named read operation. */
  read(operation: string, params: Record<string, string>, correlationId?: string): Promise<CallResult>;
  close(): void;
}

/**
 * The client of an unusable endpoint: every send fails with the endpoint's CONFIG_ERROR, so
 * nothing reaches a target with a wrong configuration even when a caller forgets to check. It
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

function authOf(auth: EndpointAuthConfig | undefined, creds: EndpointCredentials, tls: TlsOptions | undefined, now: (() => number) | undefined): AuthProvider {
  switch (auth?.type) {
    case 'basic':
      return basicAuth(auth.user ?? '', creds.password ?? '');
    case 'apikey':
      return apiKeyAuth(auth.apiKeyHeader || 'X-API-Key', creds.apiKey ?? '');
    case 'oauth2':
      return oauth2ClientCredentials({ tokenUrl: auth.tokenUrl ?? '', clientId: auth.clientId ?? '', clientSecret: creds.clientSecret ?? '', scope: auth.scope || undefined, tls, now });
    default:
      return noAuth;
  }
}

/** Compiles the profile once with the overrides; a refusal is a problem at /overrides, never a throw. */
function compile(config: EndpointConfig, problems: Problem[]): { profile?: MappingProfile; overrides: ProfileOverrides } {
  let base: MappingProfile;
  try {
    base = typeof config.profile === 'string' ? profileNamed(config.profile) : config.profile;
  } catch (err) {
    problems.push({ pointer: '/profile', message: (err as Error).message, keyword: 'config' });
    return { overrides: {} };
  }
  const overrides = config.overrides ?? {};
  // The endpoint's time zone setting wins over one written into the overrides.
  const compiled: ProfileOverrides = config.timeZone ? { ...overrides, timeZone: config.timeZone } : overrides;
  if (Object.keys(overrides).length === 0 && (compiled.timeZone ?? 'UTC') === (base.definition.timeZone ?? 'UTC')) return { profile: base, overrides };
  try {
    return { profile: createProfile(base, compiled), overrides };
  } catch (err) {
    problems.push({ pointer: '/overrides', message: `overrides: ${(err as Error).message} (leave the field empty for none)`, keyword: 'config' });
    return { profile: base, overrides: {} };
  }
}

/**
 * The client's default for a write that declares no header: the one the profile's writes declare
 * (each write sends its own declared header anyway); 'none' only for a profile without writes.
 */
function declaredRepeatability(profile: MappingProfile | undefined): RepeatabilityMode {
  const modes = new Set(Object.values(profile?.definition.operations ?? {}).flatMap((op) => (op.kind === 'write' ? [repeatabilityOf(op.repeatHeader)] : [])));
  if (modes.size === 0) return 'none';
  return modes.size === 1 ? [...modes][0] : 'idempotency-key';
}

/** Whether the profile's writes name a CSRF service root (SAP Gateway). */
function declaresCsrf(profile: MappingProfile | undefined): boolean {
  return Object.values(profile?.definition.operations ?? {}).some((op) => op.kind === 'write' && op.csrf !== undefined);
}

export function openEndpoint(config: EndpointConfig, credentials: EndpointCredentials, options: EndpointOptions): OpenEndpoint {
  const problems = [...(config.problem?.details ?? [])];
  const { profile, overrides } = compile(config, problems);
  let problem = config.problem;
  if (problems.length > (config.problem?.details.length ?? 0)) {
    // One line for everything, in the order found: the settings' problems, then the profile's.
    problem = new PlantSyncError('CONFIG_ERROR', problems.map((p) => p.message).join('; '), problems);
  }
  if (!problem && !config.baseUrl) problem = new PlantSyncError('CONFIG_ERROR', 'base URL empty', [{ pointer: '/baseUrl', message: 'base URL empty', keyword: 'config' }]);

  let client: EndpointClient;
  if (problem) {
    options.logger.error(problem.message);
    client = new RefusingClient(config.role, problem);
  } else {
    const now = options.clock?.now;
    client = new EndpointClient({
      baseUrl: config.baseUrl as string,
      role: config.role,
      auth: authOf(config.auth, credentials, config.tls, now),
      tls: config.tls,
      timeoutMs: config.timeoutMs,
      ratePerSec: config.ratePerSec || undefined,
      retry: config.retry,
      breaker: config.breaker,
      csrf: declaresCsrf(profile),
      repeatability: declaredRepeatability(profile),
      now,
      sleep: options.clock?.sleep,
    });
  }

  const usable = (): MappingProfile => {
    if (problem) throw problem;
    return profile as MappingProfile; // set whenever there is no problem
  };
  return {
    role: config.role,
    client,
    profile,
    overrides,
    problem,
    assertUsable: () => void usable(),
    write: async (event, writeOptions) => callWrite(client, usable(), event, writeOptions),
    read: async (operation, params, correlationId) => callRead(client, usable(), operation, params, correlationId),
    close: () => client.close(),
  };
}
