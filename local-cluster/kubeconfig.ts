/** The admin kubeconfig: client-certificate credentials, accepted by kubectl and @kubernetes/client-node. */
import { writeFile } from 'node:fs/promises';
import type { Pki } from './pki.js';

/**
 * Writes a kubeconfig for `server` with paths (not inline data) to the PKI files, and returns its path.
 * `client` picks another client certificate than the admin's (a node's kubelet, kube-proxy).
 */
export async function writeKubeconfig(
  path: string,
  server: string,
  pki: Pki,
  name = 'nerops-local',
  client = { cert: pki.adminCert, key: pki.adminKey },
): Promise<string> {
  // JSON is valid YAML; file paths keep the kubeconfig readable and the keys in one place.
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'certificate-authority': pki.caCert } }],
    users: [{ name: `${name}-admin`, user: { 'client-certificate': client.cert, 'client-key': client.key } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-admin`, namespace: 'default' } }],
    'current-context': name,
    preferences: {},
  };
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return path;
}
