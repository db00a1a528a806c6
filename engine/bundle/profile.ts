/**
 * The drift baseline (`profile.json`): what the model's inputs and outputs look like on held-out data.
 * Computed from the same ExtractResults the server turns into metrics, with the same bucket bounds,
 * so the operator compares like with like.
 */
import { z } from 'zod';
import type { BaselineProfile, ExtractResult, Histogram } from '../types.js';
import { parseJsonFile, schemaProblem } from '../json-problems.js';

/** Entity confidence buckets (upper bounds). Scores are in [0, 1], so the +Inf bucket stays empty. */
export const CONFIDENCE_BOUNDS = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1];
/** Document length buckets, in tokens. */
export const DOCUMENT_LENGTH_BOUNDS = [5, 10, 20, 40, 80, 160, 320, 640, 1280];

export function emptyHistogram(bounds: readonly number[]): Histogram {
  return { bounds: [...bounds], counts: new Array(bounds.length + 1).fill(0) };
}

/** Index of the bucket that holds `value` (first bound >= value; overflow past the last). */
export function bucketIndex(bounds: readonly number[], value: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (value <= (bounds[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function observe(h: Histogram, value: number): void {
  const i = bucketIndex(h.bounds, value);
  h.counts[i] = (h.counts[i] as number) + 1;
}

export function computeProfile(results: readonly ExtractResult[]): BaselineProfile {
  const acc = new ProfileAccumulator();
  acc.add(results);
  return acc.profile();
}

/** {@link computeProfile} over results that arrive in batches (a dataset tagged chunk by chunk). */
export class ProfileAccumulator {
  #confidence = emptyHistogram(CONFIDENCE_BOUNDS);
  #documentLength = emptyHistogram(DOCUMENT_LENGTH_BOUNDS);
  #byLabel = new Map<string, number>();
  #documents = 0;
  #tokens = 0;
  #unknown = 0;
  #entities = 0;

  add(results: readonly ExtractResult[]): void {
    for (const r of results) {
      this.#documents++;
      this.#tokens += r.stats.tokens;
      this.#unknown += r.stats.unknownTokens;
      observe(this.#documentLength, r.stats.tokens);
      for (const e of r.entities) {
        this.#entities++;
        this.#byLabel.set(e.label, (this.#byLabel.get(e.label) ?? 0) + 1);
        observe(this.#confidence, e.score);
      }
    }
  }

  profile(): BaselineProfile {
    const labelDistribution: Record<string, number> = {};
    for (const label of [...this.#byLabel.keys()].sort())
      labelDistribution[label] = round((this.#byLabel.get(label) as number) / this.#entities);
    return {
      profileVersion: 1,
      documents: this.#documents,
      tokens: this.#tokens,
      entities: this.#entities,
      labelDistribution,
      confidence: { bounds: [...this.#confidence.bounds], counts: [...this.#confidence.counts] },
      documentLength: { bounds: [...this.#documentLength.bounds], counts: [...this.#documentLength.counts] },
      unknownTokenRate: this.#tokens === 0 ? 0 : round(this.#unknown / this.#tokens),
    };
  }
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

const histogramSchema = z
  .object({ bounds: z.array(z.number()).min(1), counts: z.array(z.number().int().nonnegative()) })
  .refine(
    (h) => h.counts.length === h.bounds.length + 1,
    'counts must have one more entry than bounds (the +Inf bucket)',
  )
  .refine(
    (h) => h.bounds.every((b, i) => i === 0 || b > (h.bounds[i - 1] as number)),
    'bounds must be strictly increasing',
  );

export const profileSchema = z.object({
  profileVersion: z.literal(1),
  documents: z.number().int().nonnegative(),
  tokens: z.number().int().nonnegative(),
  entities: z.number().int().nonnegative(),
  labelDistribution: z.record(z.string(), z.number().min(0).max(1)),
  confidence: histogramSchema,
  documentLength: histogramSchema,
  unknownTokenRate: z.number().min(0).max(1),
});

export function parseProfile(text: string): BaselineProfile {
  const result = profileSchema.safeParse(parseJsonFile(text, 'profile.json'));
  if (!result.success) throw new Error(schemaProblem('profile.json', profileSchema, result.error.issues[0]));
  return result.data as BaselineProfile;
}
