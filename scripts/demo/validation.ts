/**
 * The demo's validation team: people who check a sample of notes and post what they verified to
 * `POST /v1/feedback` on the serving pods (docs/feedback.md). Here the notes are synthetic and their gold
 * entities, with the assertion of each, come from the generator. Paced at `rate` documents per second,
 * round-robin over the pods like the traffic (so both tracks get corrections during a canary); the answers'
 * counts are kept per model version, the team's own tally beside what Prometheus says.
 */
import { feedbackF1Query, ServerMetric, type AssertionAttribute } from '../../contracts/metrics.js';
import type { TrafficTarget } from '../../loadgen/traffic.js';
import type { SyntheticNote } from '../../trainer/synthetic.js';

/** What a `/v1/feedback` answer says (the fields the team reads). */
interface FeedbackAnswer {
  model?: { version?: string };
  counts?: { tp: number; fp: number; fn: number };
  assertions?: Record<AssertionAttribute, { agree: number; disagree: number }>;
}

/** The team's tally of one model version. */
export interface VersionTally {
  documents: number;
  tp: number;
  fp: number;
  fn: number;
  assertions: Record<AssertionAttribute, { agree: number; disagree: number }>;
}

/** Entity F1 of a tally, 2·TP / (2·TP + FP + FN); undefined without any entity. */
export function f1Of(t: Pick<VersionTally, 'tp' | 'fp' | 'fn'>): number | undefined {
  const d = 2 * t.tp + t.fp + t.fn;
  return d === 0 ? undefined : (2 * t.tp) / d;
}

/** The `/v1/feedback` body of a note: the text and every gold entity with its verified assertion. */
export function feedbackBody(note: SyntheticNote, source: string): string {
  if (!note.entities) throw new Error('a correction needs the gold entities (generateNotes with assertions: true)');
  return JSON.stringify({
    text: note.text,
    entities: note.entities.map(({ label, start, end, assertion }) => ({ label, start, end, assertion })),
    source,
  });
}

export interface ValidationOptions {
  /** Documents per second. */
  rate: number;
  /** The note to verify next (with its gold entities). */
  nextNote: () => SyntheticNote;
  /** The serving pods' extraction URLs (the team posts to `/v1/feedback` of the same pods). */
  targets: () => readonly TrafficTarget[];
  /** The team's name, sent as `source`. */
  source?: string;
}

export class ValidationTeam {
  /** The answers' counts by the phase the note was posted in (see {@link phase}), then by model version. */
  readonly tallies: Record<string, Record<string, VersionTally>> = {};
  /** A name for what is being verified now (the demo: which vocabulary the notes have). */
  phase = '';
  readonly codes: Record<number, number> = {};
  posted = 0;
  #timer: NodeJS.Timeout | undefined;
  #next = 0;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(readonly opts: ValidationOptions) {}

  start(): this {
    this.#timer ??= setInterval(() => this.#post(), 1000 / this.opts.rate);
    return this;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.all(this.#inFlight);
  }

  #post(): void {
    const targets = this.opts.targets();
    // A slow pod must not pile up corrections: people wait for an answer before the next note.
    if (targets.length === 0 || this.#inFlight.size >= 16) return;
    const target = targets[this.#next++ % targets.length] as TrafficTarget;
    const url = new URL(target.url);
    url.pathname = '/v1/feedback';
    this.posted++;
    const phase = this.phase;
    const p = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: feedbackBody(this.opts.nextNote(), this.opts.source ?? 'validation-team'),
      signal: AbortSignal.timeout(5000),
    })
      .then(async (r) => {
        this.codes[r.status] = (this.codes[r.status] ?? 0) + 1;
        if (r.ok) this.#count(phase, (await r.json()) as FeedbackAnswer);
        else await r.arrayBuffer();
      })
      .catch(() => {
        this.codes[0] = (this.codes[0] ?? 0) + 1;
      })
      .finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }

  #count(phase: string, a: FeedbackAnswer): void {
    const version = a.model?.version ?? '?';
    const t = ((this.tallies[phase] ??= {})[version] ??= {
      documents: 0,
      tp: 0,
      fp: 0,
      fn: 0,
      assertions: {
        negated: { agree: 0, disagree: 0 },
        certainty: { agree: 0, disagree: 0 },
        temporality: { agree: 0, disagree: 0 },
        experiencer: { agree: 0, disagree: 0 },
      },
    });
    t.documents++;
    t.tp += a.counts?.tp ?? 0;
    t.fp += a.counts?.fp ?? 0;
    t.fn += a.counts?.fn ?? 0;
    for (const [attr, c] of Object.entries(a.assertions ?? {}) as [AssertionAttribute, typeof t.assertions.negated][]) {
      t.assertions[attr].agree += c.agree;
      t.assertions[attr].disagree += c.disagree;
    }
  }
}

/** What `liveF1` reads for one model version. */
export interface LiveF1 {
  f1: number | undefined;
  /** Gold entities (TP + FN) in the window. */
  gold: number;
}

/** The queries an instant-query client answers (operator/prometheus/client.ts `PrometheusClient`). */
export interface Querier {
  query(promql: string): Promise<{ samples: { labels: Record<string, string>; value: number }[] }>;
}

/**
 * Live entity F1 per model version over the last `window` seconds, from `nerops_feedback_entities_total` with
 * the contract's expression ({@link feedbackF1Query}), and the gold entities behind each value.
 */
export async function liveF1(prom: Querier, namespace: string, windowSeconds: number): Promise<Record<string, LiveF1>> {
  const window = `${Math.max(2, Math.round(windowSeconds))}s`;
  const sel = `namespace="${namespace}"`;
  const [f1, gold] = await Promise.all([
    prom.query(feedbackF1Query(window, 'version', sel)),
    prom.query(`sum by (version) (increase(${ServerMetric.feedbackEntities}{${sel},outcome=~"tp|fn"}[${window}]))`),
  ]);
  const out: Record<string, LiveF1> = {};
  for (const s of gold.samples) {
    const version = s.labels.version ?? '?';
    const v = f1.samples.find((x) => x.labels.version === version)?.value;
    out[version] = { f1: v !== undefined && Number.isFinite(v) ? v : undefined, gold: s.value };
  }
  return out;
}

/** `1.1.0 0.981 (176 gold) · 1.1.0-r1 …`, versions with gold entities only. */
export function liveF1Line(byVersion: Readonly<Record<string, LiveF1>>): string {
  const parts = Object.entries(byVersion)
    .filter(([, v]) => v.gold >= 1)
    .map(([version, v]) => `${version} ${v.f1 === undefined ? '–' : v.f1.toFixed(3)} (${Math.round(v.gold)} gold)`);
  return parts.length ? parts.join(' · ') : 'no corrections in the window yet';
}
