/** `--name value` numeric options of a benchmark's command line, with defaults. */
export function benchArg(name: string, fallback: number): number {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

/**
 * Runs a bench's main under a watchdog: exit code from main (0 at or above its goal, 1 below),
 * 2 on error or when no result comes within `timeoutMs` (the broker helper's exit hook then
 * kills a private broker).
 */
export function runBench(name: string, main: () => Promise<number>, timeoutMs: number): void {
  const watchdog = setTimeout(() => {
    console.error(`${name} bench: no result within ${timeoutMs / 60000} min, aborting`);
    process.exit(2);
  }, timeoutMs);
  watchdog.unref();
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`${name} bench failed: ${err instanceof Error ? err.stack : String(err)}`);
      process.exit(2);
    },
  );
}
