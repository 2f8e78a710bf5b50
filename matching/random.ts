/**
 * The one seeded PRNG for sampling (mulberry32): u sampling, clerical review samples, estimate draws.
 * Same seed, same sequence, on every platform. (The synthetic-data generator keeps its own sfc32 streams
 * in fixtures/generator/prng.ts on purpose: a change here must never change a fixture.)
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
