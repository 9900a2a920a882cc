/**
 * Node-RED settings for running this repository: `npm start` loads PlantSync's nodes from this
 * folder (it is a Node-RED module) and works on a flow file in the user directory, seeded from
 * flows/starter.json on the first start, so a Deploy never rewrites a tracked file (export to
 * flows/ on purpose). Secure by default: the editor and the Admin API need a login, and the server
 * listens on loopback unless told otherwise.
 *
 * Environment:
 *   PORT                         editor / Admin API port (default 1880)
 *   PLANTSYNC_HOST               address to listen on (default 127.0.0.1)
 *   PLANTSYNC_USER_DIR           Node-RED user directory (default ./.node-red)
 *   PLANTSYNC_FLOW_FILE          flow file (default <userDir>/flows.json, copied from
 *                                flows/starter.json when absent)
 *   PLANTSYNC_ADMIN_USER         editor user name (default admin)
 *   PLANTSYNC_ADMIN_PASSWORD     editor password; when unset, one is generated on first start
 *                                and kept in <userDir>/admin-password (mode 600)
 *   PLANTSYNC_CREDENTIAL_SECRET  key that encrypts flow credentials (else Node-RED generates one
 *                                and keeps it in <userDir>/.config.runtime.json)
 *   PLANT_ID                     plant of this instance (default P100, the demo plant)
 *   PLANTSYNC_PALETTE_MODULES    comma-separated Node-RED modules among this repository's
 *                                devDependencies to load anyway (e.g. node-red-dashboard)
 */
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const userDir = path.resolve(process.env.PLANTSYNC_USER_DIR || path.join(__dirname, '.node-red'));
const adminUser = process.env.PLANTSYNC_ADMIN_USER || 'admin';

process.env.PLANT_ID = process.env.PLANT_ID || 'P100';

function adminPassword() {
  if (process.env.PLANTSYNC_ADMIN_PASSWORD) return process.env.PLANTSYNC_ADMIN_PASSWORD;
  const file = path.join(userDir, 'admin-password');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    fs.mkdirSync(userDir, { recursive: true });
    const generated = crypto.randomBytes(18).toString('base64url');
    fs.writeFileSync(file, `${generated}\n`, { mode: 0o600 });
    console.log(`PlantSync: editor user "${adminUser}", generated password in ${file}`);
    return generated;
  }
}

const password = adminPassword();

/** The working flow file: PLANTSYNC_FLOW_FILE, else <userDir>/flows.json seeded once from the starter. */
function flowFile() {
  if (process.env.PLANTSYNC_FLOW_FILE) return path.resolve(process.env.PLANTSYNC_FLOW_FILE);
  const file = path.join(userDir, 'flows.json');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(userDir, { recursive: true });
    fs.copyFileSync(path.join(__dirname, 'flows', 'starter.json'), file, fs.constants.COPYFILE_EXCL);
    console.log(`PlantSync: first start, flow file ${file} copied from flows/starter.json`);
  }
  return file;
}

/**
 * Node-RED modules among our devDependencies (OPC UA and dashboard nodes for tests and benches)
 * sit in node_modules beside node-red, where the runtime scans for palette modules. They stay out
 * of the palette until wanted: named in PLANTSYNC_PALETTE_MODULES, or installed into the user
 * directory (the palette manager lists them in <userDir>/package.json).
 */
function devPaletteModules() {
  const wanted = new Set((process.env.PLANTSYNC_PALETTE_MODULES || '').split(',').map((m) => m.trim()).filter(Boolean));
  let installed = {};
  try {
    installed = JSON.parse(fs.readFileSync(path.join(userDir, 'package.json'), 'utf8')).dependencies || {};
  } catch {
    // no user package.json: nothing installed through the palette manager
  }
  const dev = Object.keys(require('./package.json').devDependencies || {});
  return dev.filter((name) => {
    if (name === 'node-red' || wanted.has(name) || installed[name]) return false;
    try {
      return Boolean(require(`${name}/package.json`)['node-red']);
    } catch {
      return false;
    }
  });
}

function sameSecret(a, b) {
  const x = crypto.createHash('sha256').update(String(a)).digest();
  const y = crypto.createHash('sha256').update(String(b)).digest();
  return crypto.timingSafeEqual(x, y);
}

module.exports = {
  uiHost: process.env.PLANTSYNC_HOST || '127.0.0.1',
  uiPort: Number(process.env.PORT) || 1880,
  userDir,
  flowFile: flowFile(),
  flowFilePretty: true,
  credentialSecret: process.env.PLANTSYNC_CREDENTIAL_SECRET || undefined,
  // This folder is a Node-RED module (package.json "node-red" section): loading it as one gives
  // the nodes their message catalogues and help, as an installed package would have.
  nodesDir: [__dirname],
  // Matched by module folder name when the runtime scans node_modules.
  nodesExcludes: devPaletteModules(),
  adminAuth: {
    type: 'credentials',
    sessionExpiryTime: 8 * 60 * 60,
    users(username) {
      return Promise.resolve(username === adminUser ? { username, permissions: '*' } : null);
    },
    authenticate(username, pass) {
      const ok = username === adminUser && sameSecret(pass, password);
      return Promise.resolve(ok ? { username, permissions: '*' } : null);
    },
  },
  logging: {
    console: { level: process.env.PLANTSYNC_LOG_LEVEL || 'info', metrics: false, audit: false },
  },
  editorTheme: {
    projects: { enabled: false },
    // No remote node catalogue: the editor would ask an outside host for it on every load.
    palette: { catalogues: [], categories: ['PlantSync', 'common', 'function', 'network', 'sequence', 'parser', 'storage', 'dashboard'] },
  },
  functionExternalModules: false,
  exportGlobalContextKeys: false,
};
