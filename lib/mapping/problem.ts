import { MappingError } from './errors';

/**
 * A problem with one value, thrown by codecs and value maps and placed by the engine, which knows
 * the field: `part` is the index of the vendor field (amount or unit), `sub` a canonical suffix ('/uom').
 */
export class FieldProblem extends Error {
  constructor(
    readonly keyword: string,
    readonly problem: string,
    readonly value: unknown,
    readonly place: { part?: number; sub?: string } = {},
  ) {
    super(problem);
    this.name = 'FieldProblem';
  }

  /** The same problem placed; a place it already has (the more precise one) is kept. */
  at(place: { part?: number; sub?: string }): FieldProblem {
    return new FieldProblem(this.keyword, this.problem, this.value, { ...place, ...this.place });
  }

  /** Helpers (units, OData) throw single-field MappingErrors; inside the engine they become FieldProblems. */
  static from(e: unknown, place: { part?: number; sub?: string } = {}): FieldProblem {
    if (e instanceof FieldProblem) return e.at(place);
    if (e instanceof MappingError) {
      const first = e.issues[0];
      return new FieldProblem(first.keyword, first.problem, first.value, place);
    }
    throw e;
  }
}

/** Runs a helper and re-places its error at a vendor part or canonical suffix. */
export function placed<T>(place: { part?: number; sub?: string }, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw FieldProblem.from(e, place);
  }
}
