/**
 * SAP keys in the simulator. Real SAP stores production orders and reservations in their
 * internal (ALPHA) form with leading zeros and finds nothing under '1000123'; the simulator does
 * the same unless started with `internalKeysOnly: false`, which also accepts the external form.
 */

export const ORDER_LENGTH = 12;
export const RESERVATION_LENGTH = 10;

/** '1000123' -> '000001000123'; keys with letters stay as they are. */
export function internalKey(value: string, length: number): string {
  return /^\d+$/.test(value) && value.length < length ? value.padStart(length, '0') : value;
}

/** The key the simulator looks `value` up under: as given (strict) or in its internal form (lax). */
export function lookupKey(value: string, length: number, internalOnly: boolean): string {
  return internalOnly ? value : internalKey(value, length);
}
