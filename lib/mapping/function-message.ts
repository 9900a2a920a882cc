/**
 * SAP function-import answers. An action such as API_PRODUCTION_ORDER_2_SRV's ReleaseOrder is
 * declared to return the complex type FunctionMessage (SystemMessageType, SystemMessageIdentification,
 * SystemMessageNumber, SystemMessageLongText, variables); OData v2 wraps a complex result in a member
 * named after the function (`{"d": {"ReleaseOrder": {...}}}`), some services answer with the entity
 * instead, and some with 204 and no content. Success is decided by the HTTP status and the message
 * type: S (success), W (warning) and I (information) succeed; E (error) and A (abort) fail.
 */

export interface FunctionMessage {
  type: string;
  /** Message class and number ("CO/093"), when given. */
  id?: string;
  text: string;
}

const FAILING = new Set(['E', 'A']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function asMessage(v: unknown): FunctionMessage | undefined {
  if (!isRecord(v) || typeof v.SystemMessageType !== 'string') return undefined;
  const cls = typeof v.SystemMessageIdentification === 'string' ? v.SystemMessageIdentification : '';
  const num = typeof v.SystemMessageNumber === 'string' ? v.SystemMessageNumber : '';
  // The declared FunctionMessage has SystemMessageLongText; some services name it SystemMessageText.
  const text = [v.SystemMessageLongText, v.SystemMessageText, v.Message].find((t): t is string => typeof t === 'string' && t !== '') ?? '';
  const message: FunctionMessage = { type: v.SystemMessageType.toUpperCase(), text };
  if (cls || num) message.id = `${cls}/${num}`;
  return message;
}

/** The messages of an answer (`d`, `d.<Function>`, or a collection `d.results`); [] when it holds none. */
export function functionMessages(body: unknown): FunctionMessage[] {
  const d = isRecord(body) && 'd' in body ? body.d : body;
  const candidates: unknown[] = [d];
  if (isRecord(d)) {
    if (Array.isArray(d.results)) candidates.push(...d.results);
    const members = Object.values(d).filter(isRecord);
    if (members.length === 1 && Object.keys(d).filter((k) => k !== '__metadata').length === 1) candidates.push(members[0]);
  }
  return candidates.map(asMessage).filter((m): m is FunctionMessage => m !== undefined);
}

/** The first failing message (E or A), if any. */
export function failingMessage(messages: readonly FunctionMessage[]): FunctionMessage | undefined {
  return messages.find((m) => FAILING.has(m.type));
}
