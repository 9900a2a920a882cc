import { FaultPlan } from './faults';
import { Ledger } from './ledger';
import { RepeatCache } from './repeat-cache';
import type { WriteContext } from './write-flow';

/** Settings that PUT /__sim/config may change while a simulator runs. */
export interface SimConfig {
  ignoreRepeatability: boolean;
  csrfTtlMs: number;
  tokenTtlSec: number;
  /** SAP: which `x-csrf-token: Fetch` reads hand out a token (any, only the service root, only below it, none). */
  csrfTokenOn: CsrfTokenOn;
  /** SAP: the status a token fetch is answered with (403, 404, 405...) while still carrying the token; 0: the read's own answer. */
  csrfFetchStatus: number;
}

export const CSRF_TOKEN_ON = ['any', 'service-root', 'entity-set', 'none'] as const;
export type CsrfTokenOn = (typeof CSRF_TOKEN_ON)[number];

/** The stricter gateway by default: the token fetch is answered 404, and the token comes with the error. */
export const DEFAULT_CONFIG: SimConfig = { ignoreRepeatability: false, csrfTtlMs: 30 * 60_000, tokenTtlSec: 3600, csrfTokenOn: 'any', csrfFetchStatus: 404 };

/** The state every simulator shares: ledger, fault plan, repeat cache and live config. */
export class SimCore implements WriteContext {
  readonly ledger: Ledger;
  readonly faults = new FaultPlan();
  readonly cache = new RepeatCache();
  readonly config: SimConfig;

  constructor(readonly system: string, config: Partial<SimConfig> = {}) {
    this.ledger = new Ledger(system);
    this.config = { ...DEFAULT_CONFIG, ...config };
  }

  get ignoreRepeatability(): boolean {
    return this.config.ignoreRepeatability;
  }

  /** Forgets what the simulator did; each system also restores its seed data. */
  resetShared(): void {
    this.ledger.clear();
    this.faults.clear();
    this.cache.clear();
  }
}
