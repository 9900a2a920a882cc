/**
 * A private RabbitMQ node for tests and benches: Debian's rabbitmq-server with every path in a
 * fresh temp folder, AMQP, distribution and epmd ports chosen free on loopback, and an epmd of our
 * own (a child process we hold the PID of), so nothing touches a system broker or epmd.
 *
 * `stopBroker()` / `startBroker()` stop and start the SAME node with the same data folder, so
 * durable queues and persistent messages survive (the fault tests). `stop()` ends everything and
 * removes the folder. A watchdog shell kills our beam and epmd if this process dies without
 * cleaning up (SIGKILL, crash), and an exit hook does the same synchronously.
 *
 * The binaries under /usr/lib/rabbitmq/bin are called directly: the /usr/sbin wrappers switch to
 * the rabbitmq user through `su`, which drops our environment. As root that works as long as
 * HOME (the Erlang cookie) and the paths are writable.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { missingPackageError } from './missing-package';
import { freePort } from './node-red-process';

const run = promisify(execFile);
const START_TIMEOUT_S = 60;
const STOP_TIMEOUT_MS = 30000;

export interface RabbitServer {
  /** `amqp://guest:guest@127.0.0.1:<port>` */
  url: string;
  port: number;
  nodeName: string;
  dir: string;
  /** Runs rabbitmqctl against this node; resolves with stdout. */
  ctl(args: string[], timeoutMs?: number): Promise<string>;
  /** Stops the node (waits until its OS process has exited), keeping its data. */
  stopBroker(): Promise<void>;
  /** Starts the stopped node again on the same ports and data. */
  startBroker(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the node and our epmd, removes the folder. */
  stop(): Promise<void>;
  /** With `startRabbit({ tls: true })`: the AMQPS port and the PEM file of the CA that signed the server certificate. */
  tls?: { port: number; caFile: string };
}

export interface RabbitOptions {
  /** Also listen for AMQPS on loopback, with a certificate for 127.0.0.1 / localhost signed by a fresh test CA. */
  tls?: boolean;
  /** Folder of rabbitmq-server and rabbitmqctl; default PLANTSYNC_RABBITMQ_BIN, else Debian's. */
  binDir?: string;
}

/** An executable file named `name` in one of `dirs`, or undefined. */
function findExecutable(name: string, dirs: string[]): string | undefined {
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The RabbitMQ binaries, checked before anything starts: a missing install fails at once with
 * one line saying what to install, instead of `spawn epmd ENOENT` and a start timeout.
 */
export function findRabbitBinaries(binDir?: string): { bin: string; epmd: string } {
  const envDir = process.env.PLANTSYNC_RABBITMQ_BIN;
  const dirs = binDir ? [binDir] : envDir ? [envDir] : ['/usr/lib/rabbitmq/bin', '/usr/sbin'];
  const bin = dirs.find((d) => findExecutable('rabbitmq-server', [d]) && findExecutable('rabbitmqctl', [d]));
  if (!bin) throw missingPackageError(`RabbitMQ is not installed (no rabbitmq-server, rabbitmqctl in ${dirs.join(' or ')})`, 'rabbitmq-server');
  // epmd comes with Erlang (erlang-base, a dependency of rabbitmq-server).
  const epmd = findExecutable('epmd', (process.env.PATH ?? '').split(path.delimiter).filter(Boolean));
  if (!epmd) throw missingPackageError('RabbitMQ is not installed (no epmd on the PATH)', 'rabbitmq-server');
  return { bin, epmd };
}

/** A throw-away CA and a server certificate for 127.0.0.1 and localhost, made with openssl. */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const f = (name: string) => path.join(dir, name);
  const openssl = (args: string[]) => run('openssl', args, { cwd: dir, timeout: 30000 });
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=PlantSync test CA']);
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost']);
  fs.writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  await openssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('server.ext')]);
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

function brokerEnv(dir: string, nodeName: string, port: number, distPort: number, epmdPort: number): NodeJS.ProcessEnv {
  const loopbackDist = '-kernel inet_dist_use_interface {127,0,0,1}';
  return {
    ...process.env,
    HOME: dir,
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_PID_FILE: path.join(dir, 'rabbit.pid'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq'),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
    RABBITMQ_CONF_ENV_FILE: path.join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: loopbackDist,
    RABBITMQ_CTL_ERL_ARGS: loopbackDist,
    ERL_EPMD_ADDRESS: '127.0.0.1',
    ERL_EPMD_PORT: String(epmdPort),
  };
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}

/** Starts a private node; resolves once it accepts AMQP connections. */
export async function startRabbit(options: RabbitOptions = {}): Promise<RabbitServer> {
  const { bin, epmd: epmdBin } = findRabbitBinaries(options.binDir);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-rabbit-'));
  fs.writeFileSync(path.join(dir, 'enabled_plugins'), '[].\n');
  const [port, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
  // A temp file system may be small: the default 50 MB disk alarm must not block publishers.
  let conf = 'disk_free_limit.absolute = 1MB\nlog.console = false\nlog.file.level = warning\n';
  let tls: RabbitServer['tls'];
  if (options.tls) {
    const certs = await makeCertificates(dir);
    tls = { port: await freePort(), caFile: certs.ca };
    conf +=
      `listeners.ssl.1 = 127.0.0.1:${tls.port}\nssl_options.cacertfile = ${certs.ca}\nssl_options.certfile = ${certs.cert}\n` +
      `ssl_options.keyfile = ${certs.key}\nssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = false\n`;
  }
  fs.writeFileSync(path.join(dir, 'rabbitmq.conf'), conf);
  const nodeName = `plantsync-${process.pid}-${Math.random().toString(36).slice(2, 8)}@localhost`;
  const env = brokerEnv(dir, nodeName, port, distPort, epmdPort);
  const pidFile = env.RABBITMQ_PID_FILE as string;

  // Our own epmd, as a child we hold the PID of; the node finds it on ERL_EPMD_PORT.
  const epmd: ChildProcess = spawn(epmdBin, ['-port', String(epmdPort), '-address', '127.0.0.1'], { env, stdio: 'ignore' });
  // A spawn failure must not surface as an uncaught error in whichever test runs next; the start below reports it.
  epmd.on('error', () => undefined);
  epmd.unref();
  await new Promise((r) => setTimeout(r, 100));

  // Watchdog: if this process dies without stop(), kill our beam and epmd.
  const watchdogScript =
    `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ` +
    `p=$(cat '${pidFile}' 2>/dev/null); [ -n "$p" ] && kill -9 "$p" 2>/dev/null; kill ${epmd.pid} 2>/dev/null; rm -rf '${dir}'`;
  const watchdog = spawn('sh', ['-c', watchdogScript], { detached: true, stdio: 'ignore' });
  watchdog.unref();

  const ctl = async (args: string[], timeoutMs = START_TIMEOUT_S * 1000): Promise<string> => {
    const { stdout } = await run(path.join(bin, 'rabbitmqctl'), ['-n', nodeName, ...args], { env, timeout: timeoutMs, cwd: dir });
    return stdout;
  };

  let brokerPid: number | undefined;
  const startBroker = async (): Promise<void> => {
    const log = path.join(dir, `start-${Date.now()}.log`);
    const out = fs.openSync(log, 'a');
    // -detached forks beam and returns; the pid file tells us which process it is.
    const child = spawn(path.join(bin, 'rabbitmq-server'), ['-detached'], { env, cwd: dir, stdio: ['ignore', out, out] });
    await new Promise<void>((resolve) => child.once('exit', () => resolve()));
    fs.closeSync(out);
    try {
      await ctl(['wait', pidFile, '--timeout', String(START_TIMEOUT_S)]);
      await ctl(['await_startup', '--timeout', String(START_TIMEOUT_S)]);
    } catch (err) {
      const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
      throw new Error(`RabbitMQ did not start: ${(err as Error).message}\n${text}`, { cause: err });
    }
    brokerPid = readPid(pidFile);
  };

  const stopBroker = async (): Promise<void> => {
    const pid = brokerPid ?? readPid(pidFile);
    if (pid === undefined || !alive(pid)) return;
    // `stop <pidfile>` returns only once the OS process has exited.
    await ctl(['stop', pidFile], STOP_TIMEOUT_MS).catch(() => undefined);
    if (!(await waitGone(pid, STOP_TIMEOUT_MS))) {
      process.kill(pid, 'SIGKILL');
      await waitGone(pid, 5000);
    }
    brokerPid = undefined;
  };

  let stopped = false;
  const killSync = () => {
    const pid = brokerPid ?? readPid(pidFile);
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
    if (epmd.pid !== undefined && alive(epmd.pid)) process.kill(epmd.pid, 'SIGTERM');
    if (watchdog.pid !== undefined && alive(watchdog.pid)) process.kill(watchdog.pid, 'SIGTERM');
  };
  process.once('exit', () => {
    if (!stopped) killSync();
  });

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopBroker();
    killSync();
    if (epmd.pid !== undefined) await waitGone(epmd.pid, 5000);
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    await startBroker();
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    port,
    nodeName,
    dir,
    ctl,
    stopBroker,
    startBroker,
    restart: async () => {
      await stopBroker();
      await startBroker();
    },
    stop,
    tls,
  };
}

let shared: Promise<RabbitServer> | undefined;

/** One node per mocha run, started on first use and stopped by the root after hook. */
export function sharedRabbit(): Promise<RabbitServer> {
  shared ??= startRabbit();
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
/** A unique name (queue, group, exchange) for one test's isolation. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 6)}`;
}
