/**
 * SAP's ALPHA conversion: numeric keys (production orders, reservations, numeric material
 * numbers) are stored with leading zeros up to the field's length. Canonical events carry the
 * external form ('1000123'); the vendor side takes the internal one ('000001000123'). Keys that
 * are not purely numeric ('RM-100-STEEL') are left as they are, as SAP does.
 */
import { show } from './errors';
import { FieldProblem } from './problem';

/** One kind of ALPHA-converted key: its label in messages and its internal length. */
export interface AlphaDef {
  label: string;
  length: number;
}

const NUMERIC = /^\d+$/;
/** The longest ALPHA field SAP has (MATNR with extended material numbers). */
export const ALPHA_MAX_LENGTH = 40;

/** External -> internal: leading zeros up to `length`; a numeric key longer than that does not fit. */
export function alphaToInternal(value: unknown, def: AlphaDef): unknown {
  if (typeof value !== 'string' || !NUMERIC.test(value)) return value;
  if (value.length > def.length) {
    // Leading zeros beyond the length carry nothing: '0001000123' is the same order.
    const trimmed = value.replace(/^0+(?=\d)/, '');
    if (trimmed.length > def.length) {
      throw new FieldProblem('maxLength', `${def.label} ${show(value)} has ${trimmed.length} digits, more than the ${def.length} SAP keeps`, value);
    }
    return trimmed.padStart(def.length, '0');
  }
  return value.padStart(def.length, '0');
}

/** Internal -> external: the leading zeros removed ('000000000000' reads as '0'). */
export function alphaToExternal(value: unknown): unknown {
  if (typeof value !== 'string' || !NUMERIC.test(value)) return value;
  return value.replace(/^0+(?=\d)/, '');
}

/** A length a plant sets for an ALPHA field: an integer from 1 to 40. */
export function checkAlphaLength(length: unknown): string | undefined {
  return Number.isInteger(length) && (length as number) >= 1 && (length as number) <= ALPHA_MAX_LENGTH
    ? undefined
    : `${show(length)} is not a length from 1 to ${ALPHA_MAX_LENGTH}`;
}
