/**
 * The data a mapping profile is made of. A profile is declarative: field rules, value maps and
 * unit tables that a plant can override; functions appear only where data cannot say it.
 */
import type { CanonicalEvent, EventType, LotDisposition, Quantity, StockType } from '../canonical/events';
import type { AlphaDef } from './alpha';
import type { Direction } from './errors';
import type { UnitOverrides, UnitTable } from './units';

export type VendorScalar = string | number | boolean;

/** How a value is written on the vendor side. See codecs.ts. */
export type CodecName =
  | 'string' | 'number' | 'integer' | 'boolean'
  | 'timestamp'
  | 'sapDecimal' | 'sapDate' | 'sapPostingDate' | 'sapDateTime' | 'sapFlag' | 'sapBoolean' | 'odataString'
  | 'sapQuantity' | 'quantity';

/** What a computing function sees: the profile's (possibly overridden) tables. */
export interface RuleContext {
  profile: string;
  valueMaps: Readonly<Record<string, ValueMapDef>>;
  units: UnitTable;
  /** ALPHA-converted key kinds with their (possibly overridden) lengths. */
  alpha: Readonly<Record<string, AlphaDef>>;
  /** The plant's IANA time zone ('UTC' unless the endpoint names one). */
  timeZone: string;
}

/**
 * One field of a mapping. Vendor paths (`to`) are '/'-separated names inside the current vendor
 * object ('quantity/amount', 'to_MaterialDocumentItem/results/0/Material'; '$$/...' starts at the
 * vendor document's root); canonical places (`from`) are JSON pointers inside the current
 * canonical object (the event at the top: '/data/yield', '/time').
 *
 * toVendor: const | expr | fn | from, then map, then codec, written to `to`.
 * toCanonical: value | flags | read | readFn | `to`, then codec, then the inverse map, written to `from`.
 * Rules without `to` (value, flags, read, readFn) only read; rules with const, expr or fn only write.
 */
export interface FieldRule {
  to?: string | readonly string[];
  from?: string;
  /** Codec for the vendor representation; several `to` fields for codecs with parts (amount + unit, date + time). */
  as?: CodecName;
  /** Name of one of the profile's value maps (overridable per plant). */
  map?: string;
  /** Absent is fine (else: MappingError "required"). */
  optional?: boolean;
  /** Vendor value that stands for "absent" (SAP's "" for no batch): written for absent, read back as absent; implies optional. */
  empty?: VendorScalar;
  /**
   * Name of one of the profile's ALPHA key kinds: a numeric key gets leading zeros to the kind's
   * length on the way out (after `map`, before the codec) and loses them on the way back.
   */
  alpha?: string;
  /** Longest vendor value (toVendor): SAP's 4-character variance reasons, 10-character batches. */
  maxLength?: number;
  /** A rule that has meaning in one direction only (the posting date from the event time). */
  only?: Direction;
  /** Vendor constant (toVendor only). */
  const?: VendorScalar;
  /** Canonical constant (toCanonical only): SAP orders have no revision, so revision is 0. */
  value?: unknown;
  /** JSONata over the current canonical object computing the vendor value; compiled once per profile. */
  expr?: string;
  /** JSONata over the current vendor object computing the canonical value ($root: the vendor document). */
  read?: string;
  /** Pure function computing the vendor value where data cannot say it. Throws MappingError for bad input. */
  fn?: (source: unknown, ctx: RuleContext) => unknown;
  /** Pure function computing the canonical value from the current vendor object. */
  readFn?: (vendor: unknown, ctx: RuleContext) => unknown;
  /** Rules for every element of the array at `from` / `to`. */
  each?: readonly FieldRule[];
  /** JSONata predicate choosing the elements of `to` when reading ($parent: the enclosing vendor object, $root). */
  where?: string;
  /** Reading only: a value map from canonical value to a boolean vendor field, in precedence order (SAP status flags). */
  flags?: string;
}

/**
 * Canonical value -> vendor value. The inverse is derived; where two canonical values share a
 * vendor value, `toCanonical` says which one reads back (else reading it is an error).
 */
export interface ValueMapDef {
  /** What the mapped value is, for messages: "status code", "stock type". */
  label: string;
  toVendor: Readonly<Record<string, VendorScalar>>;
  toCanonical?: Readonly<Record<string, string>>;
  /** Canonical values that deliberately have no vendor value, with the reason shown to the user. */
  unsupported?: Readonly<Record<string, string>>;
  /**
   * Values missing from the map: an error (default), passed through unchanged, a default, or
   * 'passThroughUntilSet': unchanged while the map is empty, an error once a plant sets entries
   * (site -> SAP plant: a plant that maps one site must map every site it posts).
   */
  otherwise?: 'error' | 'passThrough' | 'passThroughUntilSet' | { vendor?: VendorScalar; canonical?: string };
}

export type ValueMapOverride = Partial<Omit<ValueMapDef, 'label'>> & { label?: string };

export interface ProfileOverrides {
  /** Entries merged into the named maps (a plant's reason codes, its stock types). */
  valueMaps?: Readonly<Record<string, ValueMapOverride>>;
  /** Units merged into the profile's table (a plant's own unit codes). */
  units?: UnitOverrides;
  /** Lengths of ALPHA key kinds this plant's SAP system uses: {"material": 40}. */
  alpha?: Readonly<Record<string, number>>;
  /** IANA time zone of the plant's wall clock (SAP posting dates and times); default UTC. Set by the endpoint. */
  timeZone?: string;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type VendorSystem = 'ERP' | 'MES' | 'WMS' | 'QMS';

/** One request, ready for an HTTP adapter. */
export interface VendorRequest {
  method: HttpMethod;
  /** Relative to the endpoint's base URL, path parameters already encoded. */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  /** The target's own repeatability key (writes): same idempotencykey, same value. */
  repeatKey?: string;
  /** The header that carries `repeatKey`. */
  repeatHeader?: 'Repeatability-Request-ID' | 'Idempotency-Key';
  /** The action needs If-Match: GET this first and send its ETag. */
  needsEtagFrom?: { method: 'GET'; path: string };
  /** SAP writes: the OData service root whose CSRF token they need (GET <root>/ with x-csrf-token: Fetch). */
  csrf?: string;
}

/** A lookup's GET, with the values the found document must hold (the lookup's `when`, and its `same` from the posted body). */
export interface LookupRequest extends VendorRequest {
  by: string;
  expect?: Readonly<Record<string, VendorScalar>>;
}

export interface WriteRequest extends VendorRequest {
  repeatKey: string;
  repeatHeader: 'Repeatability-Request-ID' | 'Idempotency-Key';
  /** The GET that finds this posting's document when its outcome is unknown (the operation's `lookup`). */
  lookup?: LookupRequest;
  /** The GET that reads the document when the answer holds none (the operation's `readAfter`). */
  readAfter?: VendorRequest;
}

/** The request's place, for mapping a request back (path and query parameters). */
export interface RequestContext {
  path?: string;
  query?: Readonly<Record<string, string>>;
}

/** A mapped inbound message: the canonical event type and its data (what the vendor call carries of it). */
export interface CanonicalPayload<T = Record<string, unknown>> {
  type: EventType;
  data: T;
}

/** What a write returns: the document the target created. */
export interface DocumentResult {
  documentNumber: string;
  documentYear?: string;
  [field: string]: unknown;
}

export interface StockItem {
  material: string;
  site: string;
  storageLocation: string;
  lot?: string;
  stockType: StockType;
  quantity: Quantity;
}

export interface LotStatus {
  lot: string;
  material: string;
  site: string;
  disposition: LotDisposition;
  decision?: 'Hold' | 'Release' | 'Reject' | 'Rework';
  quantity?: Quantity;
}

/** How one canonical event type becomes one vendor call (a write operation has one per event type). */
export interface WriteVariant {
  eventType: EventType;
  /** Vendor values that identify this variant when a request is read back: path -> values ({map}: any vendor value of that map). */
  match?: Readonly<Record<string, readonly (VendorScalar | { map: string })[]>>;
  body?: readonly FieldRule[];
  /** Canonical pointers this vendor call cannot carry (no field in the vendor API). */
  notCarried?: readonly string[];
}

interface OperationSpecBase {
  /** What the operation does, in a few words, for the editor's operation list. */
  description?: string;
  system: VendorSystem;
  method: HttpMethod;
  /** Path template relative to the base URL: '/api/v1/orders/{orderId}'. */
  path: string;
  /** Rules filling the template's {parameters}. */
  params?: readonly FieldRule[];
  /** Rules filling the query string. */
  query?: readonly FieldRule[];
  /** Vendor responses are wrapped: SAP OData v2's "d". */
  responseRoot?: string;
  /** Rules reading the response into the result. */
  response?: readonly FieldRule[];
  /** The result is this member of the mapped object (a list read). */
  resultAt?: string;
  /** Checks rules cannot express, returning problem texts keyed by vendor path. */
  verifyResponse?: (body: unknown) => { path: string; value: unknown; problem: string }[];
}

/**
 * How to find a posting's document in the target without posting again, for when the outcome of a
 * posting is unknown (the connection broke after the request went out, a timeout, a claim taken
 * over after its lease expired): a GET by the document's external key or natural key.
 */
export interface DocumentLookup {
  /** What the document is found by, for messages and msg.plantsync.request ('ExternalSystemConfirmation'). */
  by: string;
  /** GET path template, filled with the write's path parameters. */
  path: string;
  /** `$filter` equality clauses: vendor field -> the field of the posted body whose value it must have. */
  filter?: Readonly<Record<string, string>>;
  /** The answer is a collection (`d.results`): the first element is the document. Else the entity itself. */
  collection?: boolean;
  /** Vendor fields the document must have these values in to count as posted (a release: OrderIsReleased true). */
  when?: Readonly<Record<string, VendorScalar>>;
  /**
   * Vendor fields of the document that must equal fields of the posted body (document field -> body
   * field): a usage decision read back is this posting only when its code is the posted code.
   */
  same?: Readonly<Record<string, string>>;
}

export interface WriteOperationSpec extends OperationSpecBase {
  kind: 'write';
  /** Finds the document when the outcome of a posting is unknown, before posting again. */
  lookup?: DocumentLookup;
  /**
   * SAP function imports (ReleaseOrder) answer with the entity, an SAP message structure
   * (SystemMessageType...) or no content: GET this path template afterwards when the answer holds
   * no document for `response` to map.
   */
  readAfter?: string;
  repeatHeader: 'Repeatability-Request-ID' | 'Idempotency-Key';
  variants: readonly WriteVariant[];
  /** Body field that gets the ≤32-character digest of the idempotency key (SAP ExternalSystemConfirmation). */
  externalKeyField?: string;
  /** Characters of `externalKeyField` (default 32; SAP MaterialDocumentHeaderText: 25). */
  externalKeyLength?: number;
  /** Path template of the entity whose ETag the action needs (If-Match). */
  etagFrom?: string;
  csrf?: string;
}

export interface ReadOperationSpec extends OperationSpecBase {
  kind: 'read';
  method: 'GET';
  /**
   * Navigation properties the answer should hold expanded (OData `$expand`). Services that ignore
   * `$expand` answer with a deferred link or nothing; each missing one is then read from its own
   * navigation URL (`<path>/<name>`) and put in place before mapping.
   */
  navigations?: readonly string[];
}

export type OperationSpec = WriteOperationSpec | ReadOperationSpec;

/** A profile as data: what createProfile compiles. */
export interface ProfileDefinition {
  name: string;
  description: string;
  units: UnitTable;
  /** Name of the unit system in messages ("SAP", "generic"). */
  unitSystem: string;
  valueMaps: Readonly<Record<string, ValueMapDef>>;
  /** ALPHA-converted key kinds that field rules name in `alpha`. */
  alpha?: Readonly<Record<string, AlphaDef>>;
  /** The plant's time zone the profile was compiled with (UTC when absent). */
  timeZone?: string;
  operations: Readonly<Record<string, OperationSpec>>;
}

/** A compiled write operation: canonical event -> vendor request, and back. */
export interface WriteOperation<R = DocumentResult> {
  readonly kind: 'write';
  readonly name: string;
  readonly profile: string;
  readonly system: VendorSystem;
  readonly eventTypes: readonly EventType[];
  /** Canonical pointers the vendor call cannot carry, per event type. */
  notCarried(eventType: string): readonly string[];
  toVendor(event: CanonicalEvent): Promise<WriteRequest>;
  fromVendorRequest(body: unknown, request?: RequestContext): Promise<CanonicalPayload>;
  fromVendorResponse(body: unknown): Promise<R>;
  /** What the request's lookup found (its GET's answer `body`), in the shape of the write's answer; undefined when not found. */
  foundDocument(body: unknown, lookup?: LookupRequest): unknown;
}

/** A compiled read: parameters -> GET request, and the vendor's answer -> canonical data. */
export interface ReadOperation<P = Record<string, string>, R = unknown> {
  readonly kind: 'read';
  readonly name: string;
  readonly profile: string;
  readonly system: VendorSystem;
  toVendor(params: P): Promise<VendorRequest>;
  /** Expanded navigations the answer lacks, each with the GET that reads it ($expand ignored). */
  missingNavigations(body: unknown, request: VendorRequest): { name: string; request: VendorRequest }[];
  /** The answer with a navigation read on its own put in place (`<name>.results`). */
  withNavigation(body: unknown, name: string, answer: unknown): unknown;
  /** The parameters of a GET request (its path and query). */
  fromVendorRequest(body: unknown, request?: RequestContext): Promise<P>;
  fromVendorResponse(body: unknown): Promise<R>;
}

export type MappingOperation = WriteOperation | ReadOperation;
