#!/usr/bin/env node
import { startMesSimulator } from './mes';
import { startQmsSimulator } from './qms';
import { startSapSimulator } from './sap-erp';
import type { RunningSimulator } from './common/server';
import { startWmsSimulator } from './wms';

/** node dist/sim/cli.js <erp|mes|wms|qms> [--port N] [--ignore-repeatability] */

const USAGE = 'usage: node dist/sim/cli.js <erp|mes|wms|qms> [--port N] [--ignore-repeatability]';
const STARTERS: Record<string, (o: { port?: number; ignoreRepeatability?: boolean }) => Promise<RunningSimulator>> = {
  erp: startSapSimulator,
  mes: startMesSimulator,
  wms: startWmsSimulator,
  qms: startQmsSimulator,
};

function parseArgs(argv: string[]): { system: string; port?: number; ignoreRepeatability: boolean } {
  const [system, ...rest] = argv;
  if (!system || !STARTERS[system]) throw new Error(USAGE);
  let port: number | undefined;
  let ignoreRepeatability = false;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--ignore-repeatability') ignoreRepeatability = true;
    else if (rest[i] === '--port') {
      port = Number(rest[++i]);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port needs a port number\n${USAGE}`);
    } else throw new Error(`unknown argument ${rest[i]}\n${USAGE}`);
  }
  return { system, port, ignoreRepeatability };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const sim = await STARTERS[args.system]({ port: args.port, ignoreRepeatability: args.ignoreRepeatability });
  process.stdout.write(`${JSON.stringify({ system: args.system, url: sim.url })}\n`);
  const stop = () => {
    sim.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
