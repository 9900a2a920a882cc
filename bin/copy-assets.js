#!/usr/bin/env node
// Copies each node's editor html, locales and icons beside its compiled .js,
// the layout Node-RED's registry expects (nodes/<name>/<name>.html, locales/, icons/).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const srcNodes = path.join(root, 'nodes');
const outNodes = path.join(root, 'dist', 'nodes');
const ASSET_DIRS = new Set(['locales', 'icons']);

function copyAssets(srcDir, outDir) {
  for (const entry of fs.readdirSync(srcDir, { withFileTypes: true })) {
    const src = path.join(srcDir, entry.name);
    const out = path.join(outDir, entry.name);
    if (entry.isDirectory()) {
      if (ASSET_DIRS.has(entry.name)) {
        fs.cpSync(src, out, { recursive: true });
      } else {
        copyAssets(src, out);
      }
    } else if (entry.name.endsWith('.html')) {
      fs.mkdirSync(outDir, { recursive: true });
      fs.copyFileSync(src, out);
    }
  }
}

copyAssets(srcNodes, outNodes);
