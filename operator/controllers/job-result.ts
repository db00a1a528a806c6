/**
 * How a one-shot task Job (validation, retraining) reports its result: in the termination message of its
 * pod's container (our JSON, or a log tail with FallbackToLogsOnError), plus the exit code. The reader is
 * the controllers' only pod access: it runs only for a finished Job, whose pod carries the result.
 */
import { sanitizeMessage } from '../../contracts/termination-message.js';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { ClusterClient } from '../runtime/client.js';
import { builtin } from '../runtime/resource.js';

/** The terminated task container of a finished Job's pod. */
export interface TerminatedContainer {
  exitCode: number;
  /** Termination message (our JSON, or a log tail with FallbackToLogsOnError). */
  message?: string;
}

/** Finished state of a Job from its conditions. */
export function jobFinished(job: V1Job): 'Complete' | 'Failed' | undefined {
  for (const c of job.status?.conditions ?? []) {
    if (c.status !== 'True') continue;
    if (c.type === 'Complete' || c.type === 'SuccessCriteriaMet') return 'Complete';
    if (c.type === 'Failed' || c.type === 'FailureTarget') return 'Failed';
  }
  return undefined;
}

/** The last non-empty line of a log tail, for a one-line message. */
export function lastLine(text: string | undefined): string {
  const lines = (text ?? '')
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '');
  // A Job's log is the container's own text: it passes the one sanitiser before it can reach status or Events.
  return sanitizeMessage(lines[lines.length - 1] ?? '', 300);
}

/** Which container of the Job's pod holds the result. */
export interface ResultContainer {
  name: string;
  /** Read the pod's first container when none has `name` (a custom retraining Job may name it otherwise). */
  orFirst?: boolean;
}

/** The terminated result container of the Job's newest pod, if any (listed by the `job-name` label). */
export async function readTerminatedContainer(
  ctx: { client: ClusterClient; namespace: string | undefined },
  jobName: string,
  container: ResultContainer,
): Promise<TerminatedContainer | undefined> {
  const pods = await ctx.client.list<V1Pod>(builtin.pods, ctx.namespace, `job-name=${jobName}`);
  pods.sort((a, b) =>
    String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')),
  );
  for (const pod of pods) {
    const statuses = pod.status?.containerStatuses ?? [];
    const c = statuses.find((s) => s.name === container.name) ?? (container.orFirst ? statuses[0] : undefined);
    const t = c?.state?.terminated;
    if (t) return { exitCode: t.exitCode, ...(t.message ? { message: t.message } : {}) };
  }
  return undefined;
}
