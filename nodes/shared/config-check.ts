/**
 * Deploy-time checks of a config node's settings. Flows also arrive from git through the Admin
 * API, so the editor's validators are not trusted: every number is range-checked here again and
 * every problem becomes one readable line that says what to fix, never a stack trace.
 */
import type { NodeDef } from 'node-red';
import { PlantSyncError, type Problem } from '../../lib/errors';

/** A numeric setting: its words for messages, its range and the value an empty field means. */
export interface NumberSetting {
  label: string;
  min: number;
  max: number;
  integer?: boolean;
  /** Shown after the range in messages: "ms", "s". */
  unit?: string;
  /** Used when the field is empty (and after a problem, so the node still builds). */
  fallback: number;
}

const ENV_REF = /^\$\{(\w+)\}$/;

/**
 * The environment variable a setting was configured as (`${ERP_URL}`), if any. Node-RED leaves
 * the reference in place when the variable is unset and substitutes '' when it is set empty; in
 * the second case only the raw flow configuration still names it.
 */
export function envVarOf(config: NodeDef, field: string): string | undefined {
  const value = (config as unknown as Record<string, unknown>)[field];
  const direct = typeof value === 'string' ? ENV_REF.exec(value.trim()) : null;
  if (direct) return direct[1];
  // Node-RED 4 internals: the global flow keeps the config nodes as deployed, before substitution.
  const flow = (config as unknown as { _flow?: { flow?: { configs?: Record<string, Record<string, unknown>> } } })._flow;
  const raw = flow?.flow?.configs?.[config.id]?.[field];
  const m = typeof raw === 'string' ? ENV_REF.exec(raw.trim()) : null;
  return m ? m[1] : undefined;
}

/** Collects the problems of one config node; `error()` turns them into one CONFIG_ERROR. */
export class ConfigCheck {
  readonly problems: Problem[] = [];

  constructor(private readonly config: NodeDef) {}

  /** The setting's number, its fallback when empty, or a problem naming the allowed range. */
  number(field: string, s: NumberSetting): number {
    const raw = (this.config as unknown as Record<string, unknown>)[field];
    if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return s.fallback;
    const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
    if (!Number.isFinite(n) || (s.integer && !Number.isInteger(n)) || n < s.min || n > s.max) {
      this.add(field, `${s.label} must be ${s.integer ? 'a whole number' : 'a number'} from ${s.min} to ${s.max}${s.unit ? ` ${s.unit}` : ''}, got ${JSON.stringify(raw)}`);
      return s.fallback;
    }
    return n;
  }

  /**
   * A required URL with one of `protocols` ('https:'); undefined with a problem otherwise. An
   * empty or unresolved `${VAR}` names the variable to set.
   */
  url(field: string, label: string, protocols: string[], example: string): URL | undefined {
    const raw = (this.config as unknown as Record<string, unknown>)[field];
    const text = typeof raw === 'string' ? raw.trim() : '';
    const envVar = envVarOf(this.config, field);
    if (!text || ENV_REF.test(text)) {
      this.add(field, envVar ? `${label} empty: set ${envVar}` : `${label} empty: enter it, e.g. ${example}`);
      return undefined;
    }
    const from = envVar ? ` (from ${envVar})` : '';
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      this.add(field, `${label} ${JSON.stringify(text)}${from} is not a URL: write it like ${example}`);
      return undefined;
    }
    if (!protocols.includes(url.protocol)) {
      this.add(field, `${label} ${JSON.stringify(text)}${from} must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
      return undefined;
    }
    return url;
  }

  add(field: string, message: string): void {
    this.problems.push({ pointer: `/${field}`, message, keyword: 'config' });
  }

  /** One CONFIG_ERROR whose message lists every problem, or undefined when there is none. */
  error(): PlantSyncError | undefined {
    if (this.problems.length === 0) return undefined;
    return new PlantSyncError('CONFIG_ERROR', this.problems.map((p) => p.message).join('; '), this.problems);
  }
}
