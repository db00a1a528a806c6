/**
 * Command lines and readiness checks of etcd, kube-apiserver, kube-controller-manager and
 * kube-scheduler. Every component listens on 127.0.0.1 only, on ports picked per cluster.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BinaryName } from './binaries.js';
import type { Pki } from './pki.js';
import type { ManagedProcess, Supervisor } from './supervisor.js';
import { httpsOk, waitFor } from './wait.js';

/** Service ClusterIPs come from here; 10.0.0.1 is the kubernetes Service (and in the apiserver cert). */
// A /16: the operator benchmark creates 500 NerDeployments, each with a Service.
export const SERVICE_CIDR = '10.0.0.0/16';

export interface ControlPlaneContext {
  sup: Supervisor;
  bins: Record<BinaryName, string>;
  pki: Pki;
  dir: string;
}

export async function startEtcd(
  ctx: ControlPlaneContext,
  clientPort: number,
  peerPort: number,
): Promise<{ proc: ManagedProcess; url: string }> {
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const dataDir = join(ctx.dir, 'etcd');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const proc = ctx.sup.start(
    'etcd',
    ctx.bins.etcd,
    [
      '--name=nerops',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=nerops=${peer}`,
      // A throwaway test store: durability costs fsyncs that would slow every write.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    { stopLast: true },
  );
  await waitFor('etcd', async () => (await fetch(`${url}/health`)).ok, { timeoutMs: 20_000, proc });
  return { proc, url };
}

export interface ApiserverOptions {
  etcdUrl: string;
  port: number;
  /**
   * The ServiceAccount admission plugin rejects pods until the controller-manager has created the
   * namespace's `default` ServiceAccount, so the apiserver-only profile turns it off (as envtest does).
   */
  serviceAccountAdmission: boolean;
  /**
   * Real profile: the address of the node network the apiserver listens on and advertises (pods reach
   * it there, through the `kubernetes` Service), with the Node authorizer and NodeRestriction for the
   * kubelet and client certificates towards it. Without it, 127.0.0.1 and RBAC only.
   */
  node?: { ip: string; kubeletClientCert: string; kubeletClientKey: string };
}

export async function startApiserver(
  ctx: ControlPlaneContext,
  opts: ApiserverOptions,
): Promise<{ proc: ManagedProcess; url: string }> {
  const { pki } = ctx;
  const host = opts.node?.ip ?? '127.0.0.1';
  const url = `https://${host}:${opts.port}`;
  const nodeFlags = opts.node
    ? [
        '--authorization-mode=Node,RBAC',
        '--enable-admission-plugins=NodeRestriction',
        `--kubelet-client-certificate=${opts.node.kubeletClientCert}`,
        `--kubelet-client-key=${opts.node.kubeletClientKey}`,
        `--kubelet-certificate-authority=${pki.caCert}`,
        // The node's name does not resolve; without this, `kubectl logs/exec` fail.
        '--kubelet-preferred-address-types=InternalIP',
      ]
    : ['--authorization-mode=RBAC'];
  const proc = ctx.sup.start('kube-apiserver', ctx.bins['kube-apiserver'], [
    `--etcd-servers=${opts.etcdUrl}`,
    `--bind-address=${host}`,
    `--advertise-address=${host}`,
    `--secure-port=${opts.port}`,
    `--cert-dir=${join(ctx.dir, 'apiserver-certs')}`,
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    ...nodeFlags,
    '--allow-privileged=true',
    // Priority-and-fairness bootstrapping only slows start-up; no test depends on it.
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    ...(opts.serviceAccountAdmission ? [] : ['--disable-admission-plugins=ServiceAccount']),
    // MutatingAdmissionPolicy (beta, off by default in 1.34) places the project's pods on the
    // process node (placement-policy.ts).
    '--feature-gates=MutatingAdmissionPolicy=true',
    '--runtime-config=admissionregistration.k8s.io/v1beta1=true',
    '--v=1',
  ]);
  const tls = { ca: readFileSync(pki.caCert), cert: readFileSync(pki.adminCert), key: readFileSync(pki.adminKey) };
  await waitFor('kube-apiserver', () => httpsOk(`${url}/readyz`, tls), { timeoutMs: 60_000, intervalMs: 200, proc });
  return { proc, url };
}

/**
 * kube-controller-manager with the default controller set (deployment, replicaset, job, garbage
 * collector, endpointslice, serviceaccount, serviceaccount-token, namespace, ...). Without a real
 * kubelet (`realNode` false) minus the node lifecycle controllers: process nodes send no heartbeats.
 * A real node needs them: they lift the not-ready taint a new node is admitted with.
 */
export async function startControllerManager(
  ctx: ControlPlaneContext,
  kubeconfig: string,
  port: number,
  realNode = false,
): Promise<ManagedProcess> {
  const proc = ctx.sup.start('kube-controller-manager', ctx.bins['kube-controller-manager'], [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${join(ctx.dir, 'kcm-certs')}`,
    realNode
      ? '--controllers=*,-cloud-node-lifecycle-controller'
      : '--controllers=*,-node-lifecycle-controller,-cloud-node-lifecycle-controller',
    `--service-account-private-key-file=${ctx.pki.saKey}`,
    `--root-ca-file=${ctx.pki.caCert}`,
    `--cluster-signing-cert-file=${ctx.pki.caCert}`,
    `--cluster-signing-key-file=${ctx.pki.caKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--leader-elect=false',
    // Tests create and delete objects in bursts; the default client QPS (20) throttles them.
    '--kube-api-qps=200',
    '--kube-api-burst=400',
    '--v=1',
  ]);
  await waitFor('kube-controller-manager', () => httpsOk(`https://127.0.0.1:${port}/healthz`, { insecure: true }), {
    timeoutMs: 60_000,
    intervalMs: 200,
    proc,
  });
  return proc;
}

export async function startScheduler(
  ctx: ControlPlaneContext,
  kubeconfig: string,
  port: number,
): Promise<ManagedProcess> {
  const proc = ctx.sup.start('kube-scheduler', ctx.bins['kube-scheduler'], [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${join(ctx.dir, 'scheduler-certs')}`,
    '--leader-elect=false',
    '--kube-api-qps=200',
    '--kube-api-burst=400',
    '--v=1',
  ]);
  await waitFor('kube-scheduler', () => httpsOk(`https://127.0.0.1:${port}/healthz`, { insecure: true }), {
    timeoutMs: 60_000,
    intervalMs: 200,
    proc,
  });
  return proc;
}
