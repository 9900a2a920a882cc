import { BaseError, type Problem } from '../errors';

export type Direction = 'toVendor' | 'toCanonical';

/** One field that could not be mapped. */
export interface MappingIssue {
  /** Vendor field path (toCanonical) or canonical JSON pointer (toVendor), as the user knows it. */
  field: string;
  /** JSON pointer into the document that was being mapped (the event, or the vendor body). */
  pointer: string;
  value: unknown;
  /** The rule that failed: valueMap, unit, decimal, date, time, required, conflict, unsupported... */
  keyword: string;
  /** What is wrong, without the place: "unknown unit 'XX'". */
  problem: string;
}

/** How a value reads inside a message: strings quoted, everything else as JSON. */
export function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === undefined) return 'nothing';
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return String(value);
  }
}

export function issueMessage(issue: Pick<MappingIssue, 'problem' | 'field'>): string {
  return `${issue.problem} at ${issue.field}`;
}

/**
 * A mapping failed. It lists every field problem of one mapping (never a half-mapped result):
 * `field` / `value` name the first, `details` carries them all in the shape of validation
 * problems so that nodes and dashboards show both the same way.
 */
export class MappingError extends BaseError {
  declare readonly code: 'MAPPING_ERROR';
  readonly field: string;
  readonly value: unknown;
  readonly direction: Direction;
  readonly issues: readonly MappingIssue[];
  readonly details: Problem[];
  /** Profile and operation being mapped, when known. */
  readonly profile?: string;
  readonly operation?: string;

  constructor(direction: Direction, issues: readonly MappingIssue[], context: { profile?: string; operation?: string } = {}) {
    if (issues.length === 0) throw new TypeError('MappingError needs at least one issue');
    const where = context.operation ? ` (${[context.profile, context.operation].filter(Boolean).join(' ')} ${direction})` : '';
    const text = issues.length === 1
      ? issueMessage(issues[0])
      : `${issues.length} mapping problems: ${issues.map(issueMessage).join('; ')}`;
    // Permanent: the same event maps the same way on every retry.
    super('MAPPING_ERROR', `${text}${where}`, { retryable: false });
    this.direction = direction;
    this.issues = issues;
    this.field = issues[0].field;
    this.value = issues[0].value;
    this.details = issues.map((i) => ({ pointer: i.pointer, message: issueMessage(i), keyword: i.keyword }));
    this.profile = context.profile;
    this.operation = context.operation;
  }

  /** A single-field error from a helper (units, OData conversions) used on its own. */
  static single(direction: Direction, field: string, value: unknown, keyword: string, problem: string): MappingError {
    const pointer = field.startsWith('/') ? field : `/${field}`;
    return new MappingError(direction, [{ field, pointer, value, keyword, problem }]);
  }

  /** The plain object a node puts on `msg.error`, like PlantSyncError's. */
  override toJSON(): { code: 'MAPPING_ERROR'; message: string; retryable: boolean; field: string; value: unknown; direction: Direction; details: Problem[] } {
    return { code: this.code, message: this.message, retryable: this.retryable, field: this.field, value: this.value, direction: this.direction, details: this.details };
  }
}

export function isMappingError(e: unknown): e is MappingError {
  return e instanceof MappingError;
}
