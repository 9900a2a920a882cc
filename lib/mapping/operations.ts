/**
 * Compiled operations: a write maps a canonical event to one vendor request (and a vendor request
 * or response back); a read maps parameters to a GET and the vendor's answer to canonical data.
 */
import { UPCASTERS } from '../canonical/upcasters';
import type { CanonicalEvent, EventType } from '../canonical/events';
import { PlantSyncError } from '../errors';
import { MappingError, show, type Direction, type MappingIssue } from './errors';
import { fillTemplate, getPath, getPointer, matchTemplate, sameJson, templateParams } from './paths';
import { idempotencyKeyOf } from '../idempotency/keys';
import { externalKeyFor, repeatKeyFor } from './repeat-keys';
import { fieldName, toList, type RuleRunner } from './rules';
import type {
  CanonicalPayload, DocumentLookup, DocumentResult, FieldRule, LookupRequest, OperationSpec, ReadOperation, ReadOperationSpec, RequestContext, VendorRequest, VendorScalar,
  WriteOperation, WriteOperationSpec, WriteRequest, WriteVariant,
} from './types';
import type { ValueMap } from './value-maps';

/** Path and query parameters are mapped under these pseudo-members, so their problems have pointers too. */
const PATH_BASE = '/$path';
const QUERY_BASE = '/$query';

function fail(direction: Direction, issues: MappingIssue[], profile: string, operation: string): void {
  if (issues.length > 0) throw new MappingError(direction, issues, { profile, operation });
}

function stringify(query: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)]));
}

/** OData v2 wraps bodies in {"d": ...}; a request body given in that form is read the same. */
function unwrapD(body: unknown): unknown {
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const keys = Object.keys(body);
    if (keys.length === 1 && keys[0] === 'd') return (body as { d: unknown }).d;
  }
  return body;
}

abstract class CompiledOperation {
  constructor(
    readonly profile: string,
    readonly name: string,
    protected readonly spec: OperationSpec,
    protected readonly runner: RuleRunner,
  ) {}

  get system() {
    return this.spec.system;
  }

  /** Path and query parameters of a request, mapped back and merged into `out` (what the body mapped). */
  protected async paramsToCanonical(request: RequestContext | undefined, out: Record<string, unknown>, issues: MappingIssue[]): Promise<void> {
    if (this.spec.params) {
      const params = request?.path === undefined ? {} : matchTemplate(this.spec.path, request.path);
      if (params === null) {
        issues.push({ field: '$path', pointer: PATH_BASE, value: request?.path, keyword: 'path', problem: `path ${show(request?.path)} does not fit ${this.spec.path}` });
      } else {
        // Parameters that only fill the ETag path are not in this request's path.
        const inPath = new Set(templateParams(this.spec.path));
        const rules = this.spec.params.filter((r) => toList(r.to).every((t) => inPath.has(t)));
        const mapped = await this.runner.toCanonical(rules, { vendor: params, pointer: PATH_BASE, root: params, rootPointer: '' }, issues);
        merge(out, mapped, issues, { base: PATH_BASE, rules });
      }
    }
    if (this.spec.query) {
      const query = request?.query ?? {};
      const mapped = await this.runner.toCanonical(this.spec.query, { vendor: query, pointer: QUERY_BASE, root: query, rootPointer: '' }, issues);
      merge(out, mapped, issues, { base: QUERY_BASE, rules: this.spec.query });
    }
  }

  protected async requestParts(input: unknown, issues: MappingIssue[]): Promise<{ params: Record<string, unknown>; query?: Record<string, string> }> {
    const params = this.spec.params ? await this.runner.toVendor(this.spec.params, input, '', issues) : {};
    const query = this.spec.query ? stringify(await this.runner.toVendor(this.spec.query, input, '', issues)) : undefined;
    return { params, query };
  }

  async fromVendorResponse(body: unknown): Promise<unknown> {
    const issues: MappingIssue[] = [];
    const rootPath = this.spec.responseRoot ?? '';
    const root = getPath(body, rootPath);
    const rootPointer = rootPath ? `/${rootPath}` : '';
    if (root === undefined || root === null) {
      issues.push({ field: rootPath || '(document)', pointer: rootPointer, value: body, keyword: 'required', problem: 'no response document' });
    } else {
      for (const p of this.spec.verifyResponse?.(root) ?? []) {
        const pointer = `${rootPointer}/${p.path}`;
        issues.push({ field: fieldName(pointer, rootPointer), pointer, value: p.value, keyword: 'verify', problem: p.problem });
      }
    }
    const out = issues.length ? {} : await this.runner.toCanonical(this.spec.response ?? [], { vendor: root, pointer: rootPointer, root, rootPointer }, issues);
    fail('toCanonical', issues, this.profile, this.name);
    return this.spec.resultAt ? getPointer(out, this.spec.resultAt) : out;
  }
}

/**
 * Adds what the path and query parameters mapped to what the body mapped (both write under /data);
 * a parameter that contradicts the body is a conflict, reported at the parameter.
 */
function merge(
  into: Record<string, unknown>, from: Record<string, unknown>, issues: MappingIssue[], source: { base: string; rules: readonly FieldRule[] }, at = '',
): void {
  for (const [k, v] of Object.entries(from)) {
    const pointer = `${at}/${k}`;
    const existing = into[k];
    if (existing === undefined) {
      into[k] = v;
    } else if (isObject(existing) && isObject(v)) {
      merge(existing, v, issues, source, pointer);
    } else if (!sameJson(existing, v)) {
      const rule = source.rules.find((r) => r.from === pointer);
      const place = rule ? `${source.base}/${toList(rule.to)[0]}` : source.base;
      issues.push({ field: place.slice(1), pointer: place, value: v, keyword: 'conflict', problem: `${show(v)} contradicts ${show(existing)} in the body for ${pointer}` });
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export class CompiledWrite extends CompiledOperation implements WriteOperation {
  readonly kind = 'write' as const;
  readonly eventTypes: readonly EventType[];
  declare protected readonly spec: WriteOperationSpec;

  /** Per variant: vendor path -> the values that identify it, value-map references resolved. */
  private readonly matchers: { variant: WriteVariant; match: [string, VendorScalar[]][] }[];

  constructor(profile: string, name: string, spec: WriteOperationSpec, runner: RuleRunner, maps: Readonly<Record<string, ValueMap>>) {
    super(profile, name, spec, runner);
    this.eventTypes = spec.variants.map((v) => v.eventType);
    this.matchers = spec.variants.map((variant) => ({
      variant,
      match: Object.entries(variant.match ?? {}).map(([path, values]) => [path, values.flatMap((v) => {
        if (typeof v !== 'object') return [v];
        if (!maps[v.map]) throw new PlantSyncError('CONFIG_ERROR', `${profile} ${name}: match refers to no value map ${v.map}`);
        return maps[v.map].entries().map(([, vendor]) => vendor);
      })]),
    }));
  }

  notCarried(eventType: string): readonly string[] {
    return this.spec.variants.find((v) => v.eventType === eventType)?.notCarried ?? [];
  }

  private upcast(event: CanonicalEvent): CanonicalEvent {
    let e = event;
    for (let up = UPCASTERS.get(e.type); up && !this.eventTypes.includes(e.type as EventType); up = UPCASTERS.get(e.type)) e = up(e);
    return e;
  }

  async toVendor(input: CanonicalEvent): Promise<WriteRequest> {
    const event = this.upcast(input);
    const variant = this.spec.variants.find((v) => v.eventType === event.type);
    if (!variant) {
      throw new MappingError('toVendor', [{
        field: '/type', pointer: '/type', value: event.type, keyword: 'operation',
        problem: `event type ${show(event.type)} is not mapped by ${this.name} (maps ${this.eventTypes.join(', ')})`,
      }], { profile: this.profile, operation: this.name });
    }
    const issues: MappingIssue[] = [];
    const body = variant.body ? await this.runner.toVendor(variant.body, event, '', issues) : undefined;
    const { params, query } = await this.requestParts(event, issues);
    fail('toVendor', issues, this.profile, this.name);
    const key = idempotencyKeyOf(event);
    if (body && this.spec.externalKeyField) body[this.spec.externalKeyField] = externalKeyFor(this.name, key, this.spec.externalKeyLength);
    const request: WriteRequest = {
      method: this.spec.method,
      path: fillTemplate(this.spec.path, params),
      repeatKey: repeatKeyFor(this.name, key),
      repeatHeader: this.spec.repeatHeader,
    };
    if (query && Object.keys(query).length) request.query = query;
    if (body) request.body = body;
    if (this.spec.etagFrom) request.needsEtagFrom = { method: 'GET', path: fillTemplate(this.spec.etagFrom, params) };
    if (this.spec.csrf) request.csrf = this.spec.csrf;
    if (this.spec.lookup) request.lookup = lookupRequest(this.spec.lookup, params, body);
    if (this.spec.readAfter) request.readAfter = { method: 'GET', path: fillTemplate(this.spec.readAfter, params) };
    return request;
  }

  foundDocument(body: unknown, request?: LookupRequest): unknown {
    const lookup = this.spec.lookup;
    if (!lookup) return undefined;
    const d = isObject(body) && 'd' in body ? body.d : body;
    const doc = lookup.collection ? (isObject(d) && Array.isArray(d.results) ? d.results[0] : undefined) : d;
    if (!isObject(doc)) return undefined;
    // Without the request (its posted values), a lookup that compares with them cannot match.
    if (lookup.same && !request?.expect) return undefined;
    const expect = request?.expect ?? lookup.when ?? {};
    if (!Object.entries(expect).every(([field, value]) => doc[field] === value)) return undefined;
    // The write's response rules read the answer of a posting: the same document, in the same wrapper.
    return this.spec.responseRoot === 'd' ? { d: doc } : doc;
  }

  async fromVendorRequest(body: unknown, request?: RequestContext): Promise<CanonicalPayload> {
    const vendor = unwrapD(body);
    const variant = this.variantOf(vendor);
    const issues: MappingIssue[] = [];
    const out = variant.body
      ? await this.runner.toCanonical(variant.body, { vendor, pointer: '', root: vendor, rootPointer: '' }, issues)
      : {};
    await this.paramsToCanonical(request, out, issues);
    fail('toCanonical', issues, this.profile, this.name);
    return { type: variant.eventType, data: (out.data ?? {}) as Record<string, unknown> };
  }

  /** The variant a vendor request belongs to (a goods movement: by its movement type). */
  private variantOf(vendor: unknown) {
    if (this.spec.variants.length === 1) return this.spec.variants[0];
    const found = this.matchers.find((m) => m.match.every(([p, values]) => values.includes(getPath(vendor, p) as VendorScalar)));
    if (found) return found.variant;
    const [path] = this.matchers[0].match[0] ?? [''];
    const value = getPath(vendor, path);
    const known = this.matchers.flatMap((m) => m.match.flatMap(([, values]) => values));
    throw new MappingError('toCanonical', [{
      field: path, pointer: `/${path}`, value, keyword: 'valueMap',
      problem: `unknown ${path.split('/').pop()} ${show(value)} for ${this.name} (knows ${known.join(', ')})`,
    }], { profile: this.profile, operation: this.name });
  }

  override async fromVendorResponse(body: unknown): Promise<DocumentResult> {
    return (await super.fromVendorResponse(body)) as DocumentResult;
  }
}

/** An OData string literal: quotes doubled. */
const odataLiteral = (v: unknown) => `'${String(v).replace(/'/g, "''")}'`;

/** A field of the posted body a lookup needs: a lookup by an empty value would find someone else's document. */
function posted(body: Record<string, unknown> | undefined, from: string, field: string): VendorScalar {
  const value = body?.[from];
  if (value === undefined || value === null || value === '' || typeof value === 'object') {
    throw new PlantSyncError('CONFIG_ERROR', `lookup by ${field}: the posted body has no ${from}`);
  }
  return value as VendorScalar;
}

/** The lookup's GET: its path from the write's parameters, its `$filter` and expected values from the posted body. */
function lookupRequest(lookup: DocumentLookup, params: Record<string, unknown>, body: Record<string, unknown> | undefined): LookupRequest {
  const request: LookupRequest = { method: 'GET', path: fillTemplate(lookup.path, params), by: lookup.by };
  const clauses = Object.entries(lookup.filter ?? {}).map(([field, from]) => `${field} eq ${odataLiteral(posted(body, from, field))}`);
  if (clauses.length) request.query = { $filter: clauses.join(' and ') };
  if (lookup.when || lookup.same) {
    request.expect = {
      ...lookup.when,
      ...Object.fromEntries(Object.entries(lookup.same ?? {}).map(([field, from]) => [field, posted(body, from, field)])),
    };
  }
  return request;
}

export class CompiledRead extends CompiledOperation implements ReadOperation<Record<string, string>, unknown> {
  readonly kind = 'read' as const;
  declare protected readonly spec: ReadOperationSpec;

  missingNavigations(body: unknown, request: VendorRequest): { name: string; request: VendorRequest }[] {
    const root = getPath(body, this.spec.responseRoot ?? '');
    if (!isObject(root)) return [];
    // The navigation URL hangs off the entity's own path (never the absolute __deferred.uri: it names the gateway's host).
    const base = request.path.replace(/\/+$/, '');
    return (this.spec.navigations ?? [])
      .filter((name) => !Array.isArray((root[name] as { results?: unknown } | undefined)?.results))
      .map((name) => ({ name, request: { method: 'GET' as const, path: `${base}/${name}` } }));
  }

  withNavigation(body: unknown, name: string, answer: unknown): unknown {
    const copy = structuredClone(body) as Record<string, unknown>;
    const root = getPath(copy, this.spec.responseRoot ?? '') as Record<string, unknown>;
    const d = isObject(answer) && 'd' in answer ? answer.d : answer;
    // OData v2 answers a collection as {results: [...]}; a bare array is taken too.
    const results = Array.isArray(d) ? d : isObject(d) && Array.isArray(d.results) ? d.results : undefined;
    if (results === undefined) {
      throw new MappingError('toCanonical', [{ field: name, pointer: `/${name}`, value: answer, keyword: 'required', problem: `the navigation ${name} answered without results` }], { profile: this.profile, operation: this.name });
    }
    root[name] = { results };
    return copy;
  }

  constructor(profile: string, name: string, spec: ReadOperationSpec, runner: RuleRunner) {
    super(profile, name, spec, runner);
  }

  async toVendor(params: Record<string, string>): Promise<VendorRequest> {
    const issues: MappingIssue[] = [];
    const parts = await this.requestParts(params, issues);
    fail('toVendor', issues, this.profile, this.name);
    const request: VendorRequest = { method: 'GET', path: fillTemplate(this.spec.path, parts.params) };
    if (parts.query && Object.keys(parts.query).length) request.query = parts.query;
    return request;
  }

  async fromVendorRequest(_body: unknown, request?: RequestContext): Promise<Record<string, string>> {
    const issues: MappingIssue[] = [];
    const out: Record<string, unknown> = {};
    await this.paramsToCanonical(request, out, issues);
    fail('toCanonical', issues, this.profile, this.name);
    return out as Record<string, string>;
  }

}
