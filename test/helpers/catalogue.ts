import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NodeAPI } from 'node-red';

type Catalogue = Record<string, unknown>;
type NodeModule = (RED: NodeAPI) => unknown;

/** Every PlantSync message catalogue (the built copies under dist/nodes), by top-level name. */
function loadCatalogues(): Catalogue {
  const root = path.join(__dirname, '..', '..', 'nodes');
  const all: Catalogue = {};
  for (const dir of fs.readdirSync(root)) {
    const file = path.join(root, dir, 'locales', 'en-US', `${dir}.json`);
    if (fs.existsSync(file)) Object.assign(all, JSON.parse(fs.readFileSync(file, 'utf8')) as Catalogue);
  }
  return all;
}

const CATALOGUE = loadCatalogues();

/** The catalogue text of a key like "plantsync-request.status.counts", undefined when absent. */
export function catalogueText(key: string): string | undefined {
  let at: unknown = CATALOGUE;
  for (const part of key.split('.')) at = at && typeof at === 'object' ? (at as Catalogue)[part] : undefined;
  return typeof at === 'string' ? at : undefined;
}

/** A status text the editor translates: a key of a PlantSync catalogue, or one of Node-RED's own. */
export function isEditorKey(text: string): boolean {
  return /^node-red:common\.status\.[a-z]+$/.test(text) || catalogueText(text) !== undefined;
}

/**
 * The test helper's RED._ returns the key untouched; this gives the nodes a RED._ that translates
 * from the real catalogues like the runtime (i18next `__name__` interpolation) and throws on a key
 * that is missing or a value the text needs but was not given. `translated` holds every text it
 * produced, so a test can tell catalogue texts from English put together in code.
 */
export function translating(nodes: NodeModule[]): { nodes: NodeModule[]; translated: Set<string> } {
  const translated = new Set<string>();
  const _ = (key: string, values: Record<string, unknown> = {}): string => {
    const text = catalogueText(key);
    if (text === undefined) throw new Error(`no catalogue entry ${key}`);
    const out = text.replace(/__(\w+)__/g, (_m, name: string) => {
      if (values[name] === undefined) throw new Error(`${key} needs a value for ${name}`);
      return String(values[name]);
    });
    translated.add(out);
    return out;
  };
  return {
    translated,
    nodes: nodes.map((register) => (RED: NodeAPI) => {
      (RED as unknown as { _: typeof _ })._ = _;
      return register(RED);
    }),
  };
}
