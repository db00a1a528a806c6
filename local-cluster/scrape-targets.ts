/**
 * Pure: the Prometheus file_sd target list for the pods running on a process node.
 *
 * Debian's prometheus is built without Kubernetes service discovery, so the process node writes
 * this list itself whenever a pod starts or stops; Prometheus picks the file up through inotify.
 * Which port is scraped: the `prometheus.io/port` annotation when set (path from
 * `prometheus.io/path`, default /metrics), else every declared TCP container port.
 * `prometheus.io/scrape: "false"` opts a pod out.
 */
import type { V1Pod } from '@kubernetes/client-node';

export interface FileSdGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** Prometheus label names allow [a-zA-Z0-9_]; Kubernetes label keys also contain `.`, `/` and `-`. */
export function sanitizeLabelName(key: string): string {
  const s = key.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

/** One group per scraped container port of each running pod, labelled with the pod's labels. */
export function scrapeTargets(pods: Array<{ pod: V1Pod; podIp: string; running: boolean }>): FileSdGroup[] {
  const groups: FileSdGroup[] = [];
  for (const { pod, podIp, running } of pods) {
    const ann = pod.metadata?.annotations ?? {};
    if (!running || ann['prometheus.io/scrape'] === 'false') continue;
    const base: Record<string, string> = {};
    for (const [k, v] of Object.entries(pod.metadata?.labels ?? {})) base[sanitizeLabelName(k)] = v;
    Object.assign(base, { namespace: pod.metadata?.namespace ?? '', pod: pod.metadata?.name ?? '' });
    if (ann['prometheus.io/path']) base.__metrics_path__ = ann['prometheus.io/path'];
    const annotated = Number(ann['prometheus.io/port']);
    if (Number.isInteger(annotated) && annotated > 0) {
      groups.push({ targets: [`${podIp}:${annotated}`], labels: base });
      continue;
    }
    for (const c of pod.spec?.containers ?? []) {
      for (const p of c.ports ?? []) {
        if ((p.protocol ?? 'TCP') !== 'TCP') continue;
        groups.push({ targets: [`${podIp}:${p.containerPort}`], labels: { ...base, container: c.name } });
      }
    }
  }
  return groups;
}
