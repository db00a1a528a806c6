/**
 * Pure: the configuration files of the real profile's node (containerd, CNI, kubelet, kube-proxy) and
 * the addresses they share. Only one real node runs per machine: its bridge, node IP and kubelet port
 * are fixed, so that pods, certificates and the apiserver agree on them without discovery.
 */

/** The Linux bridge the CNI plugin attaches pods to; the node's own address is on it. */
export const BRIDGE = 'nerops0';
/** The node's InternalIP: the bridge's address, where the apiserver, kubelet and Prometheus listen. */
export const NODE_IP = '10.244.0.1';
/** Pod addresses of the node (host-local IPAM). */
export const POD_SUBNET = '10.244.0.0/24';
/** All pod addresses of the cluster (kube-proxy masquerades traffic from outside it). */
export const CLUSTER_CIDR = '10.244.0.0/16';
/** The ClusterIP of the `kube-dns` Service (inside the control plane's SERVICE_CIDR, 10.0.0.0/16). */
export const CLUSTER_DNS_IP = '10.0.0.10';
export const CLUSTER_DOMAIN = 'cluster.local';
export const REAL_NODE_NAME = 'real-node';
/** The image containerd runs as each pod's sandbox (built from kubernetes' pause.c). */
export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';
/** iptables chain that lets bridged pod traffic through Docker's `FORWARD` DROP policy. */
export const FORWARD_CHAIN = 'NEROPS-FORWARD';
/** cgroup (v1, every hierarchy) under which kubelet puts all pods, so teardown has one tree to empty. */
export const CGROUP_ROOT = '/nerops';

/** Where the node keeps its state, under the cluster's state directory. */
export interface NodePaths {
  containerdRoot: string;
  containerdState: string;
  containerdSocket: string;
  cniConfDir: string;
  cniBinDir: string;
  cniIpamDir: string;
  kubeletRoot: string;
}

/**
 * containerd 1.6 (config version 2) with only what the CRI needs, in the node's own directories and on
 * its own socket (Docker's containerd has CRI disabled and must not be touched).
 * `restrict_oom_score_adj`: root here lacks CAP_SYS_RESOURCE, so runc cannot lower oom_score_adj to
 * kubelet's -998 for sandboxes; without it no pod sandbox starts.
 */
export function containerdConfig(p: NodePaths): string {
  return `version = 2
root = ${JSON.stringify(p.containerdRoot)}
state = ${JSON.stringify(p.containerdState)}
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = ${JSON.stringify(p.containerdSocket)}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${JSON.stringify(PAUSE_IMAGE)}
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${JSON.stringify(p.cniBinDir)}
    conf_dir = ${JSON.stringify(p.cniConfDir)}
    max_conf_num = 1
`;
}

/** The pod network: a bridge with host-local addresses; portmap for hostPort. */
export function cniConfList(p: NodePaths): string {
  const conf = {
    cniVersion: '0.4.0',
    name: 'nerops',
    plugins: [
      {
        type: 'bridge',
        bridge: BRIDGE,
        isGateway: true,
        // Pods talk to each other, to Services and to the node; nothing outside, so no masquerading
        // (and no iptables rules of the plugin's own to clean up).
        ipMasq: false,
        // A pod reaching itself through its Service's ClusterIP comes back over its own bridge port.
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: POD_SUBNET, gateway: NODE_IP }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: p.cniIpamDir,
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
  return `${JSON.stringify(conf, null, 2)}\n`;
}

export interface KubeletConfigInput {
  paths: NodePaths;
  caCert: string;
  servingCert: string;
  servingKey: string;
  healthzPort: number;
}

/** KubeletConfiguration (JSON is YAML). Certificates are files; nothing rotates or bootstraps. */
export function kubeletConfig(i: KubeletConfigInput): string {
  const conf = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: NODE_IP,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: i.healthzPort,
    tlsCertFile: i.servingCert,
    tlsPrivateKeyFile: i.servingKey,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: i.caCert } },
    authorization: { mode: 'Webhook' },
    containerRuntimeEndpoint: `unix://${i.paths.containerdSocket}`,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: CGROUP_ROOT,
    clusterDNS: [CLUSTER_DNS_IP],
    clusterDomain: CLUSTER_DOMAIN,
    // The host has swap off, but kubelet must not refuse to start should a machine have it on.
    failSwapOn: false,
    // kubelet only warns about cgroup v1 in 1.34 with this default; said explicitly so it stays so.
    failCgroupV1: false,
    // Never evict or garbage-collect our images on a busy disk: tests own the node alone.
    evictionHard: {
      'memory.available': '100Mi',
      'nodefs.available': '1%',
      'imagefs.available': '1%',
      'nodefs.inodesFree': '1%',
    },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    // Tests want status changes seen in about a second, not the defaults' ten.
    nodeStatusUpdateFrequency: '4s',
    syncFrequency: '10s',
    fileCheckFrequency: '5s',
    // Serialized pulls are irrelevant (images are preloaded); parallel pod start-up is not.
    serializeImagePulls: false,
    maxPods: 110,
    resolvConf: '/etc/resolv.conf',
    protectKernelDefaults: false,
    makeIPTablesUtilChains: false,
  };
  return `${JSON.stringify(conf, null, 2)}\n`;
}

export interface KubeProxyConfigInput {
  kubeconfig: string;
  healthzPort: number;
  metricsPort: number;
}

/** KubeProxyConfiguration: iptables mode; conntrack left alone (root here cannot write its sysctls). */
export function kubeProxyConfig(i: KubeProxyConfigInput): string {
  const conf = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clientConnection: { kubeconfig: i.kubeconfig, qps: 50, burst: 100 },
    hostnameOverride: REAL_NODE_NAME,
    bindAddress: NODE_IP,
    healthzBindAddress: `127.0.0.1:${i.healthzPort}`,
    metricsBindAddress: `127.0.0.1:${i.metricsPort}`,
    clusterCIDR: CLUSTER_CIDR,
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    // Service changes apply within a second instead of the default minimum of one.
    iptables: { syncPeriod: '10s', minSyncPeriod: '0s' },
    // NodePorts only on the node's address, never on the machine's real interfaces.
    nodePortAddresses: [`${NODE_IP}/32`],
  };
  return `${JSON.stringify(conf, null, 2)}\n`;
}
