/** Places in documents: vendor paths ('a/b/0/c'), canonical JSON pointers, and URL path templates. */
import { escapePointerToken, getByPointer, pointerTokens } from '../canonical/json-pointer';
import { PlantSyncError } from '../errors';

export const ROOT_PREFIX = '$$/';

export function vendorTokens(path: string): string[] {
  return path === '' ? [] : path.split('/');
}

/** JSON pointer of a vendor path below `base` (itself a pointer). */
export function vendorPointer(base: string, path: string): string {
  return base + vendorTokens(path).map((t) => `/${escapePointerToken(t)}`).join('');
}

export function getPath(doc: unknown, path: string): unknown {
  let node = doc;
  for (const token of vendorTokens(path)) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, token)) return undefined;
    node = (node as Record<string, unknown>)[token];
  }
  return node;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object';
}

/** Writes `value` at a token list, creating objects (or arrays before numeric tokens) on the way. */
function setTokens(doc: Record<string, unknown>, tokens: string[], value: unknown): void {
  let node: Record<string, unknown> = doc;
  tokens.forEach((token, i) => {
    if (i === tokens.length - 1) {
      node[token] = value;
      return;
    }
    if (!isRecord(node[token])) node[token] = /^\d+$/.test(tokens[i + 1]) ? [] : {};
    node = node[token] as Record<string, unknown>;
  });
}

export function setPath(doc: Record<string, unknown>, path: string, value: unknown): void {
  setTokens(doc, vendorTokens(path), value);
}

export function getPointer(doc: unknown, pointer: string): unknown {
  return getByPointer(doc, pointer);
}

export function setPointer(doc: Record<string, unknown>, pointer: string, value: unknown): void {
  setTokens(doc, pointerTokens(pointer), value);
}

/** Structural equality of JSON values (for conflicting writes of one field). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!isRecord(a) || !isRecord(b) || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k]));
}

const PARAM = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;

/** The names of a template's {parameters}. */
export function templateParams(template: string): string[] {
  return [...template.matchAll(PARAM)].map((m) => m[1]);
}

/** Fills '/orders/{orderId}' with URI-encoded values (quotes of OData keys stay readable). */
export function fillTemplate(template: string, params: Readonly<Record<string, unknown>>): string {
  return template.replace(PARAM, (_, name: string) => {
    if (params[name] === undefined) throw new PlantSyncError('CONFIG_ERROR', `path parameter ${name} of ${template} has no value`);
    return encodeURIComponent(String(params[name]));
  });
}

/** The parameters of a concrete path under a template, or null when the path does not fit. */
export function matchTemplate(template: string, path: string): Record<string, string> | null {
  const names: string[] = [];
  const source = template.split(PARAM).map((part, i) => {
    if (i % 2 === 1) {
      names.push(part);
      return '([^/?#]+)';
    }
    return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }).join('');
  const m = new RegExp(`^${source}/?(?:[?#].*)?$`).exec(path);
  if (!m) return null;
  const out: Record<string, string> = {};
  names.forEach((n, i) => {
    out[n] = decodeURIComponent(m[i + 1]);
  });
  return out;
}

// A copy of `doc` without the places the pointers name; a '*' token stands for every array element
// (/data/operations/*/plannedStart). Used to compare a round trip with what a vendor can carry.
export function omitPointers<T>(doc: T, pointers: readonly string[]): T {
  const copy = structuredClone(doc);
  const drop = (node: unknown, tokens: string[]): void => {
    if (node === null || typeof node !== 'object' || tokens.length === 0) return;
    const [head, ...rest] = tokens;
    const keys = head === '*' && Array.isArray(node) ? node.map((_, i) => String(i)) : [head];
    for (const k of keys) {
      if (!Object.hasOwn(node, k)) continue;
      if (rest.length === 0) delete (node as Record<string, unknown>)[k];
      else drop((node as Record<string, unknown>)[k], rest);
    }
  };
  for (const p of pointers) drop(copy, pointerTokens(p));
  return copy;
}
