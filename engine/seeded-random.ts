/**
 * A tiny deterministic PRNG: the trainer draws from it so the same seed gives the same bundle, and
 * tests draw from it for reproducible random inputs. It sits at the bottom of engine/ because both the
 * trainer's modules and the engine's tests use it, and engine/ must not import trainer/.
 */

/** mulberry32. */
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
