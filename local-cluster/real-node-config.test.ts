import { describe, expect, it } from 'vitest';
import { clusterDnsObjects, COREFILE } from './cluster-dns.js';
import { volumeFor, wantsVolume, PROVISIONER } from './host-path-provisioner.js';
import {
  BRIDGE,
  CLUSTER_DNS_IP,
  cniConfList,
  containerdConfig,
  kubeletConfig,
  kubeProxyConfig,
  NODE_IP,
  PAUSE_IMAGE,
  type NodePaths,
} from './real-node-config.js';

const paths: NodePaths = {
  containerdRoot: '/s/node/containerd/root',
  containerdState: '/s/node/containerd/state',
  containerdSocket: '/s/node/containerd/containerd.sock',
  cniConfDir: '/s/node/cni/net.d',
  cniBinDir: '/usr/lib/cni',
  cniIpamDir: '/s/node/cni/ipam',
  kubeletRoot: '/s/node/kubelet',
};

describe('real node configuration', () => {
  it('runs containerd on its own socket and directories, with the CRI settings this machine needs', () => {
    const toml = containerdConfig(paths);
    expect(toml).toContain('address = "/s/node/containerd/containerd.sock"');
    expect(toml).toContain('root = "/s/node/containerd/root"');
    expect(toml).toContain('restrict_oom_score_adj = true');
    expect(toml).toContain(`sandbox_image = "${PAUSE_IMAGE}"`);
    expect(toml).toContain('conf_dir = "/s/node/cni/net.d"');
  });

  it('attaches pods to the node bridge, with the node IP as their gateway and no masquerading', () => {
    const conf = JSON.parse(cniConfList(paths)) as { plugins: Array<Record<string, unknown>> };
    expect(conf.plugins[0]).toMatchObject({
      type: 'bridge',
      bridge: BRIDGE,
      isGateway: true,
      ipMasq: false,
      ipam: { ranges: [[{ gateway: NODE_IP }]], dataDir: paths.cniIpamDir },
    });
  });

  it('points the kubelet at our containerd, cluster DNS and certificates, with webhook authorization', () => {
    const conf = JSON.parse(
      kubeletConfig({ paths, caCert: '/p/ca.crt', servingCert: '/p/k.crt', servingKey: '/p/k.key', healthzPort: 1234 }),
    ) as Record<string, unknown>;
    expect(conf).toMatchObject({
      containerRuntimeEndpoint: `unix://${paths.containerdSocket}`,
      clusterDNS: [CLUSTER_DNS_IP],
      address: NODE_IP,
      authentication: { anonymous: { enabled: false }, x509: { clientCAFile: '/p/ca.crt' } },
      authorization: { mode: 'Webhook' },
      cgroupDriver: 'cgroupfs',
      readOnlyPort: 0,
    });
  });

  it('runs kube-proxy in iptables mode without touching conntrack sysctls', () => {
    const conf = JSON.parse(kubeProxyConfig({ kubeconfig: '/k', healthzPort: 1, metricsPort: 2 })) as Record<
      string,
      unknown
    >;
    expect(conf).toMatchObject({
      mode: 'iptables',
      conntrack: { maxPerCore: 0 },
      nodePortAddresses: [`${NODE_IP}/32`],
    });
  });

  it('serves cluster DNS on the kube-dns ClusterIP from an unprivileged port', () => {
    const svc = clusterDnsObjects().find((o) => o.kind === 'Service') as unknown as {
      spec: { clusterIP: string; ports: Array<{ port: number; targetPort: number }> };
    };
    expect(svc.spec.clusterIP).toBe(CLUSTER_DNS_IP);
    expect(svc.spec.ports.map((p) => p.port)).toEqual([53, 53]);
    expect(COREFILE).toContain(`.:${svc.spec.ports[0]!.targetPort}`);
  });
});

describe('host-path provisioner', () => {
  const claim = {
    metadata: {
      name: 'models',
      namespace: 'ward',
      uid: 'u-1',
      annotations: { 'volume.kubernetes.io/storage-provisioner': PROVISIONER },
    },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } },
    status: { phase: 'Pending' },
  };

  it('provisions a pending claim of its class, once, and nothing else', () => {
    expect(wantsVolume(claim)).toBe(true);
    expect(wantsVolume({ ...claim, spec: { ...claim.spec, volumeName: 'pv' } })).toBe(false);
    expect(wantsVolume({ ...claim, status: { phase: 'Bound' } })).toBe(false);
    expect(
      wantsVolume({
        ...claim,
        metadata: { ...claim.metadata, annotations: { 'volume.kubernetes.io/storage-provisioner': 'other' } },
      }),
    ).toBe(false);
  });

  it('makes a Delete-policy hostPath volume bound to the claim by uid, on the node', () => {
    const pv = volumeFor(claim, '/s/volumes', 'real-node');
    expect(pv.metadata?.name).toBe('pvc-u-1');
    expect(pv.spec).toMatchObject({
      capacity: { storage: '2Gi' },
      persistentVolumeReclaimPolicy: 'Delete',
      claimRef: { namespace: 'ward', name: 'models', uid: 'u-1' },
      hostPath: { path: '/s/volumes/pvc-u-1' },
    });
    expect(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms[0]?.matchExpressions?.[0]?.values).toEqual(['real-node']);
  });
});
