/**
 * `kubectl ner status NAME [--timeout 10m]`: a CI/GitOps gate. Exits 0 once the NerDeployment is Healthy with
 * no rollout running (promoted, or nothing to roll out) for its current generation, 1 when it is Degraded or
 * RolledBack, 2 when the timeout passes first. Prints a progress line (phase, step, weights) on each change.
 */
import { CliError } from '../command.js';
import { NER_DEPLOYMENT } from '../../contracts/api-group.js';
import type { NerClient } from './client.js';
import { EXIT } from './errors.js';
import type { NerDeploymentView } from './view.js';

export type Verdict = 'done' | 'failed' | 'waiting';

/** Where the NerDeployment stands for the gate (pure). */
export function verdictOf(d: NerDeploymentView): Verdict {
  const s = d.status ?? {};
  if ((s.observedGeneration ?? -1) < (d.metadata.generation ?? 0)) return 'waiting';
  if (s.phase === 'Degraded' || s.phase === 'RolledBack') return 'failed';
  if (s.phase === 'Healthy' && !s.canaryModel) return 'done';
  return 'waiting';
}

/** One progress line (pure): phase, models, step, weights, analysis, and what it waits for. */
export function progressLine(d: NerDeploymentView): string {
  const s = d.status ?? {};
  const parts = [`${d.metadata.name}: ${s.phase ?? 'Pending'}`, `stable ${s.stableModel ?? '-'}`];
  if (s.canaryModel) {
    const n = d.spec?.rollout?.steps?.length ?? '?';
    parts.push(`canary ${s.canaryModel}`);
    if (s.weights?.canary === 0) parts.push('shadow phase');
    else parts.push(`step ${(s.currentStepIndex ?? 0) + 1}/${n}`, `weights ${s.weights?.stable}/${s.weights?.canary}`);
    if (s.lastAnalysis?.outcome) parts.push(`analysis ${s.lastAnalysis.outcome}`);
  }
  const waiting = s.conditions?.find((c) => c.type === 'AwaitingApproval' && c.status === 'True');
  if (waiting) parts.push('awaiting approval (kubectl ner approve)');
  if (s.phase === 'RolledBack' && s.abortReason) parts.push(`rolled back ${s.rejectedModel ?? ''}: ${s.abortReason}`);
  else if (s.phase === 'Degraded' && s.message) parts.push(s.message);
  return parts.join(', ');
}

/** `10m`, `90s`, `1h`, or plain seconds. */
export function parseTimeout(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new CliError(`--timeout must be a duration like 90s, 10m or 1h, got '${text}'`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

export async function status(
  client: NerClient,
  name: string,
  timeoutMs: number,
  out: (line: string) => void,
  pollMs = 2000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const d = await client.get<NerDeploymentView>(NER_DEPLOYMENT, name);
    const line = progressLine(d);
    if (line !== last) out(line);
    last = line;
    const v = verdictOf(d);
    if (v === 'done') return EXIT.ok;
    if (v === 'failed') return EXIT.failed;
    if (Date.now() + pollMs > deadline) {
      out(`${name}: timed out after ${Math.round(timeoutMs / 1000)}s (${d.status?.phase ?? 'Pending'})`);
      return EXIT.timeout;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
