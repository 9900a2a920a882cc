/**
 * One error type for the whole core. `code` is stable and machine-readable (Catch nodes copy it
 * to `msg.error.code`); `details` lists every problem with a JSON pointer into the input.
 */
export interface Problem {
  /** JSON pointer (RFC 6901) to the offending value; "" is the whole document. */
  pointer: string;
  message: string;
  /** The JSON Schema keyword or PlantSync rule that failed. */
  keyword: string;
}

export type ErrorCode =
  | 'INVALID_JSON'
  | 'PAYLOAD_TOO_LARGE'
  | 'NOT_AN_EVENT'
  | 'UNKNOWN_EVENT_TYPE'
  | 'UNKNOWN_EVENT_VERSION'
  | 'RETIRED_EVENT_VERSION'
  | 'SCHEMA_INVALID'
  | 'UPCAST_FAILED'
  | 'INVALID_INPUT'
  | 'CONFIG_ERROR'
  | 'LEASE_LOST'
  | 'OUTBOX_FULL'
  | 'STORE_CLOSED'
  | 'NOT_FOUND'
  | 'IN_FLIGHT'
  | 'NO_CLAIM'
  | 'RESPONSE_MAPPING_ERROR';

export class PlantSyncError extends Error {
  readonly code: ErrorCode;
  readonly details: Problem[];

  constructor(code: ErrorCode, message: string, details: Problem[] = []) {
    super(message);
    this.name = 'PlantSyncError';
    this.code = code;
    this.details = details;
  }

  /** The plain object a node puts on `msg.error`. */
  toJSON(): { code: ErrorCode; message: string; details: Problem[] } {
    return { code: this.code, message: this.message, details: this.details };
  }
}
