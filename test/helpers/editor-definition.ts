/**
 * Loads a node's editor definition (the object its .html file passes to
 * `RED.nodes.registerType`) in a vm with a stub RED, so its `validate` functions and defaults can
 * be checked without a browser. The stubs follow Node-RED 4's editor: `validate.call(node, value,
 * opt)` with `opt` present means "return a reason string when invalid".
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { REPO_ROOT } from './paths';

type Validate = (this: Record<string, unknown>, value: unknown, opt?: Record<string, unknown>) => unknown;

export interface EditorDefinition {
  type: string;
  defaults: Record<string, { value: unknown; required?: boolean; validate?: Validate; type?: string }>;
  label?: (this: Record<string, unknown>) => string;
}

export function loadEditorDefinition(node: string): EditorDefinition {
  const html = fs.readFileSync(path.join(REPO_ROOT, 'nodes', node, `${node}.html`), 'utf8');
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html);
  if (!script) throw new Error(`${node}.html has no editor script`);
  let found: EditorDefinition | undefined;
  const RED = {
    nodes: { registerType: (type: string, def: Omit<EditorDefinition, 'type'>) => { found = { type, ...def }; } },
    // As in Node-RED's editor (validators.number / regex).
    validators: {
      number: (blank?: boolean) => (v: unknown) => (blank === true && (v === '' || v === undefined)) || (v !== '' && !Number.isNaN(Number(v))),
      regex: (re: RegExp) => (v: unknown) => re.test(String(v)),
    },
    _: (key: string) => key,
  };
  // Outside an open dialog jQuery finds no inputs, so validators read the node's saved values.
  const $ = () => ({ length: 0, val: () => undefined });
  vm.runInNewContext(script[1], { RED, $ }, { filename: `${node}.html` });
  if (!found) throw new Error(`${node}.html registers no type`);
  return found;
}

/** A node as the editor creates it from the palette: every default's value. */
export function freshNode(def: EditorDefinition): Record<string, unknown> {
  return Object.fromEntries(Object.entries(def.defaults).map(([k, d]) => [k, d.value]));
}

/** true when valid, else the validator's answer (false or a reason), as the editor computes it. */
export function validateProperty(def: EditorDefinition, node: Record<string, unknown>, field: string, value: unknown): unknown {
  const d = def.defaults[field];
  if (typeof value === 'string' && /^\$\{[a-zA-Z_][a-zA-Z0-9_]*\}$/.test(value)) return true; // the editor accepts ${VAR}
  if (d.required && value === '') return false;
  if (!d.validate) return true;
  return d.validate.call({ ...node, [field]: value }, value, {});
}
