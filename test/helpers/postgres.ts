/**
 * A private PostgreSQL cluster for tests and benches: initdb into a fresh temp folder, a server on
 * a free loopback port (socket in the same folder), stopped and removed afterwards. Nothing is
 * shared with a system PostgreSQL.
 *
 * initdb and postgres refuse to run as root, so as root they run as the `postgres` OS user
 * (Debian's postgresql package creates it) and the folder belongs to that user.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { missingPackageError } from './missing-package';
import { freePort } from './node-red-process';

const run = promisify(execFile);

export interface PostgresServer {
  /** Connection string of the test database (`plantsync_test`). */
  connectionString: string;
  port: number;
  /** The temp folder holding the cluster, socket and log (for `pgrep -f`). */
  dir: string;
  /** Creates another database on the server; returns its connection string. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

const SUPERUSER = 'plantsync';
const DATABASE = 'plantsync_test';
const START_TIMEOUT_S = 30;

export interface PostgresOptions {
  /** Folder of initdb and pg_ctl; default PLANTSYNC_POSTGRES_BIN, else Debian's highest version, else the PATH. */
  binDir?: string;
}

const hasServerBinaries = (dir: string) => fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'));

/**
 * The server binaries, checked before anything starts: a missing install fails at once with one
 * line saying what to install.
 */
export function findPostgresBin(binDir = process.env.PLANTSYNC_POSTGRES_BIN): string {
  if (binDir) {
    if (hasServerBinaries(binDir)) return binDir;
    throw missingPackageError(`PostgreSQL is not installed (no initdb, pg_ctl in ${binDir})`, 'postgresql');
  }
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs.readdirSync(root).filter((v) => hasServerBinaries(path.join(root, v, 'bin'))).sort((a, b) => parseFloat(b) - parseFloat(a))
    : [];
  if (versions.length > 0) return path.join(root, versions[0], 'bin');
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && hasServerBinaries(dir)) return dir;
  }
  throw missingPackageError(`PostgreSQL is not installed (no initdb, pg_ctl in ${root}/*/bin or on the PATH)`, 'postgresql');
}

const isRoot = () => process.getuid?.() === 0;

/** The command line for a server binary, as the `postgres` user when we are root. */
function serverCommand(bin: string, args: string[]): [string, string[]] {
  return isRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

/** A temp folder the server user owns; as root, under a parent that user can traverse. */
function makeClusterDir(): string {
  let base = os.tmpdir();
  if (isRoot() && (fs.statSync(base).mode & 0o001) === 0) base = '/tmp';
  const dir = fs.mkdtempSync(path.join(base, 'plantsync-pg-'));
  if (isRoot()) {
    const idOf = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { stdio: 'pipe' }).toString().trim());
    let ids: [number, number];
    try {
      ids = [idOf('-u'), idOf('-g')];
    } catch {
      fs.rmSync(dir, { recursive: true, force: true });
      throw missingPackageError('no `postgres` OS user to run PostgreSQL as (root may not)', 'postgresql');
    }
    fs.chownSync(dir, ...ids);
  }
  fs.chmodSync(dir, 0o700);
  return dir;
}

async function connectWithin(connectionString: string, ms: number, log: string): Promise<Client> {
  const deadline = Date.now() + ms;
  for (;;) {
    const client = new Client({ connectionString });
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) {
        const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '(no server log)';
        throw new Error(`PostgreSQL did not accept connections within ${ms} ms: ${(err as Error).message}\n${text}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * A watchdog that outlives us: if this process dies without stopping the server (SIGKILL,
 * Ctrl-C), it stops the cluster and removes the folder, so no postgres is left behind.
 */
function startWatchdog(stopCommand: [string, string[]], dir: string): number | undefined {
  const script = 'p=$1; d=$2; shift 2; while kill -0 "$p" 2>/dev/null; do sleep 1; done; "$@" >/dev/null 2>&1; rm -rf "$d"';
  const child = spawn('/bin/sh', ['-c', script, 'plantsync-pg-watchdog', String(process.pid), dir, stopCommand[0], ...stopCommand[1]], {
    detached: true,
    stdio: 'ignore',
    cwd: '/',
  });
  child.unref();
  return child.pid;
}

/** Starts a private cluster; the caller must `stop()` it. */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const bin = findPostgresBin(options.binDir);
  const dir = makeClusterDir();
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'server.log');
  const exec = (name: string, args: string[], timeoutMs = 60000) => {
    const [cmd, argv] = serverCommand(path.join(bin, name), args);
    // cwd: the server user may not be allowed into the caller's working directory.
    return run(cmd, argv, { cwd: dir, timeout: timeoutMs });
  };
  const stopArgs = (mode: string) => ['-D', data, '-m', mode, '-w', '-t', '30', 'stop'];
  let watchdog: number | undefined;
  let started = false;
  const stopSync = () => {
    if (started) {
      const [cmd, argv] = serverCommand(path.join(bin, 'pg_ctl'), stopArgs('fast'));
      try {
        execFileSync(cmd, argv, { cwd: dir, stdio: 'ignore', timeout: 40000 });
      } catch {
        // already stopped
      }
      started = false;
    }
    if (watchdog !== undefined) {
      try {
        process.kill(-watchdog); // its process group: the shell and its sleep
      } catch {
        // already gone
      }
      watchdog = undefined;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    await exec('initdb', ['-D', data, '-A', 'trust', '-U', SUPERUSER, '-E', 'UTF8', '--locale=C', '--no-sync']);
    let port = 0;
    // A free port can be taken by someone else before the server binds it: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200`;
      try {
        await exec('pg_ctl', ['-D', data, '-l', log, '-w', '-t', String(START_TIMEOUT_S), '-o', opts, 'start'], (START_TIMEOUT_S + 10) * 1000);
        started = true;
        break;
      } catch (err) {
        const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '(no server log)';
        // pg_ctl may have launched a server that is still coming up: make sure it is down.
        await exec('pg_ctl', stopArgs('immediate')).catch(() => undefined);
        if (attempt >= 3 || !/could not bind|already in use/i.test(text)) {
          throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${text}`, { cause: err });
        }
      }
    }
    watchdog = startWatchdog(serverCommand(path.join(bin, 'pg_ctl'), stopArgs('immediate')), dir);
    const base = `postgresql://${SUPERUSER}@127.0.0.1:${port}`;
    const createDatabase = async (name: string) => {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${name}`);
      const admin = await connectWithin(`${base}/postgres`, START_TIMEOUT_S * 1000, log);
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return `${base}/${name}`;
    };
    const connectionString = await createDatabase(DATABASE);
    const onExit = () => stopSync();
    process.once('exit', onExit);
    return {
      connectionString,
      port,
      dir,
      createDatabase,
      stop: async () => {
        process.removeListener('exit', onExit);
        if (started) await exec('pg_ctl', stopArgs('fast')).catch(() => undefined);
        started = false;
        stopSync();
      },
    };
  } catch (err) {
    stopSync();
    throw err;
  }
}

let shared: Promise<PostgresServer> | undefined;

/**
 * One cluster for the whole mocha run, started on first use and stopped by a root-level
 * `after` hook (registered when this module is loaded by a spec file); an 'exit' handler and
 * the watchdog stop it if the run ends otherwise.
 */
export function sharedPostgres(): Promise<PostgresServer> {
  shared ??= startPostgres();
  return shared;
}

if (typeof after === 'function') {
  after(async function () {
    this.timeout(60000);
    if (!shared) return;
    const server = await shared.catch(() => undefined);
    shared = undefined;
    await server?.stop();
  });
}

let counter = 0;
/** A unique lower-case identifier (table or database name) for one test's isolation. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${++counter}`;
}
