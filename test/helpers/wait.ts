/**
 * Bounded waits for a condition: the one home of `waitFor` and `within` for the specs. A test
 * waits for what it needs to see (a count, a state, a message), never for a fixed time.
 */

/** Polls `cond` until it holds; rejects naming `what` after `ms`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string, pollMs = 20): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** `p`, or a rejection naming `what` after `ms`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A pause that is part of the scenario, not a wait for a result: the pace of a stream, the work a
 * handler simulates. Never used to let something happen before an assertion.
 */
export const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
