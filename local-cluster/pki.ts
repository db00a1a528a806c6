/**
 * Certificates for one local cluster, made with the `openssl` CLI (node:crypto cannot issue X.509).
 * ECDSA P-256 keys: generating them takes milliseconds, which keeps cluster start fast.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Paths of the files {@link generatePki} writes. */
export interface Pki {
  caCert: string;
  caKey: string;
  /** kube-apiserver's serving certificate (SANs: 127.0.0.1, localhost, the kubernetes Service names). */
  serverCert: string;
  serverKey: string;
  /** Client certificate of the cluster admin: CN=nerops-admin, O=system:masters. */
  adminCert: string;
  adminKey: string;
  /** Service-account token signing key pair (apiserver verifies, controller-manager signs). */
  saKey: string;
  saPub: string;
  /** Real profile only: the certificates of a node's kubelet and kube-proxy (see {@link NodePki}). */
  node?: NodePki;
}

/** Certificates a real node needs. Paths, like the rest of {@link Pki}. */
export interface NodePki {
  /** kubelet's serving certificate (SANs: the node's IP and name), checked by the apiserver for logs/exec. */
  kubeletServingCert: string;
  kubeletServingKey: string;
  /** kubelet's client certificate: CN=system:node:<name>, O=system:nodes (Node authorizer, NodeRestriction). */
  kubeletClientCert: string;
  kubeletClientKey: string;
  /** The apiserver's client certificate towards kubelets (`--kubelet-client-certificate`). */
  apiserverKubeletClientCert: string;
  apiserverKubeletClientKey: string;
  /** kube-proxy: CN=system:kube-proxy, bound to system:node-proxier by the bootstrap RBAC policy. */
  kubeProxyCert: string;
  kubeProxyKey: string;
}

/** A node to issue certificates for, and the address the apiserver must also answer on. */
export interface PkiNodeOptions {
  name: string;
  ip: string;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    throw new Error(`openssl ${args[0]} failed (is openssl installed?)`, { cause: err });
  }
}

async function ecKey(path: string): Promise<void> {
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', path]);
}

async function signedCert(
  dir: string,
  name: string,
  subject: string,
  ext: string,
  ca: { cert: string; key: string },
): Promise<void> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  await ecKey(key);
  await openssl(['req', '-new', '-key', key, '-subj', subject, '-out', csr]);
  await writeFile(extFile, ext);
  // A random serial per certificate: -CAcreateserial shares one serial file, which races when the
  // certificates are signed in parallel ("Unable to load number from ca.srl").
  const serial = `0x${randomBytes(8).toString('hex')}`;
  await openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-set_serial',
    serial,
    '-days',
    '30',
    '-sha256',
    '-extfile',
    extFile,
    '-out',
    join(dir, `${name}.crt`),
  ]);
}

const CLIENT_EXT = 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n';

/**
 * Writes a CA, the apiserver serving cert, an admin client cert and the service-account keys into `dir`;
 * with `node`, also the certificates of that node (and the apiserver cert answers on its IP).
 */
export async function generatePki(dir: string, node?: PkiNodeOptions): Promise<Pki> {
  await mkdir(dir, { recursive: true });
  const ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  await ecKey(ca.key);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    ca.key,
    '-subj',
    '/CN=nerops-local-ca',
    '-days',
    '30',
    '-sha256',
    '-out',
    ca.cert,
  ]);
  const sans = [
    'IP:127.0.0.1',
    ...(node ? [`IP:${node.ip}`] : []),
    'IP:10.0.0.1', // first address of --service-cluster-ip-range: the kubernetes Service
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
  ].join(',');
  await Promise.all([
    signedCert(
      dir,
      'apiserver',
      '/CN=kube-apiserver',
      `subjectAltName=${sans}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n`,
      ca,
    ),
    signedCert(dir, 'admin', '/O=system:masters/CN=nerops-admin', CLIENT_EXT, ca),
    ...(node
      ? [
          signedCert(
            dir,
            'kubelet-serving',
            `/CN=${node.name}`,
            `subjectAltName=IP:${node.ip},DNS:${node.name}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n`,
            ca,
          ),
          signedCert(dir, 'kubelet-client', `/O=system:nodes/CN=system:node:${node.name}`, CLIENT_EXT, ca),
          // system:masters: the kubelet's webhook authorizer then allows logs, exec and metrics for it.
          signedCert(
            dir,
            'apiserver-kubelet-client',
            '/O=system:masters/CN=kube-apiserver-kubelet-client',
            CLIENT_EXT,
            ca,
          ),
          signedCert(dir, 'kube-proxy', '/CN=system:kube-proxy', CLIENT_EXT, ca),
        ]
      : []),
    (async () => {
      await ecKey(join(dir, 'sa.key'));
      await openssl(['ec', '-in', join(dir, 'sa.key'), '-pubout', '-out', join(dir, 'sa.pub')]);
    })(),
  ]);
  return {
    caCert: ca.cert,
    caKey: ca.key,
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
    ...(node
      ? {
          node: {
            kubeletServingCert: join(dir, 'kubelet-serving.crt'),
            kubeletServingKey: join(dir, 'kubelet-serving.key'),
            kubeletClientCert: join(dir, 'kubelet-client.crt'),
            kubeletClientKey: join(dir, 'kubelet-client.key'),
            apiserverKubeletClientCert: join(dir, 'apiserver-kubelet-client.crt'),
            apiserverKubeletClientKey: join(dir, 'apiserver-kubelet-client.key'),
            kubeProxyCert: join(dir, 'kube-proxy.crt'),
            kubeProxyKey: join(dir, 'kube-proxy.key'),
          },
        }
      : {}),
  };
}
