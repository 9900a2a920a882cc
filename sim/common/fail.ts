/**
 * A business or validation failure thrown by a route handler; each simulator renders it in its own
 * vendor's error format (OData error body or {"error","message"}).
 */
export class Fail extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'Fail';
  }
}
