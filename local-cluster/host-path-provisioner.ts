/**
 * The real profile's default StorageClass (`standard`): a dynamic provisioner that gives each claim
 * a directory under the cluster's state directory as a hostPath PersistentVolume on the one node.
 *
 * Why our own: the known small provisioners (rancher's local-path) run as a pod from an image we
 * cannot pull and need a helper image per volume; on one node a directory and a PV object are all a
 * claim needs. It follows the external-provisioner protocol: the PV controller annotates a claim of
 * this class with `volume.kubernetes.io/storage-provisioner`, we create a PV bound to it by claimRef,
 * and we delete the directory and the PV once a Delete-policy volume is Released.
 *
 * It polls (every `intervalMs`) instead of watching: claims are few, and a poll has no watch to repair.
 */
import {
  CoreV1Api,
  StorageV1Api,
  type KubeConfig,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

export const STORAGE_CLASS = 'standard';
export const PROVISIONER = 'nerops.dev/host-path';

/** Pure: the PV for `claim`, a directory under `root`, pinned to `nodeName`. */
export function volumeFor(claim: V1PersistentVolumeClaim, root: string, nodeName: string): V1PersistentVolume {
  const name = `pvc-${claim.metadata!.uid!}`;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER } },
    spec: {
      capacity: { storage: claim.spec?.resources?.requests?.storage ?? '1Gi' },
      accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: STORAGE_CLASS,
      volumeMode: claim.spec?.volumeMode ?? 'Filesystem',
      claimRef: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        namespace: claim.metadata!.namespace!,
        name: claim.metadata!.name!,
        uid: claim.metadata!.uid!,
      },
      hostPath: { path: join(root, name), type: 'DirectoryOrCreate' },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [nodeName] }] },
          ],
        },
      },
    },
  };
}

/** Pure: whether `claim` waits for this provisioner. */
export function wantsVolume(claim: V1PersistentVolumeClaim): boolean {
  const ann = claim.metadata?.annotations ?? {};
  const provisioner =
    ann['volume.kubernetes.io/storage-provisioner'] ?? ann['volume.beta.kubernetes.io/storage-provisioner'];
  return (
    provisioner === PROVISIONER &&
    claim.status?.phase === 'Pending' &&
    !claim.spec?.volumeName &&
    !claim.metadata?.deletionTimestamp
  );
}

export class HostPathProvisioner {
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly root: string,
    private readonly nodeName: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Creates the default StorageClass and starts polling. */
  async start(intervalMs = 500): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await this.kc.makeApiClient(StorageV1Api).createStorageClass({
      body: {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name: STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
        provisioner: PROVISIONER,
        reclaimPolicy: 'Delete',
        volumeBindingMode: 'Immediate',
      },
    });
    this.#timer = setInterval(() => void this.#tick(), intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    const core = this.kc.makeApiClient(CoreV1Api);
    try {
      const [claims, volumes] = await Promise.all([
        core.listPersistentVolumeClaimForAllNamespaces(),
        core.listPersistentVolume(),
      ]);
      const existing = new Set(volumes.items.map((v) => v.metadata?.name));
      for (const claim of claims.items.filter(wantsVolume)) {
        const pv = volumeFor(claim, this.root, this.nodeName);
        if (existing.has(pv.metadata!.name)) continue;
        const dir = pv.spec!.hostPath!.path;
        await mkdir(dir, { recursive: true });
        // Pods run as non-root users, and a hostPath volume ignores fsGroup.
        await chmod(dir, 0o777);
        await core.createPersistentVolume({ body: pv });
      }
      for (const pv of volumes.items) {
        const ours = pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'] === PROVISIONER;
        if (!ours || pv.status?.phase !== 'Released' || pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') continue;
        await rm(pv.spec!.hostPath!.path, { recursive: true, force: true });
        await core.deletePersistentVolume({ name: pv.metadata!.name! });
      }
    } catch (err) {
      this.log(`[host-path-provisioner] ${(err as Error).message.split('\n')[0]}; retrying`);
    } finally {
      this.#busy = false;
    }
  }
}
