/**
 * Readable one-line renderings of the demo's objects (pure), a poller that prints a line only when the
 * rendering changes — the demo's progress is what `kubectl get -w` would show, condensed — and the two
 * waits every story needs (a NerModel Ready, a model serving all traffic).
 */
import type { DriftPolicy } from '../../operator/api/driftpolicy.js';
import type { NerDeployment } from '../../operator/api/nerdeployment.js';
import type { NerModel } from '../../operator/api/nermodel.js';
import { nerDeployments, nerModels } from '../../operator/api/resources.js';
import type { ResourceType } from '../../operator/runtime/resource.js';
import type { TrafficStats } from '../../loadgen/traffic.js';

const MINUTE = 60_000;

const num = (x: number | undefined, digits = 3) => (x === undefined ? '–' : x.toFixed(digits));

/** `canary 25% (step 1/2) · analysis Pass: 42 requests, 0.0% errors, p95 3.1 ms` */
export function rolloutLine(nd: NerDeployment): string {
  const s = nd.status ?? {};
  const steps = nd.spec.rollout.steps.length;
  const parts = [`${s.phase ?? 'Pending'}`, `stable ${s.stableModel ?? '–'}`];
  if (s.canaryModel)
    parts.push(
      `canary ${s.canaryModel} at ${s.weights?.canary ?? 0}% (step ${Math.min((s.currentStepIndex ?? 0) + 1, steps)}/${steps})`,
    );
  const a = s.lastAnalysis;
  if (s.canaryModel && a)
    parts.push(
      `analysis ${a.outcome}: ${Math.round(a.samples ?? 0)} requests, ${num((a.errorRate ?? 0) * 100, 1)}% errors, p95 ${num(a.p95LatencyMs, 1)} ms`,
    );
  if (s.abortReason && s.phase === 'RolledBack') parts.push(`aborted: ${s.abortReason}`);
  return parts.join(' · ');
}

/** `Healthy vs clinical-ner-v2 · 180 docs · label-distribution 0.012 · … · unknown-token-rate 0.000 (Warning 1/2)` */
export function driftLine(p: DriftPolicy): string {
  const s = p.status;
  const e = s?.lastEvaluation;
  if (!s?.state || !e) return 'waiting for the first evaluation';
  const signals = e.signals.map(
    (x) =>
      `${x.name} ${num(x.value)}${x.level === 'Warning' || x.level === 'Critical' ? ` (${x.level} ${x.breaches}/${p.spec.consecutiveBreaches})` : ''}`,
  );
  const job = s.activeJob ? ` · Job ${s.activeJob.name} (${s.activeJob.trigger})` : '';
  return `${s.state} vs ${e.model ?? '–'} · ${Math.floor(e.samples ?? 0)} docs · ${signals.join(' · ')}${job}`;
}

/** `20.0 req/s · 1234 ok · by track stable 1100 / canary 134 · errors 0` */
export function trafficLine(stats: TrafficStats, rate: number): string {
  const tracks = Object.entries(stats.byTrack)
    .map(([t, n]) => `${t || '?'} ${n}`)
    .join(' / ');
  const failed = Object.entries(stats.codes)
    .filter(([c]) => Number(c) < 200 || Number(c) >= 300)
    .reduce((a, [, n]) => a + n, 0);
  return `${rate} req/s · ${stats.ok} ok · by track ${tracks || '–'} · failed ${failed}`;
}

/**
 * Poll `read` every `everyMs` and print `render(value)` when it changes, until `done(value)` is true or
 * `timeoutMs` passes (then throw, naming what was awaited).
 */
export async function follow<T>(
  what: string,
  read: () => Promise<T | undefined>,
  render: (v: T) => string,
  done: (v: T) => boolean,
  opts: { timeoutMs: number; everyMs?: number; print: (line: string) => void },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = '';
  for (;;) {
    const v = await read().catch(() => undefined);
    if (v !== undefined) {
      const line = render(v);
      if (line !== last) opts.print(line);
      last = line;
      if (done(v)) return v;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${Math.round(opts.timeoutMs / 1000)} s waiting for ${what} (last: ${last || 'nothing'})`,
      );
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 500));
  }
}

/** Reads of one namespace, as the waits below need them. */
export interface Reader {
  get<T>(rt: ResourceType, name: string): Promise<T>;
}

/** Follow a NerModel until it is Ready (throw, with its conditions, if it is Rejected or Failed). */
export async function waitModelReady(r: Reader, name: string, print: (line: string) => void): Promise<NerModel> {
  const m = await follow(
    `NerModel ${name} to be Ready`,
    () => r.get<NerModel>(nerModels, name),
    (m) =>
      `NerModel ${name}: ${m.status?.phase ?? 'Pending'}${m.status?.metrics ? ` (validated: held-out F1 ${m.status.metrics.micro.f1.toFixed(3)})` : ''}`,
    (m) => m.status?.phase === 'Ready' || m.status?.phase === 'Rejected' || m.status?.phase === 'Failed',
    { timeoutMs: 3 * MINUTE, print },
  );
  if (m.status?.phase !== 'Ready')
    throw new Error(
      `NerModel ${name} is ${m.status?.phase}: ${m.status?.conditions?.map((c) => c.message).join('; ')}`,
    );
  return m;
}

/** Follow a NerDeployment until `model` serves 100 % of its traffic (throw if it is rolled back or rejected). */
export async function waitServing(
  r: Reader,
  deployment: string,
  model: string,
  print: (line: string) => void,
): Promise<NerDeployment> {
  const nd = await follow(
    `${model} to serve all traffic`,
    () => r.get<NerDeployment>(nerDeployments, deployment),
    rolloutLine,
    (nd) =>
      (nd.status?.stableModel === model && nd.status.phase === 'Healthy' && nd.status.weights?.canary === 0) ||
      nd.status?.phase === 'RolledBack' ||
      nd.status?.rejectedModel === model,
    { timeoutMs: 6 * MINUTE, print },
  );
  if (nd.status?.stableModel !== model)
    throw new Error(`${model} was not promoted: ${nd.status?.abortReason ?? nd.status?.message ?? nd.status?.phase}`);
  return nd;
}
