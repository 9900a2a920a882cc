import { FaultPlan } from './faults';
import { Ledger } from './ledger';
import { RepeatCache } from './repeat-cache';
import type { WriteContext } from './write-flow';

/** Settings that PUT /__sim/config may change while a simulator runs. */
export interface SimConfig {
  ignoreRepeatability: boolean;
  csrfTtlMs: number;
  tokenTtlSec: number;
}

export const DEFAULT_CONFIG: SimConfig = { ignoreRepeatability: false, csrfTtlMs: 30 * 60_000, tokenTtlSec: 3600 };

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
