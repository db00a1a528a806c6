/** Removal of the not-ready taint that the apiserver puts on every new Node. */
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';

/**
 * The TaintNodesByCondition admission plugin taints each new Node `not-ready:NoSchedule`; normally
 * the node-lifecycle controller lifts it once the node reports Ready. That controller is off here
 * (process nodes send no heartbeats, see controlplane.ts), so the harness lifts it itself, once,
 * after the node is Ready.
 */
export async function removeNotReadyTaint(core: CoreV1Api, name: string): Promise<void> {
  // Controllers touch a new Node too (annotations, status): retry the compare-and-swap on conflict.
  for (let attempt = 1; ; attempt++) {
    const node = await core.readNode({ name });
    const taints = (node.spec?.taints ?? []).filter((t) => t.key !== NOT_READY_TAINT);
    if (taints.length === (node.spec?.taints ?? []).length) return;
    try {
      await core.patchNode(
        // The resourceVersion makes the patch a compare-and-swap, so a concurrent taint change is not lost.
        { name, body: { metadata: { resourceVersion: node.metadata?.resourceVersion }, spec: { taints } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      return;
    } catch (err) {
      const conflict = typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 409;
      if (!conflict || attempt >= 10)
        throw new Error(`removing the not-ready taint from node ${name} failed`, { cause: err });
    }
  }
}
