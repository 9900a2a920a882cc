import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURE_DIR } from './paths';

export interface PatchOp {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

export interface InvalidCase {
  description: string;
  base: number;
  patch: PatchOp[];
  expect: { pointer: string; keyword: string }[];
}

export interface EventFixture {
  type: string;
  valid: Record<string, unknown>[];
  invalid: InvalidCase[];
}

const EVENT_FIXTURES = path.join(FIXTURE_DIR, 'events');

/** Every fixture file in test/fixtures/events, one per versioned event type. */
export function loadEventFixtures(): EventFixture[] {
  return fs
    .readdirSync(EVENT_FIXTURES)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ type: f.replace(/\.json$/, ''), ...JSON.parse(fs.readFileSync(path.join(EVENT_FIXTURES, f), 'utf8')) }));
}

export function loadEventFixture(type: string): EventFixture {
  const found = loadEventFixtures().find((f) => f.type === type);
  if (!found) throw new Error(`no fixture for ${type}`);
  return found;
}

function parentOf(doc: unknown, pointer: string): { parent: Record<string, unknown> | unknown[]; key: string } {
  const tokens = pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  const key = tokens.pop() as string;
  let node = doc as Record<string, unknown>;
  for (const t of tokens) {
    if (node === null || typeof node !== 'object' || !(t in node)) throw new Error(`patch path ${pointer} does not exist`);
    node = node[t] as Record<string, unknown>;
  }
  return { parent: node, key };
}

/** Applies the add / replace / remove subset of RFC 6902 JSON Patch to a deep copy of `doc`. */
export function applyPatch<T>(doc: T, patch: readonly PatchOp[]): T {
  const copy = structuredClone(doc);
  for (const op of patch) {
    const { parent, key } = parentOf(copy, op.path);
    if (Array.isArray(parent)) {
      const index = key === '-' ? parent.length : Number(key);
      if (op.op === 'add') parent.splice(index, 0, op.value);
      else if (op.op === 'replace') parent[index] = op.value;
      else parent.splice(index, 1);
    } else if (op.op === 'remove') {
      if (!(key in parent)) throw new Error(`cannot remove missing ${op.path}`);
      delete parent[key];
    } else {
      if (op.op === 'replace' && !(key in parent)) throw new Error(`cannot replace missing ${op.path}`);
      parent[key] = op.value;
    }
  }
  return copy;
}
