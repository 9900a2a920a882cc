import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from './paths';

/** A free loopback port, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningNodeRed {
  url: string;
  userDir: string;
  /** The editor login of this instance (user `admin`), for tests that log in like a user. */
  password: string;
  pid: number | undefined;
  output: () => string;
  token: () => Promise<string>;
  stop: () => Promise<void>;
}

/**
 * Starts the real Node-RED runtime as `npm start` does (this repository's settings.js), on a
 * loopback port with a temporary user directory and a copy of the given flow file.
 */
export async function startNodeRed(flowFile = path.join(REPO_ROOT, 'flows', 'starter.json'), timeoutMs = 30000): Promise<RunningNodeRed> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-nr-'));
  const flows = path.join(userDir, 'flows.json');
  fs.copyFileSync(flowFile, flows);
  const port = await freePort();
  const password = `pw-${process.pid}-${Date.now()}`;
  const child: ChildProcess = spawn(process.execPath, [require.resolve('node-red/red.js'), '--settings', path.join(REPO_ROOT, 'settings.js')], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      PLANTSYNC_HOST: '127.0.0.1',
      PLANTSYNC_USER_DIR: userDir,
      PLANTSYNC_FLOW_FILE: flows,
      PLANTSYNC_ADMIN_PASSWORD: password,
      PLANTSYNC_CREDENTIAL_SECRET: 'test-secret',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Node-RED did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      if (/Started flows/.test(out)) {
        clearTimeout(timer);
        resolve();
      } else if (child.exitCode !== null) {
        clearTimeout(timer);
        reject(new Error(`Node-RED exited with ${child.exitCode}:\n${out}`));
      } else {
        setTimeout(check, 50);
      }
    };
    check();
  });

  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    userDir,
    password,
    pid: child.pid,
    output: () => out,
    token: async () => {
      const res = await fetch(`${url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password }),
      });
      if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
      return ((await res.json()) as { access_token: string }).access_token;
    },
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10000);
        await exited;
        clearTimeout(killer);
      }
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}
