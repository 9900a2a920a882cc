import type { ErrorObject } from 'ajv';
import { escapePointerToken } from '../canonical/json-pointer';
import type { Problem } from '../errors';

/**
 * One ajv error as a Problem whose pointer names the exact property: for `required` and
 * `additionalProperties` ajv reports the parent object, so the property name is appended.
 */
export function toProblem(error: ErrorObject): Problem {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return {
        pointer: `${error.instancePath}/${escapePointerToken(String(params.missingProperty))}`,
        message: 'is required',
        keyword: 'required',
      };
    case 'additionalProperties':
    case 'unevaluatedProperties': {
      const name = String(params.additionalProperty ?? params.unevaluatedProperty);
      return {
        pointer: `${error.instancePath}/${escapePointerToken(name)}`,
        message: 'is not a property this schema allows',
        keyword: error.keyword,
      };
    }
    case 'enum':
      return {
        pointer: error.instancePath,
        message: `must be one of: ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
        keyword: 'enum',
      };
    case 'const':
      return { pointer: error.instancePath, message: `must be ${JSON.stringify(params.allowedValue)}`, keyword: 'const' };
    default:
      return { pointer: error.instancePath, message: error.message ?? 'is invalid', keyword: error.keyword };
  }
}

/**
 * All ajv errors as Problems, without the duplicates ajv produces when a value fails both a
 * `$ref`'d definition and the referencing schema at the same place.
 */
export function toProblems(errors: readonly ErrorObject[] | null | undefined): Problem[] {
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const e of errors ?? []) {
    const p = toProblem(e);
    const id = `${p.pointer}\u0000${p.keyword}\u0000${p.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(p);
  }
  return out;
}

/** "3 problems: /data/orderId is required; ..." — a one-line summary for logs and node errors. */
export function summarise(problems: readonly Problem[], limit = 3): string {
  const shown = problems.slice(0, limit).map((p) => `${p.pointer || '(root)'} ${p.message}`);
  const more = problems.length > limit ? `; and ${problems.length - limit} more` : '';
  return `${problems.length} problem${problems.length === 1 ? '' : 's'}: ${shown.join('; ')}${more}`;
}
