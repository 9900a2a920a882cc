/* eslint-disable @typescript-eslint/no-explicit-any -- these functions run inside the editor page and drive its untyped RED API */
/**
 * Functions that run inside the Node-RED editor page (passed to page.evaluate): they are serialised
 * on their own, so each one uses only its argument and the page's globals.
 */
declare const RED: any;
declare const $: any;
declare const document: any;
declare const window: any;
declare const NodeFilter: any;
declare const getComputedStyle: any;

/** The editor has loaded its palette, flows and message catalogues. */
export function editorReady(): boolean {
  return Boolean(window.RED && RED.nodes && RED.workspaces && RED.workspaces.active() && $ && $('.red-ui-palette-node').length > 0 && !$('#red-ui-loading-progress').is(':visible'));
}

/** No request of the editor is still in flight (dialogs load event types, credentials, help). */
export function editorIdle(): boolean {
  return $.active === 0;
}

export interface PaletteEntry {
  type: string;
  label: string;
}

/** Node types and labels listed in one palette category. */
export function paletteCategory(category: string): PaletteEntry[] {
  return $(`#red-ui-palette-base-category-${category} .red-ui-palette-node`)
    .toArray()
    .map((el: any) => ({ type: $(el).attr('data-palette-type'), label: $(el).find('.red-ui-palette-label').text() }));
}

export function categoryOf(type: string): string | undefined {
  const def = RED.nodes.getType(type);
  return def ? def.category : undefined;
}

export function nodeIdsOfType(type: string): string[] {
  const ids: string[] = [];
  RED.nodes.eachNode((n: any) => {
    if (n.type === type) ids.push(n.id);
  });
  RED.nodes.eachConfig((n: any) => {
    if (n.type === type) ids.push(n.id);
  });
  return ids;
}

/** Properties that reference a config node and are required (the user picks or adds one). */
export function requiredConfigRefs(type: string): Array<{ property: string; type: string }> {
  const defaults = RED.nodes.getType(type).defaults || {};
  return Object.keys(defaults)
    .filter((p) => defaults[p].type && defaults[p].required)
    .map((p) => ({ property: p, type: defaults[p].type }));
}

export interface NodeState {
  valid: boolean;
  validationErrors: string[];
  values: Record<string, unknown>;
  label: string;
  canvasLabel: string;
  errorBadge: boolean;
  portLabels: string[];
}

/** What the editor holds and shows for one node: validity, labels on the canvas and port labels. */
export function nodeState(id: string): NodeState {
  const n = RED.nodes.node(id);
  RED.editor.validateNode(n);
  RED.view.redraw(true);
  const el = document.getElementById(id);
  const badge = el ? el.querySelector('.red-ui-flow-node-error') : null;
  const portLabels: string[] = [];
  const call = (fn: any, i: number) => (typeof fn === 'function' ? fn.call(n, i) : Array.isArray(fn) ? fn[i] : fn);
  for (let i = 0; i < (n.outputs || 0); i++) portLabels.push(String(call(n._def.outputLabels, i) ?? ''));
  if (n._def.inputs) portLabels.push(String(call(n._def.inputLabels, 0) ?? ''));
  const values: Record<string, unknown> = {};
  for (const p of Object.keys(n._def.defaults || {})) values[p] = n[p];
  return {
    valid: n.valid !== false,
    validationErrors: (n.validationErrors || []).map(String),
    values,
    label: String(RED.utils.getNodeLabel(n, n.type)),
    canvasLabel: el ? String($(el).find('.red-ui-flow-node-label').text()) : '',
    errorBadge: Boolean(badge && getComputedStyle(badge).display !== 'none' && getComputedStyle(badge).visibility !== 'hidden'),
    portLabels,
  };
}

/**
 * Every text a user can read in the given parts of the page: text nodes, tooltips (title), placeholders,
 * aria labels, and the menus of typed inputs (appended to the body, shown when the type is opened).
 * Hidden sections are included on purpose: a field toggled on later must be translated too.
 */
export function readableTexts(selector: string): string[] {
  const out: string[] = [];
  const roots = $(selector).toArray();
  for (const root of roots) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      const tag = t.parentNode && t.parentNode.nodeName;
      if (tag === 'SCRIPT' || tag === 'STYLE') continue;
      const s = String(t.nodeValue).trim();
      if (s) out.push(s);
    }
    for (const el of [root, ...root.querySelectorAll('*')]) {
      for (const a of ['title', 'placeholder', 'aria-label', 'alt', 'data-original-title']) {
        const v = el.getAttribute && el.getAttribute(a);
        if (v && v.trim()) out.push(`[${a}] ${v.trim()}`);
      }
    }
  }
  return out;
}

/** Inputs the open edit dialog marks invalid (red outline), by element id. */
export function dialogInputErrors(): string[] {
  return $('.red-ui-tray .input-error')
    .toArray()
    .map((el: any) => el.id || $(el).find('input,select').attr('id') || $(el).closest('.form-row').find('input,select').attr('id') || el.className);
}

export function dialogOpen(buttonId: string): boolean {
  const b = $(`#${buttonId}`);
  return b.length > 0 && b.is(':visible') && !$('.red-ui-tray').is(':animated');
}

export function dialogClosed(buttonId: string): boolean {
  return $(`#${buttonId}`).length === 0;
}

export function openConfigDialog(type: string): void {
  RED.editor.editConfig('', type, '_ADD_', 'node-input');
}

export function showHelp(type: string): void {
  RED.sidebar.help.show(type);
}

/** The help sidebar shows this node type's help text (its title is the palette label). */
export function helpShown(type: string): boolean {
  const def = RED.nodes.getType(type);
  const label = typeof def.paletteLabel === 'function' ? def.paletteLabel.call(def) : def.paletteLabel || type;
  const title = $('.red-ui-help-title');
  const help = $('.red-ui-help');
  return title.text() === label && help.find('p').length > 0 && help.find('.red-ui-help-info-none').length === 0;
}

export function newestOfType({ type, before }: { type: string; before: string[] }): string | undefined {
  const ids: string[] = [];
  RED.nodes.eachNode((n: any) => {
    if (n.type === type && !before.includes(n.id)) ids.push(n.id);
  });
  RED.nodes.eachConfig((n: any) => {
    if (n.type === type && !before.includes(n.id)) ids.push(n.id);
  });
  return ids[0];
}

export function removeConfigNode(id: string): void {
  RED.nodes.remove(id);
  RED.nodes.dirty(true);
  RED.view.redraw(true);
}

/** Points every broker config at a closed loopback port, so a deploy shows the reconnecting status. */
export function pointBrokersAt(url: string): void {
  RED.nodes.eachConfig((n: any) => {
    if (n.type === 'plantsync-broker') {
      n.url = url;
      n.changed = true;
    }
  });
  RED.nodes.dirty(true);
}

export function anyConfigOfType(type: string): string | undefined {
  let id: string | undefined;
  RED.nodes.eachConfig((n: any) => {
    if (n.type === type && !id) id = n.id;
  });
  return id;
}

export function importFlow(flow: unknown[]): void {
  RED.view.importNodes(flow, { generateIds: false, addFlow: false, notify: false, applyNodeDefaults: true });
}

export function deployFinished(): boolean {
  return !RED.nodes.dirty() && !$('#red-ui-header-button-deploy').hasClass('deploying');
}

export interface Status {
  id: string;
  type: string;
  text: string;
  shown: string;
}

/** Status texts the editor holds per node and shows under it on the canvas. */
export function statuses(): Status[] {
  const out: Status[] = [];
  RED.nodes.eachNode((n: any) => {
    if (!n.status || n.status.text === undefined) return;
    const el = document.getElementById(n.id);
    out.push({ id: n.id, type: n.type, text: String(n.status.text), shown: el ? String($(el).find('.red-ui-flow-node-status-label').text()) : '' });
  });
  return out;
}
