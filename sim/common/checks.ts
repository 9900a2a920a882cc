import { Fail } from './fail';

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** ISO 8601 date-time with an explicit offset, as the generic REST systems exchange it. */
export const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Field checks that throw a Fail in the calling system's vocabulary (status 400 and its code), with
 * the field's JSON pointer in the message.
 */
export class Checker {
  constructor(private readonly code: string) {}

  fail(pointer: string, message: string): Fail {
    return new Fail(400, this.code, `${pointer} ${message}`);
  }

  obj(o: Obj, field: string, at = ''): Obj {
    const v = o[field];
    if (!isObj(v)) throw this.fail(`${at}/${field}`, 'must be an object');
    return v;
  }

  arr(o: Obj, field: string, at = ''): unknown[] {
    const v = o[field];
    if (!Array.isArray(v)) throw this.fail(`${at}/${field}`, 'must be an array');
    return v;
  }

  str(o: Obj, field: string, at = '', opts: { max?: number; allowEmpty?: boolean } = {}): string {
    const v = o[field];
    if (typeof v !== 'string' || (!opts.allowEmpty && v === '')) throw this.fail(`${at}/${field}`, 'must be a non-empty string');
    if (opts.max !== undefined && v.length > opts.max) throw this.fail(`${at}/${field}`, `must be at most ${opts.max} characters`);
    return v;
  }

  optStr(o: Obj, field: string, at = '', opts: { max?: number; allowEmpty?: boolean } = {}): string | undefined {
    return o[field] === undefined || o[field] === null ? undefined : this.str(o, field, at, { allowEmpty: true, ...opts });
  }

  num(o: Obj, field: string, at = '', opts: { min?: number; integer?: boolean } = {}): number {
    const v = o[field];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw this.fail(`${at}/${field}`, 'must be a number');
    if (opts.integer && !Number.isInteger(v)) throw this.fail(`${at}/${field}`, 'must be an integer');
    if (opts.min !== undefined && v < opts.min) throw this.fail(`${at}/${field}`, `must be >= ${opts.min}`);
    return v;
  }

  bool(o: Obj, field: string, at = ''): boolean {
    const v = o[field];
    if (typeof v !== 'boolean') throw this.fail(`${at}/${field}`, 'must be a boolean');
    return v;
  }

  oneOf<T extends string>(o: Obj, field: string, values: readonly T[], at = ''): T {
    const v = o[field];
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw this.fail(`${at}/${field}`, `must be one of ${values.join(', ')}`);
    return v as T;
  }

  isoDateTime(o: Obj, field: string, at = ''): string {
    const v = this.str(o, field, at);
    if (!ISO_DATE_TIME.test(v) || Number.isNaN(Date.parse(v))) throw this.fail(`${at}/${field}`, 'must be an ISO 8601 date-time with offset');
    return v;
  }
}
