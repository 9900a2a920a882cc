/**
 * Runs a node's editor dialog code (`oneditprepare`) without a browser: the .html's editor script
 * in a vm with a small jQuery stand-in that keeps form elements, select options and change
 * handlers, a `$.getJSON` the test answers, `RED.nodes.node` for config nodes, and `node._` that
 * translates from the node's en-US catalogue (a missing key throws).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { REPO_ROOT } from './paths';

export interface FakeElement {
  value: unknown;
  label?: string;
  title?: string | null;
  visible: boolean;
  options: FakeElement[];
  handlers: Record<string, (() => void)[]>;
}

export interface JsonRequest {
  url: string;
  answer(body: unknown): void;
  refuse(): void;
}

export interface Dialog {
  definition: Record<string, unknown>;
  element(selector: string): FakeElement;
  /** Requests the dialog made through $.getJSON, oldest first. */
  requests: JsonRequest[];
  /** Sets a form field and fires its change handlers, as a user choosing a value. */
  choose(selector: string, value: unknown): void;
}

function translator(node: string): (key: string, opts?: Record<string, unknown>) => string {
  const catalogue = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'nodes', node, 'locales', 'en-US', `${node}.json`), 'utf8')) as Record<string, unknown>;
  return (key, opts = {}) => {
    let at: unknown = catalogue;
    for (const part of key.split('.')) at = at && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined;
    if (typeof at !== 'string') throw new Error(`${node}: no catalogue text for ${key}`);
    return at.replace(/__(\w+)__/g, (_, name: string) => String(opts[name] ?? ''));
  };
}

/** Loads `node`'s editor script and runs its oneditprepare for a node with `props`. */
export function openDialog(node: string, props: Record<string, unknown>, configNodes: Record<string, Record<string, unknown>> = {}): Dialog {
  const html = fs.readFileSync(path.join(REPO_ROOT, 'nodes', node, `${node}.html`), 'utf8');
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html);
  if (!script) throw new Error(`${node}.html has no editor script`);

  const elements = new Map<string, FakeElement>();
  const element = (selector: string): FakeElement => {
    let el = elements.get(selector);
    if (!el) elements.set(selector, (el = { value: undefined, visible: true, options: [], handlers: {} }));
    return el;
  };
  // The template's selects with their options, so setting a value an option lacks gives null as in a browser.
  const selects = new Set<FakeElement>();
  for (const [, id, body] of html.matchAll(/<select id="([^"]+)"[^>]*>([\s\S]*?)<\/select>/g)) {
    const el = element(`#${id}`);
    selects.add(el);
    for (const [, value] of body.matchAll(/<option value="([^"]*)"/g)) el.options.push({ value, visible: true, options: [], handlers: {} });
  }
  const isSelect = (el: FakeElement) => selects.has(el);
  const wrap = (el: FakeElement): Record<string, unknown> => {
    const api: Record<string, unknown> = {
      text: (t: string) => ((el.label = t), api),
      attr: (name: string, v: string | null) => (name === 'title' && (el.title = v), api),
      on: (event: string, fn: () => void) => ((el.handlers[event] ??= []).push(fn), api),
      empty: () => ((el.options = []), api),
      toggle: (show: boolean) => ((el.visible = show), api),
      typedInput: () => api,
      appendTo: (parent: Record<string, unknown>) => ((parent.__el as FakeElement).options.push(el), api),
      __el: el,
    };
    api.val = (...args: unknown[]) => {
      if (args.length === 0) return el.value;
      // A select keeps only a value one of its options has, as jQuery's val() does.
      el.value = isSelect(el) && !el.options.some((o) => o.value === args[0]) ? null : args[0];
      return api;
    };
    return api;
  };
  const requests: JsonRequest[] = [];
  const $ = Object.assign((selector: string) => wrap(selector.startsWith('<') ? { value: undefined, visible: true, options: [], handlers: {} } : element(selector)), {
    getJSON: (url: string) => {
      const done: ((b: unknown) => void)[] = [];
      const fail: (() => void)[] = [];
      requests.push({ url, answer: (b) => done.forEach((f) => f(b)), refuse: () => fail.forEach((f) => f()) });
      const promise = { done: (f: (b: unknown) => void) => (done.push(f), promise), fail: (f: () => void) => (fail.push(f), promise) };
      return promise;
    },
  });
  let definition: Record<string, unknown> | undefined;
  const RED = {
    nodes: {
      registerType: (_type: string, def: Record<string, unknown>) => { definition = def; },
      node: (id: unknown) => configNodes[String(id)] ?? null,
    },
    validators: { number: () => () => true, regex: () => () => true },
    _: (key: string) => key,
  };
  vm.runInNewContext(script[1], { RED, $ }, { filename: `${node}.html` });
  if (!definition) throw new Error(`${node}.html registers no type`);
  // Node-RED sets the form from the node's properties before oneditprepare.
  for (const [k, v] of Object.entries(props)) (wrap(element(`#node-input-${k}`)).val as (v: unknown) => void)(v);
  const editing = { ...props, _def: definition, _: translator(node) };
  (definition.oneditprepare as (this: unknown) => void).call(editing);
  return {
    definition,
    element,
    requests,
    choose: (selector, value) => {
      element(selector).value = value;
      for (const f of element(selector).handlers.change ?? []) f();
    },
  };
}
