/**
 * The kind provider cannot run on the project's CI machines (no registry for kind's node image); these
 * tests keep what it applies honest here: Prometheus discovers pods by the same rules as the local real
 * node (scrape-targets.ts), with read access to pods and nothing else, and scripts/e2e-kind.sh runs the
 * real project's scenario files with this provider.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PROMETHEUS_IMAGE, kindOptionsFromEnv, kindPrometheusConfig, kindPrometheusObjects } from './kind.js';
import { SCRAPE_INTERVAL } from './prometheus.js';

interface Relabel {
  source_labels?: string[];
  regex?: string;
  action?: string;
  target_label?: string;
  replacement?: string;
}

/** Prometheus's relabelling, for the rules kindPrometheusConfig uses (keep, drop, replace, labelmap). */
function relabel(meta: Record<string, string>, rules: Relabel[]): Record<string, string> | undefined {
  const labels = { ...meta };
  for (const r of rules) {
    const re = new RegExp(`^(?:${r.regex ?? '(.*)'})$`);
    if (r.action === 'labelmap') {
      for (const [k, v] of Object.entries(labels)) {
        const m = re.exec(k);
        if (m) labels[(r.replacement ?? '$1').replace('$1', m[1]!)] = v;
      }
      continue;
    }
    const value = (r.source_labels ?? []).map((l) => labels[l] ?? '').join(';');
    const m = re.exec(value);
    if (r.action === 'keep' && !m) return undefined;
    if (r.action === 'drop' && m) return undefined;
    if ((r.action ?? 'replace') === 'replace' && m && r.target_label) {
      labels[r.target_label] = (r.replacement ?? '$1').replace(/\$(\d)/g, (_, i: string) => m[Number(i)] ?? '');
    }
  }
  return Object.fromEntries(Object.entries(labels).filter(([k]) => !k.startsWith('__meta_')));
}

const rules = (kindPrometheusConfig().scrape_configs as { relabel_configs: Relabel[] }[])[0]!.relabel_configs;
const servingPod = {
  __address__: '10.244.0.7:8080',
  __meta_kubernetes_namespace: 'team-a',
  __meta_kubernetes_pod_name: 'ner-7c9',
  __meta_kubernetes_pod_ip: '10.244.0.7',
  __meta_kubernetes_pod_phase: 'Running',
  __meta_kubernetes_pod_label_app_kubernetes_io_name: 'ner',
  __meta_kubernetes_pod_container_name: 'server',
  __meta_kubernetes_pod_container_port_protocol: 'TCP',
};

describe('the kind provider', () => {
  it('scrapes a pod at its annotated port and path, labelled with its namespace, name and labels', () => {
    const target = relabel(
      {
        ...servingPod,
        __meta_kubernetes_pod_annotation_prometheus_io_port: '9464',
        __meta_kubernetes_pod_annotation_prometheus_io_path: '/metrics/x',
      },
      rules,
    );
    expect(target).toEqual({
      __address__: '10.244.0.7:9464',
      __metrics_path__: '/metrics/x',
      app_kubernetes_io_name: 'ner',
      namespace: 'team-a',
      pod: 'ner-7c9',
    });
  });

  it('scrapes every declared TCP port of an unannotated pod, naming the container', () => {
    expect(relabel(servingPod, rules)).toMatchObject({ __address__: '10.244.0.7:8080', container: 'server' });
    expect(relabel({ ...servingPod, __meta_kubernetes_pod_container_port_protocol: 'UDP' }, rules)).toBeUndefined();
  });

  it('skips pods that opt out, pods not running, and kind’s own components', () => {
    expect(relabel({ ...servingPod, __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'false' }, rules)).toBe(
      undefined,
    );
    expect(relabel({ ...servingPod, __meta_kubernetes_pod_phase: 'Pending' }, rules)).toBeUndefined();
    expect(relabel({ ...servingPod, __meta_kubernetes_namespace: 'kube-system' }, rules)).toBeUndefined();
  });

  it('runs Prometheus with the local real node’s scrape interval and read access to pods only', () => {
    const objects = kindPrometheusObjects('mirror.example/prometheus:v2');
    const config = load(
      (objects.find((o) => o.kind === 'ConfigMap') as { data: Record<string, string> }).data['prometheus.yml']!,
    ) as { global: { scrape_interval: string } };
    expect(config.global.scrape_interval).toBe(SCRAPE_INTERVAL);
    const role = objects.find((o) => o.kind === 'ClusterRole') as { rules: unknown[] };
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
    expect(JSON.stringify(objects.find((o) => o.kind === 'Deployment'))).toContain('mirror.example/prometheus:v2');
  });

  it('reads its options from the environment scripts/e2e-kind.sh documents', () => {
    expect(kindOptionsFromEnv({})).toEqual({
      name: 'nerops-e2e',
      keep: false,
      prometheusImage: DEFAULT_PROMETHEUS_IMAGE,
    });
    expect(kindOptionsFromEnv({ KIND_CLUSTER: 'x', KEEP: '1', PROM_IMAGE: 'p' })).toEqual({
      name: 'x',
      keep: true,
      prometheusImage: 'p',
    });
  });

  it('is what scripts/e2e-kind.sh runs: the real project’s scenario files', () => {
    const script = fileURLToPath(new URL('../scripts/e2e-kind.sh', import.meta.url));
    execFileSync('bash', ['-n', script]);
    expect(readFileSync(script, 'utf8')).toMatch(/^NEROPS_CLUSTER_PROVIDER=kind npx vitest run --project real "\$@"$/m);
  });
});
