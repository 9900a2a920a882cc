/**
 * Node-RED settings for running this repository: `npm start` loads PlantSync's nodes from this
 * folder (it is a Node-RED module) and the flow in flows/. Secure by default: the editor and the
 * Admin API need a login, and the server listens on loopback unless told otherwise.
 *
 * Environment:
 *   PORT                         editor / Admin API port (default 1880)
 *   PLANTSYNC_HOST               address to listen on (default 127.0.0.1)
 *   PLANTSYNC_USER_DIR           Node-RED user directory (default ./.node-red)
 *   PLANTSYNC_FLOW_FILE          flow file (default flows/starter.json)
 *   PLANTSYNC_ADMIN_USER         editor user name (default admin)
 *   PLANTSYNC_ADMIN_PASSWORD     editor password; when unset, one is generated on first start
 *                                and kept in <userDir>/admin-password (mode 600)
 *   PLANTSYNC_CREDENTIAL_SECRET  key that encrypts flow credentials (else Node-RED generates one
 *                                and keeps it in <userDir>/.config.runtime.json)
 *   PLANT_ID                     plant of this instance (default P100, the demo plant)
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

function sameSecret(a, b) {
  const x = crypto.createHash('sha256').update(String(a)).digest();
  const y = crypto.createHash('sha256').update(String(b)).digest();
  return crypto.timingSafeEqual(x, y);
}

module.exports = {
  uiHost: process.env.PLANTSYNC_HOST || '127.0.0.1',
  uiPort: Number(process.env.PORT) || 1880,
  userDir,
  flowFile: path.resolve(process.env.PLANTSYNC_FLOW_FILE || path.join(__dirname, 'flows', 'starter.json')),
  flowFilePretty: true,
  credentialSecret: process.env.PLANTSYNC_CREDENTIAL_SECRET || undefined,
  // This folder is a Node-RED module (package.json "node-red" section): loading it as one gives
  // the nodes their message catalogues and help, as an installed package would have.
  nodesDir: [__dirname],
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
    palette: { categories: ['PlantSync', 'common', 'function', 'network', 'sequence', 'parser', 'storage', 'dashboard'] },
  },
  functionExternalModules: false,
  exportGlobalContextKeys: false,
};
