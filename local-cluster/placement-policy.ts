/**
 * Sends the project's pods to the process node without the pods (or the operator that makes them)
 * knowing about it: a MutatingAdmissionPolicy (beta in 1.34, feature gate turned on in
 * controlplane.ts) adds the process node's node selector and toleration to every new pod whose
 * containers all use the project's image. A pod keeps its own choice when it already sets
 * `nerops.dev/node-kind` in its node selector or binds `spec.nodeName` itself.
 */
import { CoreV1Api, KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { DEFAULT_PROCESS_IMAGE, NODE_KIND_LABEL, PROCESS_NODE_TAINT } from './process-node.js';
import { waitFor } from './wait.js';

const POLICY_NAME = 'nerops-process-node-placement';

/** CEL string literal for `s` (RE2 patterns and label keys contain backslashes and quotes rarely, but safely). */
function celString(s: string): string {
  return JSON.stringify(s);
}

export function placementPolicy(image: RegExp = DEFAULT_PROCESS_IMAGE): KubernetesObject[] {
  const key = celString(NODE_KIND_LABEL);
  const toleration = `Object.spec.tolerations{key: ${celString(PROCESS_NODE_TAINT.key)}, operator: "Equal", value: ${celString(PROCESS_NODE_TAINT.value)}, effect: ${celString(PROCESS_NODE_TAINT.effect)}}`;
  const policy = {
    apiVersion: 'admissionregistration.k8s.io/v1beta1',
    kind: 'MutatingAdmissionPolicy',
    metadata: { name: POLICY_NAME },
    spec: {
      matchConstraints: {
        resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
      },
      matchConditions: [
        {
          name: 'project-image',
          expression: `object.spec.containers.all(c, has(c.image) && c.image.matches(${celString(image.source)}))`,
        },
        { name: 'not-bound', expression: "!has(object.spec.nodeName) || object.spec.nodeName == ''" },
        {
          name: 'no-explicit-node-kind',
          expression: `!has(object.spec.nodeSelector) || !(${key} in object.spec.nodeSelector)`,
        },
      ],
      failurePolicy: 'Fail',
      reinvocationPolicy: 'Never',
      mutations: [
        {
          patchType: 'JSONPatch',
          jsonPatch: {
            expression: [
              `(has(object.spec.nodeSelector)`,
              `  ? [JSONPatch{op: "add", path: "/spec/nodeSelector/" + jsonpatch.escapeKey(${key}), value: "process"}]`,
              `  : [JSONPatch{op: "add", path: "/spec/nodeSelector", value: {${key}: "process"}}])`,
              `+ (has(object.spec.tolerations)`,
              `  ? [JSONPatch{op: "add", path: "/spec/tolerations/-", value: ${toleration}}]`,
              `  : [JSONPatch{op: "add", path: "/spec/tolerations", value: [${toleration}]}])`,
            ].join('\n'),
          },
        },
      ],
    },
  };
  const binding = {
    apiVersion: 'admissionregistration.k8s.io/v1beta1',
    kind: 'MutatingAdmissionPolicyBinding',
    metadata: { name: POLICY_NAME },
    spec: { policyName: POLICY_NAME },
  };
  return [policy, binding];
}

/** Installs the policy and waits until the apiserver applies it (checked with a dry-run pod). */
export async function installPlacementPolicy(kc: KubeConfig): Promise<void> {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  for (const obj of placementPolicy()) await objects.create(obj);
  const core = kc.makeApiClient(CoreV1Api);
  await waitFor(
    'process-node placement policy',
    async () => {
      const pod = await core.createNamespacedPod({
        namespace: 'default',
        dryRun: 'All',
        body: {
          metadata: { generateName: 'placement-probe-' },
          spec: { containers: [{ name: 'c', image: 'nerops:probe' }] },
        },
      });
      return pod.spec?.nodeSelector?.[NODE_KIND_LABEL] === 'process';
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}
