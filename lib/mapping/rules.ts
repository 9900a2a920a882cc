/**
 * Runs field rules in either direction. Problems are collected, never thrown one by one, so a
 * mapping reports every bad field at once and the caller decides (it throws one MappingError).
 */
import type jsonata from 'jsonata';
import { alphaToExternal, alphaToInternal } from './alpha';
import { CODECS, type CodecContext } from './codecs';
import { show, type MappingIssue } from './errors';
import { getPath, getPointer, ROOT_PREFIX, sameJson, setPath, setPointer, vendorPointer } from './paths';
import { FieldProblem } from './problem';
import type { FieldRule, RuleContext } from './types';
import type { UnitConverter } from './units';
import type { ValueMap } from './value-maps';

export interface RuleEnv {
  ctx: RuleContext;
  maps: Readonly<Record<string, ValueMap>>;
  units: UnitConverter;
  expression(source: string): jsonata.Expression;
}

/** Where the canonical side of the current rules is. */
interface CanonScope {
  canon: unknown;
  pointer: string;
}

/** Where the vendor side of the current rules is: the object, its pointer, the document root. */
interface VendorScope {
  vendor: unknown;
  pointer: string;
  root: unknown;
  rootPointer: string;
}

export function toList(to: FieldRule['to']): readonly string[] {
  return to === undefined ? [] : typeof to === 'string' ? [to] : to;
}

const absent = (v: unknown) => v === undefined || v === null;

/** One problem per place: three rules failing on the same canonical field say it once. */
function add(issues: MappingIssue[], issue: MappingIssue): void {
  if (!issues.some((i) => i.pointer === issue.pointer)) issues.push(issue);
}

/** JSONata results are sequences with extra properties; plain JSON goes on. */
function plain(value: unknown): unknown {
  return Array.isArray(value) ? Array.from(value, plain) : value;
}

export class RuleRunner {
  private readonly codecCtx: CodecContext;

  constructor(private readonly env: RuleEnv) {
    this.codecCtx = { units: env.units, timeZone: env.ctx.timeZone };
  }

  private async evaluate(source: string, input: unknown, bindings: Record<string, unknown>): Promise<unknown> {
    try {
      return plain(await this.env.expression(source).evaluate(input, bindings));
    } catch (e) {
      throw new FieldProblem('jsonata', `expression failed: ${(e as Error).message}`, source);
    }
  }

  /** Canonical -> vendor: a new vendor object from the rules. */
  async toVendor(rules: readonly FieldRule[], canon: unknown, pointer: string, issues: MappingIssue[]): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const rule of rules) await this.ruleToVendor(rule, { canon, pointer }, out, issues);
    return out;
  }

  private async ruleToVendor(rule: FieldRule, scope: CanonScope, out: Record<string, unknown>, issues: MappingIssue[]): Promise<void> {
    const to = toList(rule.to);
    if (rule.only === 'toCanonical' || to.length === 0) return;
    const at = scope.pointer + (rule.from ?? '');
    const write = (path: string, value: unknown) => {
      const existing = getPath(out, path);
      if (existing !== undefined && !sameJson(existing, value)) {
        throw new FieldProblem('conflict', `${path} is already ${show(existing)} from another field, this one needs ${show(value)}`, value);
      }
      setPath(out, path, value);
    };
    try {
      if (rule.const !== undefined) return write(to[0], rule.const);
      let value: unknown;
      if (rule.expr !== undefined) value = await this.evaluate(rule.expr, scope.canon, {});
      else if (rule.fn) value = rule.fn(scope.canon, this.env.ctx);
      else if (rule.from !== undefined) value = getPointer(scope.canon, rule.from);
      else return;
      if (absent(value)) {
        if (rule.empty !== undefined) write(to[0], rule.empty);
        else if (!rule.optional) throw new FieldProblem('required', 'required value missing', value);
        return;
      }
      if (rule.each) {
        if (!Array.isArray(value)) throw new FieldProblem('type', `not an array: ${show(value)}`, value);
        const items: Record<string, unknown>[] = [];
        for (const [i, item] of value.entries()) items.push(await this.toVendor(rule.each, item, `${at}/${i}`, issues));
        return write(to[0], items);
      }
      if (rule.map) value = this.env.maps[rule.map].toVendor(value);
      if (rule.alpha) value = alphaToInternal(value, this.env.ctx.alpha[rule.alpha]);
      const parts = rule.as ? CODECS[rule.as].toVendor(value, this.codecCtx) : [value];
      const first = parts[0];
      if (rule.maxLength !== undefined && typeof first === 'string' && first.length > rule.maxLength) {
        throw new FieldProblem('maxLength', `${show(first)} is longer than the ${rule.maxLength} characters ${to[0]} takes`, first);
      }
      parts.forEach((part, i) => write(to[i], part));
    } catch (e) {
      const p = FieldProblem.from(e);
      const pointer = at + (p.place.sub ?? '');
      add(issues, { field: pointer, pointer, value: p.value, keyword: p.keyword, problem: p.problem });
    }
  }

  /** Vendor -> canonical: the canonical object the rules describe. */
  async toCanonical(rules: readonly FieldRule[], scope: VendorScope, issues: MappingIssue[]): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const rule of rules) await this.ruleToCanonical(rule, scope, out, issues);
    return out;
  }

  private locate(scope: VendorScope, path: string): { value: unknown; pointer: string } {
    return path.startsWith(ROOT_PREFIX)
      ? { value: getPath(scope.root, path.slice(ROOT_PREFIX.length)), pointer: vendorPointer(scope.rootPointer, path.slice(ROOT_PREFIX.length)) }
      : { value: getPath(scope.vendor, path), pointer: vendorPointer(scope.pointer, path) };
  }

  private async ruleToCanonical(rule: FieldRule, scope: VendorScope, out: Record<string, unknown>, issues: MappingIssue[]): Promise<void> {
    if (rule.only === 'toVendor' || rule.from === undefined || rule.const !== undefined) return;
    if ((rule.expr !== undefined || rule.fn) && rule.read === undefined && !rule.readFn) return;
    const to = toList(rule.to);
    const places = to.map((p) => this.locate(scope, p));
    const report = (p: FieldProblem, pointer = places[p.place.part ?? 0]?.pointer ?? scope.pointer) =>
      add(issues, { field: fieldName(pointer, scope.rootPointer), pointer, value: p.value, keyword: p.keyword, problem: p.problem });
    const from = rule.from;
    const set = (value: unknown) => {
      const existing = getPointer(out, from);
      if (existing !== undefined && !sameJson(existing, value)) {
        throw new FieldProblem('conflict', `${show(value)} contradicts ${show(existing)} read from another field for ${from}`, value);
      }
      setPointer(out, from, value);
    };
    try {
      if (rule.value !== undefined) return set(rule.value);
      if (rule.flags) return this.readFlags(rule.flags, scope, set, report);
      let value: unknown;
      if (rule.read !== undefined) value = await this.evaluate(rule.read, scope.vendor, { root: scope.root });
      else if (rule.readFn) value = rule.readFn(scope.vendor, this.env.ctx);
      else value = places[0]?.value;
      if (absent(value) || (rule.empty !== undefined && value === rule.empty)) {
        if (absent(value) && !rule.optional && rule.empty === undefined) throw new FieldProblem('required', 'required value missing', value);
        return;
      }
      if (rule.each) {
        const items = await this.eachToCanonical(rule, value, places[0]?.pointer ?? scope.pointer, scope, issues);
        // An optional selection that selects nothing is absent, not [] (an order whose components all have operations).
        if (items.length === 0 && rule.where !== undefined && rule.optional) return;
        return set(items);
      }
      if (rule.as) value = CODECS[rule.as].toCanonical(rule.read !== undefined || rule.readFn ? [value] : places.map((p) => p.value), this.codecCtx);
      if (rule.alpha) value = alphaToExternal(value);
      if (rule.map) value = this.env.maps[rule.map].toCanonical(value);
      set(value);
    } catch (e) {
      report(FieldProblem.from(e));
    }
  }

  private async eachToCanonical(rule: FieldRule, value: unknown, pointer: string, scope: VendorScope, issues: MappingIssue[]): Promise<unknown[]> {
    if (!Array.isArray(value)) throw new FieldProblem('type', `not an array: ${show(value)}`, value);
    const items: unknown[] = [];
    for (const [i, item] of value.entries()) {
      if (rule.where !== undefined && (await this.evaluate(rule.where, item, { parent: scope.vendor, root: scope.root })) !== true) continue;
      const inner = { vendor: item, pointer: `${pointer}/${i}`, root: scope.root, rootPointer: scope.rootPointer };
      items.push(await this.toCanonical(rule.each ?? [], inner, issues));
    }
    return items;
  }

  /** The first flag that is set, in the map's order of precedence; every flag must be a boolean. */
  private readFlags(name: string, scope: VendorScope, set: (v: unknown) => void, report: (p: FieldProblem, pointer: string) => void): void {
    const map = this.env.maps[name];
    let found: string | undefined;
    let bad = false;
    for (const [canonical, field] of map.entries()) {
      const { value, pointer } = this.locate(scope, String(field));
      if (value === undefined) continue;
      const flag = value === true || value === 'X' ? true : value === false || value === '' ? false : undefined;
      if (flag === undefined) {
        bad = true;
        report(new FieldProblem('valueMap', `unknown ${map.def.label} ${show(value)} (a status flag is true or false)`, value), pointer);
      } else if (flag && found === undefined) {
        found = canonical;
      }
    }
    if (bad) return;
    if (found === undefined) {
      const fields = map.entries().map(([, f]) => String(f));
      throw new FieldProblem('valueMap', `no ${map.def.label} set (none of ${fields.join(', ')} is true)`, undefined);
    }
    set(found);
  }
}

/** A vendor pointer as the user reads the field: relative to the document root, '/'-separated. */
export function fieldName(pointer: string, rootPointer: string): string {
  const rel = pointer.startsWith(rootPointer) ? pointer.slice(rootPointer.length) : pointer;
  return rel.replace(/^\//, '').replace(/~1/g, '/').replace(/~0/g, '~') || '(document)';
}
