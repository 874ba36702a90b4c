/**
 * Scenario sizes and randomness: every size can be overridden from the environment, and the
 * suite's seeded PRNG and its seed (FAULT_SEED) let a failing run be replayed.
 */

// ------------------------------------------------------------------ sizes and randomness

/** A number from the environment (scenario sizes are all overridable), else `dflt`. */
export function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  return v === undefined || v === '' ? dflt : Number(v);
}

/** Seeded PRNG (mulberry32), so a failing run can be replayed with FAULT_SEED. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)],
    chance: (p: number) => next() < p,
    shuffle<T>(xs: T[]): T[] {
      for (let i = xs.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [xs[i], xs[j]] = [xs[j], xs[i]];
      }
      return xs;
    },
  };
}
export type Rng = ReturnType<typeof rng>;
export const SEED = envInt('FAULT_SEED', Math.floor(Date.now() % 1_000_000));
