// `helm test` for the nerops chart (templates/tests/chart-test.yaml): run by node in the operator's image
// under a ServiceAccount that may read only the operator Deployment and its Lease (and, with a sample
// bundle, create and delete one NerModel). Checks, each retried until NEROPS_TEST_TIMEOUT_SECONDS:
//   1. the CRDs are installed and served (API discovery of nerops.io/v1alpha1: nermodels, nerdeployments,
//      driftpolicies);
//   2. the operator Deployment is rolled out and has a ready replica;
//   3. with leader election, a pod of that Deployment holds the Lease and renews it;
//   4. with NEROPS_TEST_BUNDLE_URI, a smoke NerModel of that bundle is validated (Ready), then deleted.
// Prints one line per check; exit code 0 when all pass. Plain JavaScript with Node built-ins only, so the
// image needs nothing else. The API server, token and CA default to the pod's in-cluster ones.
import { readFileSync } from 'node:fs';
import https from 'node:https';

const env = process.env;
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const api = new URL(env.NEROPS_TEST_API_URL ?? `https://${env.KUBERNETES_SERVICE_HOST}:${env.KUBERNETES_SERVICE_PORT}`);
const token = readFileSync(env.NEROPS_TEST_TOKEN_FILE ?? `${SA_DIR}/token`, 'utf8').trim();
const ca = readFileSync(env.NEROPS_TEST_CA_FILE ?? `${SA_DIR}/ca.crt`);
const timeoutMs = Number(env.NEROPS_TEST_TIMEOUT_SECONDS ?? '300') * 1000;
const deadline = Date.now() + timeoutMs;

/** One JSON request; resolves with the status and the parsed body (never rejects on an HTTP status). */
function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: api.hostname,
        port: api.port || 443,
        method,
        path,
        ca,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        timeout: 10_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

/** What the API server said, short (its Status message, never a body we sent). */
const said = (r) => `HTTP ${r.status}${r.json?.message ? `: ${r.json.message}` : ''}`;

/** Retries `check` (returns a failure reason, or undefined when it passes) until the deadline. */
async function until(name, check) {
  let why = 'not checked';
  for (;;) {
    try {
      why = await check();
    } catch (err) {
      // A verdict (a Rejected model) ends the test at once; anything else may pass on a later try.
      if (err?.final) throw err;
      why = err instanceof Error ? err.message : String(err);
    }
    if (why === undefined) {
      console.log(`ok: ${name}`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`${name}: ${why}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function crdsServed() {
  const r = await request('GET', '/apis/nerops.io/v1alpha1');
  if (r.status !== 200) return `API discovery of nerops.io/v1alpha1: ${said(r)}`;
  const served = new Set((r.json?.resources ?? []).map((x) => x.name));
  const missing = ['nermodels', 'nerdeployments', 'driftpolicies'].filter((n) => !served.has(n));
  return missing.length ? `not served: ${missing.join(', ')}` : undefined;
}

async function deploymentReady() {
  const ns = env.NEROPS_TEST_NAMESPACE;
  const name = env.NEROPS_TEST_DEPLOYMENT;
  const r = await request('GET', `/apis/apps/v1/namespaces/${ns}/deployments/${name}`);
  if (r.status !== 200) return `Deployment ${ns}/${name}: ${said(r)}`;
  const { metadata, spec, status = {} } = r.json;
  if ((status.observedGeneration ?? 0) < metadata.generation) return `Deployment ${name}: rollout not observed yet`;
  if ((status.readyReplicas ?? 0) < 1) return `Deployment ${name}: no ready replica (of ${spec.replicas})`;
  if ((status.updatedReplicas ?? 0) < spec.replicas) return `Deployment ${name}: rollout in progress`;
  return undefined;
}

async function leaseHeld() {
  const ns = env.NEROPS_TEST_LEASE_NAMESPACE;
  const name = env.NEROPS_TEST_LEASE;
  const r = await request('GET', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}`);
  if (r.status !== 200) return `Lease ${ns}/${name}: ${said(r)}`;
  const { holderIdentity, renewTime, leaseDurationSeconds } = r.json.spec ?? {};
  // The operator's identity is its pod name plus a suffix; pods of the Deployment are named <deployment>-….
  if (!holderIdentity) return `Lease ${name}: no holder (no replica leads)`;
  if (!holderIdentity.startsWith(`${env.NEROPS_TEST_DEPLOYMENT}-`))
    return `Lease ${name}: held by ${holderIdentity}, not a pod of Deployment ${env.NEROPS_TEST_DEPLOYMENT}`;
  // Twice the duration, for clock skew between this node and the leader's.
  const age = Date.now() - Date.parse(renewTime ?? '');
  if (!(age < 2 * (leaseDurationSeconds ?? 15) * 1000)) return `Lease ${name}: not renewed for ${Math.round(age / 1000)} s`;
  return undefined;
}

async function smokeModel() {
  const ns = env.NEROPS_TEST_MODEL_NAMESPACE;
  const name = env.NEROPS_TEST_MODEL;
  const path = `/apis/nerops.io/v1alpha1/namespaces/${ns}/nermodels`;
  // A leftover of an earlier run: delete it and wait until it is gone.
  await until(`no earlier smoke NerModel ${name}`, async () => {
    const r = await request('DELETE', `${path}/${name}`);
    if (r.status === 404) return undefined;
    if (r.status >= 300) return `deleting ${name}: ${said(r)}`;
    return 'deleting';
  });
  const model = {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'NerModel',
    metadata: { name, labels: { 'app.kubernetes.io/part-of': 'nerops', 'nerops.io/chart-test': 'true' } },
    spec: {
      family: 'chart-smoke-test',
      version: env.NEROPS_TEST_MODEL_VERSION ?? '0.0.0',
      format: env.NEROPS_TEST_BUNDLE_FORMAT ?? 'crf',
      source: { uri: env.NEROPS_TEST_BUNDLE_URI, digest: env.NEROPS_TEST_BUNDLE_DIGEST },
      entityTypes: (env.NEROPS_TEST_ENTITY_TYPES ?? '').split(',').filter(Boolean),
    },
  };
  const created = await request('POST', path, model);
  if (created.status !== 201) throw new Error(`creating smoke NerModel ${name}: ${said(created)}`);
  try {
    await until(`smoke NerModel ${name} validated (Ready)`, async () => {
      const r = await request('GET', `${path}/${name}`);
      if (r.status !== 200) return `${name}: ${said(r)}`;
      const phase = r.json.status?.phase;
      if (phase === 'Rejected' || phase === 'Failed')
        throw Object.assign(new Error(`${name} is ${phase}: ${r.json.status?.message ?? ''}`), { final: true });
      return phase === 'Ready' ? undefined : `${name} is ${phase ?? 'not yet reconciled'}`;
    });
  } finally {
    await request('DELETE', `${path}/${name}`);
  }
}

async function main() {
  await until('the CRDs are installed and served', crdsServed);
  await until(`Deployment ${env.NEROPS_TEST_DEPLOYMENT} is ready`, deploymentReady);
  if (env.NEROPS_TEST_LEASE) await until(`a replica holds Lease ${env.NEROPS_TEST_LEASE}`, leaseHeld);
  if (env.NEROPS_TEST_BUNDLE_URI) await smokeModel();
  else console.log('skipped: smoke NerModel (tests.sampleBundle.uri is not set)');
}

main().then(
  () => console.log('chart test passed'),
  (err) => {
    console.error(`FAIL: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
