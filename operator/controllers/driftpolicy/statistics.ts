/**
 * Drift statistics: pure maths over label distributions and histograms, compared with a model's baseline
 * profile. No I/O; every function is total (bad or empty input gives `undefined`, never NaN or a throw),
 * because a signal without a value is "NoData", not an error.
 */

/**
 * Probability floor used by {@link psi} for empty buckets. PSI divides by and takes the log of each
 * bucket's proportion, so an empty bucket on either side would make it infinite; the usual practice is to
 * floor proportions at a small constant. 1e-4 keeps one empty bucket's contribution bounded (at most about
 * `p · ln(p / 1e-4)`, e.g. 0.92 for p = 0.1) while still flagging mass appearing where there was none.
 */
export const PSI_EPSILON = 1e-4;

/** Normalise non-negative weights to sum 1; undefined when the total is not positive. */
export function normalize(weights: readonly number[]): number[] | undefined {
  let total = 0;
  for (const w of weights) {
    if (!Number.isFinite(w) || w < 0) return undefined;
    total += w;
  }
  if (!(total > 0)) return undefined;
  return weights.map((w) => w / total);
}

/**
 * Jensen-Shannon **distance** (base 2, so in [0, 1]) between two distributions over labels: the square root
 * of JSD(P‖Q) = ½ KL(P‖M) + ½ KL(Q‖M) with M = ½ (P + Q). Inputs are weights per label (counts or
 * fractions; each side is normalised), missing labels count as 0. Undefined when either side is empty.
 */
export function jensenShannonDistance(
  p: Readonly<Record<string, number>>,
  q: Readonly<Record<string, number>>,
): number | undefined {
  const labels = [...new Set([...Object.keys(p), ...Object.keys(q)])].sort();
  const pn = normalize(labels.map((l) => p[l] ?? 0));
  const qn = normalize(labels.map((l) => q[l] ?? 0));
  if (!pn || !qn) return undefined;
  let divergence = 0;
  for (let i = 0; i < labels.length; i++) {
    const a = pn[i] as number;
    const b = qn[i] as number;
    const m = (a + b) / 2;
    if (a > 0) divergence += 0.5 * a * Math.log2(a / m);
    if (b > 0) divergence += 0.5 * b * Math.log2(b / m);
  }
  // Rounding can leave a tiny negative divergence for identical inputs.
  return Math.sqrt(Math.min(1, Math.max(0, divergence)));
}

/**
 * Population Stability Index between a baseline (`expected`) and a current (`actual`) histogram with the
 * same buckets: Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ) over bucket proportions, each floored at `epsilon`
 * ({@link PSI_EPSILON}). Counts need not be integers (Prometheus `increase()` extrapolates). Undefined when
 * the bucket counts differ or either side is empty.
 */
export function psi(expected: readonly number[], actual: readonly number[], epsilon = PSI_EPSILON): number | undefined {
  if (expected.length !== actual.length || expected.length === 0) return undefined;
  const e = normalize(expected);
  const a = normalize(actual);
  if (!e || !a) return undefined;
  let sum = 0;
  for (let i = 0; i < e.length; i++) {
    const ei = Math.max(e[i] as number, epsilon);
    const ai = Math.max(a[i] as number, epsilon);
    sum += (ai - ei) * Math.log(ai / ei);
  }
  return sum;
}

/**
 * Absolute change of the unknown-token rate: |unknown / tokens − baseline|. Undefined without tokens.
 */
export function unknownTokenRateDelta(baselineRate: number, tokens: number, unknownTokens: number): number | undefined {
  if (!(tokens > 0) || !Number.isFinite(unknownTokens) || unknownTokens < 0 || !Number.isFinite(baselineRate))
    return undefined;
  return Math.abs(Math.min(1, unknownTokens / tokens) - baselineRate);
}

/** One sample of `sum by (le)(increase(x_bucket[w]))`: the `le` label as Prometheus formats it, and the value. */
export interface CumulativeBucket {
  le: string;
  value: number;
}

/** Parse a Prometheus `le` label value (`0.5`, `1e+06`, `+Inf`). */
export function parseLe(le: string): number {
  if (le === '+Inf' || le === 'Inf') return Infinity;
  return Number(le);
}

/** Relative tolerance when matching `le` values with baseline bounds (formatting round-trips). */
const BOUND_TOLERANCE = 1e-9;

/**
 * Turn cumulative Prometheus histogram buckets (`le`) into per-bucket counts laid out like a baseline
 * histogram: `bounds.length + 1` entries, the last one the +Inf overflow. The `le` values must be exactly
 * the baseline's bounds plus `+Inf` (the server builds its buckets from the bundle's profile); otherwise
 * the histograms are not comparable and the result explains why. Negative differences (counter resets
 * and `increase()` extrapolation can make cumulative values slightly non-monotonic) are clamped to 0.
 */
export function bucketsFromCumulative(
  samples: readonly CumulativeBucket[],
  bounds: readonly number[],
): { counts: number[] } | { error: string } {
  if (samples.length === 0) return { error: 'no histogram buckets' };
  const parsed = samples.map((s) => ({ le: parseLe(s.le), value: s.value }));
  if (parsed.some((s) => Number.isNaN(s.le)))
    return { error: `unparseable le label in ${samples.map((s) => s.le).join(',')}` };
  parsed.sort((a, b) => a.le - b.le);
  const want = [...bounds, Infinity];
  const same =
    parsed.length === want.length &&
    parsed.every((s, i) => {
      const w = want[i] as number;
      return s.le === w || Math.abs(s.le - w) <= BOUND_TOLERANCE * Math.max(1, Math.abs(w));
    });
  if (!same) {
    return {
      error: `bucket bounds [${parsed.map((s) => s.le).join(', ')}] differ from the baseline's [${want.join(', ')}]`,
    };
  }
  const counts: number[] = [];
  let prev = 0;
  for (const s of parsed) {
    const v = Number.isFinite(s.value) ? s.value : 0;
    counts.push(Math.max(0, v - prev));
    prev = Math.max(prev, v);
  }
  return { counts };
}
