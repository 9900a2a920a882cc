/**
 * A seeded PRNG (mulberry32) for tests that pick random points, so a failing run can be repeated:
 * the seed comes from PLANTSYNC_TEST_SEED when set, else the caller's fixed default, and tests
 * print it.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed for this run: PLANTSYNC_TEST_SEED if set, else `fallback`. */
export function testSeed(fallback: number): number {
  const env = Number(process.env.PLANTSYNC_TEST_SEED);
  return Number.isInteger(env) ? env : fallback;
}
