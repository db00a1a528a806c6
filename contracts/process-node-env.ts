/**
 * Environment variables a process node (local-cluster) gives every pod process, on top of the pod spec's
 * own env. Documented in local-cluster/README.md; the `ner-ops` task commands read the termination-log and
 * scratch variables so they behave the same on a process node as in a container.
 */
export const ProcessNodeEnv = {
  /** The pod's own loopback address (also the pod IP in its status): bind servers here. */
  podIp: 'POD_IP',
  /** Same value as POD_IP, under the project's prefix. */
  nerPodIp: 'NEROPS_POD_IP',
  /** File standing in for /dev/termination-log: write the termination message here before exiting. */
  terminationLog: 'NEROPS_TERMINATION_LOG',
  /** A per-container scratch directory (there are no volumes on a process node). */
  scratch: 'NEROPS_POD_DIR',
  /** Admin kubeconfig of the local cluster, so in-cluster components (the operator) can talk to it. */
  kubeconfig: 'KUBECONFIG',
  /** The process node's Service name → service IP table, read by the DNS preload (service-dns-preload.ts). */
  serviceHosts: 'NEROPS_SERVICE_HOSTS',
  /** The pod's namespace: what a bare Service name means. */
  podNamespace: 'NEROPS_POD_NAMESPACE',
} as const;
