/**
 * `kubectl ner get [models|deployments|policies] [NAME] [-w]`: tables readable at a glance. The formatting
 * is pure ({@link deploymentRow}, ...); the command lists (or watches and reprints rows on change).
 */
import type { KindNames } from '../../contracts/api-group.js';
import { KINDS, type NerClient } from './client.js';
import { age, cell, renderTable } from './table.js';
import type { DriftPolicyView, NerDeploymentView, NerModelView } from './view.js';

export const DEPLOYMENT_COLUMNS = ['NAME', 'PHASE', 'STABLE', 'CANARY', 'STEP', 'WEIGHTS', 'ANALYSIS', 'AGE'];
export const MODEL_COLUMNS = ['NAME', 'PHASE', 'VERSION', 'F1', 'AGE'];
export const POLICY_COLUMNS = ['NAME', 'STATE', 'SIGNALS', 'JOB', 'AGE'];

const isTrue = (conds: { type: string; status: string }[] | undefined, type: string) =>
  conds?.some((c) => c.type === type && c.status === 'True') ?? false;

export function deploymentRow(d: NerDeploymentView, now: Date): string[] {
  const s = d.status ?? {};
  const n = d.spec?.rollout?.steps?.length;
  const step = s.canaryModel && s.currentStepIndex !== undefined ? `${s.currentStepIndex + 1}/${n ?? '?'}` : undefined;
  const weights = s.canaryModel && s.weights ? `${s.weights.stable}/${s.weights.canary}` : undefined;
  const phase = isTrue(s.conditions, 'AwaitingApproval') ? `${s.phase ?? 'Paused'} (approval)` : s.phase;
  return [
    d.metadata.name ?? '',
    cell(phase),
    cell(s.stableModel),
    cell(s.canaryModel ?? (s.phase === 'RolledBack' ? `${s.rejectedModel ?? ''} (rolled back)` : undefined)),
    cell(step),
    cell(weights),
    cell(s.canaryModel ? s.lastAnalysis?.outcome : undefined),
    age(d.metadata.creationTimestamp, now),
  ];
}

export function modelRow(m: NerModelView, now: Date): string[] {
  const f1 = m.status?.metrics?.micro?.f1;
  return [
    m.metadata.name ?? '',
    cell(m.status?.phase),
    cell(m.spec?.version),
    cell(f1 === undefined ? undefined : f1.toFixed(3)),
    age(m.metadata.creationTimestamp, now),
  ];
}

const LEVEL_RANK: Record<string, number> = { Ok: 0, NoData: 1, Warning: 2, Critical: 3 };

export function policyRow(p: DriftPolicyView, now: Date): string[] {
  const signals = p.status?.lastEvaluation?.signals ?? [];
  const worst = [...signals].sort((a, b) => (LEVEL_RANK[b.level ?? ''] ?? -1) - (LEVEL_RANK[a.level ?? ''] ?? -1))[0];
  const worstCell = worst
    ? `${signals.length} (worst ${worst.name}=${worst.value === undefined ? 'n/a' : worst.value.toFixed(3)} ${worst.level ?? ''})`.trim()
    : undefined;
  const job = p.status?.activeJob;
  return [
    p.metadata.name ?? '',
    cell(p.status?.state),
    cell(worstCell),
    cell(job ? `${job.name}${job.awaitingApproval ? ' (awaiting approval)' : ''}` : undefined),
    age(p.metadata.creationTimestamp, now),
  ];
}

type AnyView = NerDeploymentView | NerModelView | DriftPolicyView;
const FORMAT: Record<string, { columns: string[]; row: (o: never, now: Date) => string[] }> = {
  NerDeployment: { columns: DEPLOYMENT_COLUMNS, row: deploymentRow },
  NerModel: { columns: MODEL_COLUMNS, row: modelRow },
  DriftPolicy: { columns: POLICY_COLUMNS, row: policyRow },
};

/** The table of `objects` of `kind`, sorted by name. */
export function formatTable(kind: KindNames, objects: readonly AnyView[], now: Date): string {
  const f = FORMAT[kind.kind] as (typeof FORMAT)[string];
  const rows = [...objects]
    .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))
    .map((o) => f.row(o as never, now));
  return renderTable(f.columns, rows);
}

/** The kind a user typed (`deployments`, `deploy`, `nd`, `models`, `policies`, ...). */
export function kindOf(word: string | undefined): KindNames | undefined {
  const w = (word ?? 'deployments').toLowerCase();
  for (const k of Object.values(KINDS))
    if ([k.plural, k.singular, k.kind.toLowerCase(), ...k.shortNames].includes(w)) return k;
  if (['deployments', 'deployment', 'deploy'].includes(w)) return KINDS.deployments;
  if (['models', 'model'].includes(w)) return KINDS.models;
  if (['policies', 'policy'].includes(w)) return KINDS.policies;
  return undefined;
}

export async function get(
  client: NerClient,
  kind: KindNames,
  name: string | undefined,
  watch: boolean,
  out: (line: string) => void,
): Promise<void> {
  const objects = name ? [await client.get<AnyView>(kind, name)] : await client.list<AnyView>(kind);
  if (objects.length === 0 && !watch) {
    out(`No ${kind.plural} found in namespace ${client.namespace}.`);
    return;
  }
  out(formatTable(kind, objects, new Date()));
  if (!watch) return;
  // Reprint a row whenever it changes (kubectl get -w style); the server ends watches now and then: rewatch.
  const f = FORMAT[kind.kind] as (typeof FORMAT)[string];
  const last = new Map(objects.map((o) => [o.metadata.name ?? '', f.row(o as never, new Date()).join('|')]));
  for (;;)
    await client.watch<AnyView>(kind, name, (type, o) => {
      const row = f.row(o as never, new Date());
      const key = row.join('|');
      if (type !== 'DELETED' && last.get(o.metadata.name ?? '') === key) return;
      last.set(o.metadata.name ?? '', key);
      out(renderTable(f.columns, [type === 'DELETED' ? [...row.slice(0, -1), '(deleted)'] : row]).split('\n')[1] ?? '');
    });
}
