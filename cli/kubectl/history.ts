/**
 * `kubectl ner history NAME`: the NerDeployment's rollouts (status.history, with who approved) and the
 * lineage of the models it serves (NerModel lineage: parent model, DriftPolicy, run), newest first.
 */
import { NER_DEPLOYMENT, NER_MODEL } from '../../contracts/api-group.js';
import { ApiError, type NerClient } from './client.js';
import { cell, renderTable } from './table.js';
import type { NerDeploymentView, NerModelView } from './view.js';

/** The rollout history table (pure), newest first. */
export function historyTable(d: NerDeploymentView): string {
  const rows = [...(d.status?.history ?? [])]
    .reverse()
    .map((h) => [
      h.endTime,
      h.model,
      cell(h.previousModel),
      h.outcome,
      cell(h.stepsCompleted),
      cell(
        h.approvals?.map((a) => `${a.approver}${a.stepIndex !== undefined ? `@step${a.stepIndex + 1}` : ''}`).join(','),
      ),
      cell(h.message),
    ]);
  if (rows.length === 0) return `nerdeployment/${d.metadata.name}: no finished rollouts yet`;
  return renderTable(['END', 'MODEL', 'PREVIOUS', 'OUTCOME', 'STEPS', 'APPROVED BY', 'MESSAGE'], rows);
}

/** One model's lineage chain (pure): `v3 ← v2 (drift policy p, run r) ← v1`. */
export function lineageLine(start: string, models: ReadonlyMap<string, NerModelView>): string {
  const parts: string[] = [];
  const seen = new Set<string>();
  let name: string | undefined = start;
  while (name && !seen.has(name)) {
    seen.add(name);
    const m = models.get(name);
    const l = m?.status?.lineage ?? m?.spec?.lineage;
    const how = l?.driftPolicy
      ? ` (retrained by driftpolicy ${l.driftPolicy}${l.runId ? `, run ${l.runId}` : ''})`
      : '';
    parts.push(`${name}${m ? '' : ' (deleted)'}${how}`);
    name = l?.parentModel;
  }
  return parts.join(' ← ');
}

export async function history(client: NerClient, name: string, out: (l: string) => void): Promise<void> {
  const d = await client.get<NerDeploymentView>(NER_DEPLOYMENT, name);
  out(historyTable(d));
  let models: NerModelView[] = [];
  try {
    models = await client.list<NerModelView>(NER_MODEL);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
  }
  const byName = new Map(models.map((m) => [m.metadata.name ?? '', m]));
  const heads = [d.status?.stableModel, d.status?.canaryModel].filter((x): x is string => !!x);
  if (heads.length === 0) return;
  out('\nlineage:');
  for (const h of heads) out(`  ${lineageLine(h, byName)}`);
}
