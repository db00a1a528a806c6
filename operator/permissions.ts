/**
 * Every Kubernetes API permission the operator needs: one row per verb and resource, with the code that
 * sends the request. The only list of them:
 *
 * - the Helm chart's RBAC rules are generated from it (`npm run gen:install` writes
 *   charts/nerops/templates/_rbac-rules.tpl, and from the chart manifests/nerops.yaml);
 * - operator/permissions.test.ts checks that the controllers' informers and the requests their
 *   reconciles send (recorded on a fake API) are all rows here, and that every row is used;
 * - the operator tests against the local cluster (testing/operator-fixture.ts) fail on any request the
 *   operator sent that no row allows;
 * - test/integration/cluster-rbac.test.ts asks the API server, with `kubectl auth can-i --as` the chart's
 *   ServiceAccount, for each row, in both scope modes and for manifests/nerops.yaml;
 * - docs/security.md's RBAC table is generated from it.
 *
 * Least privilege: a row exists only because some code needs it. Secrets: `get` by name only, asked for
 * as metadata (the credentials Secret's allowed origins; RBAC cannot narrow a verb to metadata, see
 * docs/security.md), never list or watch. No pods beyond reading a finished Job's result, no `get` where
 * the informer cache is read except to check, before a create, that no object of that name is someone
 * else's (the caches hold only labelled objects), no `update` where server-side apply (`patch`) is used.
 */
import type { Permission } from './runtime/permissions.js';

const NERMODEL = 'operator/controllers/nermodel/reconcile.ts';
const NERDEPLOYMENT = 'operator/controllers/nerdeployment/reconcile.ts';
const DRIFTPOLICY = 'operator/controllers/driftpolicy/reconcile.ts';
const NERMODEL_APPLY = 'operator/controllers/nermodel/apply.ts';
const NERDEPLOYMENT_GATHER = 'operator/controllers/nerdeployment/gather.ts';
const NERDEPLOYMENT_APPLY = 'operator/controllers/nerdeployment/apply.ts';
const DRIFTPOLICY_GATHER = 'operator/controllers/driftpolicy/gather.ts';
const DRIFTPOLICY_APPLY = 'operator/controllers/driftpolicy/apply.ts';
const DRIFTPOLICY_CLEANUP = 'operator/controllers/driftpolicy/cleanup-io.ts';
const NERMODEL_BUNDLE_RELEASE = 'operator/controllers/nermodel/bundle-release.ts';
const JOB_RESULT = 'operator/controllers/job-result.ts';
const CLIENT = 'operator/runtime/client.ts';
const LEADER = 'operator/runtime/leader.ts';
const OWNER_CHECK =
  'OwnerReferencesPermissionEnforcement admission: a child whose ownerReference sets blockOwnerDeletion';

export const OPERATOR_PERMISSIONS: readonly Permission[] = [
  // nerops.io: the three kinds the controllers reconcile.
  {
    verb: 'list',
    group: 'nerops.io',
    resource: 'nermodels',
    scope: 'workload',
    why: 'informer: NerModel controller (primary); NerDeployment and DriftPolicy controllers watch models',
    code: NERMODEL,
  },
  {
    verb: 'watch',
    group: 'nerops.io',
    resource: 'nermodels',
    scope: 'workload',
    why: 'informer: NerModel controller (primary); NerDeployment and DriftPolicy controllers watch models',
    code: NERMODEL,
  },
  {
    verb: 'create',
    group: 'nerops.io',
    resource: 'nermodels',
    scope: 'workload',
    why: 'DriftPolicy: the NerModel of a succeeded retraining Job, by server-side apply (create when absent, patch)',
    code: `${DRIFTPOLICY_APPLY}#createModels`,
  },
  {
    verb: 'patch',
    group: 'nerops.io',
    resource: 'nermodels',
    scope: 'workload',
    why: "DriftPolicy: the NerModel of a succeeded retraining Job, by server-side apply (create when absent, patch); the nerops.io/bundle-cleanup finalizer of a model retention deletes while its bundle is on the policy's pvc:// output, removed once its bundle is deleted; NerModel: the nerops.io/in-use finalizer added while a NerDeployment serves the model and removed when none does, and the bundle-cleanup finalizer of a model whose DriftPolicy is gone (merge patches with resourceVersion)",
    code: `${DRIFTPOLICY_APPLY}#createModels, ${DRIFTPOLICY_CLEANUP}#patchFinalizers, ${NERMODEL_APPLY}#patchFinalizers, ${NERMODEL_BUNDLE_RELEASE}#releaseOrphanedBundle`,
  },
  {
    verb: 'delete',
    group: 'nerops.io',
    resource: 'nermodels',
    scope: 'workload',
    why: "DriftPolicy retention (spec.retention.keepLast): older NerModels the policy's own runs created, by name and resourceVersion, never one served, pinned, validating or a run's base",
    code: `${DRIFTPOLICY_APPLY}#pruneModels, ${DRIFTPOLICY_CLEANUP}#deletePrunedModel`,
  },
  {
    verb: 'patch',
    group: 'nerops.io',
    resource: 'nermodels',
    subresource: 'status',
    scope: 'workload',
    why: 'NerModel status (server-side apply on /status)',
    code: `${CLIENT}#applyStatus`,
  },
  {
    verb: 'update',
    group: 'nerops.io',
    resource: 'nermodels',
    subresource: 'finalizers',
    scope: 'workload',
    why: 'validation Jobs are owned by their NerModel',
    code: 'operator/controllers/nermodel/desired.ts',
    checkedBy: OWNER_CHECK,
  },
  {
    verb: 'list',
    group: 'nerops.io',
    resource: 'nerdeployments',
    scope: 'workload',
    why: 'informer: NerDeployment controller (primary); DriftPolicy controller watches its target',
    code: NERDEPLOYMENT,
  },
  {
    verb: 'watch',
    group: 'nerops.io',
    resource: 'nerdeployments',
    scope: 'workload',
    why: 'informer: NerDeployment controller (primary); DriftPolicy controller watches its target',
    code: NERDEPLOYMENT,
  },
  {
    verb: 'patch',
    group: 'nerops.io',
    resource: 'nerdeployments',
    scope: 'workload',
    why: 'removes the one-shot nerops.io/rollout-action annotation once its effect is in status (merge patch), and the approval annotations once the approval is recorded (JSON patch, consumeApproval)',
    code: `${NERDEPLOYMENT_APPLY}#consumeAction`,
  },
  {
    verb: 'patch',
    group: 'nerops.io',
    resource: 'nerdeployments',
    subresource: 'status',
    scope: 'workload',
    why: 'NerDeployment status (server-side apply on /status)',
    code: `${CLIENT}#applyStatus`,
  },
  {
    verb: 'update',
    group: 'nerops.io',
    resource: 'nerdeployments',
    subresource: 'finalizers',
    scope: 'workload',
    why: 'serving Deployments, Services and PodDisruptionBudgets are owned by their NerDeployment',
    code: 'operator/controllers/nerdeployment/desired.ts',
    checkedBy: OWNER_CHECK,
  },
  {
    verb: 'list',
    group: 'nerops.io',
    resource: 'driftpolicies',
    scope: 'workload',
    why: 'informer: DriftPolicy controller (primary); NerModel controller watches policies (bundle cleanup of a policy that is gone)',
    code: `${DRIFTPOLICY}, ${NERMODEL}`,
  },
  {
    verb: 'watch',
    group: 'nerops.io',
    resource: 'driftpolicies',
    scope: 'workload',
    why: 'informer: DriftPolicy controller (primary); NerModel controller watches policies (bundle cleanup of a policy that is gone)',
    code: `${DRIFTPOLICY}, ${NERMODEL}`,
  },
  {
    verb: 'patch',
    group: 'nerops.io',
    resource: 'driftpolicies',
    subresource: 'status',
    scope: 'workload',
    why: 'DriftPolicy status (server-side apply on /status)',
    code: `${CLIENT}#applyStatus`,
  },
  {
    verb: 'update',
    group: 'nerops.io',
    resource: 'driftpolicies',
    subresource: 'finalizers',
    scope: 'workload',
    why: 'retraining Jobs are owned by their DriftPolicy',
    code: 'operator/controllers/driftpolicy/desired.ts',
    checkedBy: OWNER_CHECK,
  },

  {
    verb: 'get',
    group: 'nerops.io',
    resource: 'nermodels',
    scope: 'workload',
    why: 'DriftPolicy: ownership check before an apply the label-filtered cache cannot answer (an object of that name that is not ours is never written)',
    code: `${CLIENT}#checkOwnership`,
  },

  // What the NerDeployment controller runs: Deployments, Services, PodDisruptionBudgets, HTTPRoute weights.
  {
    verb: 'list',
    group: 'apps',
    resource: 'deployments',
    scope: 'workload',
    why: 'informer: NerDeployment controller owns its Deployments',
    code: NERDEPLOYMENT,
  },
  {
    verb: 'watch',
    group: 'apps',
    resource: 'deployments',
    scope: 'workload',
    why: 'informer: NerDeployment controller owns its Deployments',
    code: NERDEPLOYMENT,
  },
  {
    verb: 'create',
    group: 'apps',
    resource: 'deployments',
    scope: 'workload',
    why: 'stable and canary Deployments, by server-side apply (create when absent, patch)',
    code: `${NERDEPLOYMENT_APPLY}#applyChildren`,
  },
  {
    verb: 'patch',
    group: 'apps',
    resource: 'deployments',
    scope: 'workload',
    why: 'stable and canary Deployments, by server-side apply (create when absent, patch)',
    code: `${NERDEPLOYMENT_APPLY}#applyChildren`,
  },
  {
    verb: 'get',
    group: 'apps',
    resource: 'deployments',
    scope: 'workload',
    why: 'ownership check before an apply the label-filtered cache cannot answer (an object of that name that is not ours is never written)',
    code: `${CLIENT}#checkOwnership`,
  },
  {
    verb: 'delete',
    group: 'apps',
    resource: 'deployments',
    scope: 'workload',
    why: 'the canary Deployment is deleted once no rollout needs it (a promotion has rolled out on the stable track)',
    code: `${NERDEPLOYMENT_APPLY}#prune`,
  },
  {
    verb: 'list',
    group: '',
    resource: 'services',
    scope: 'workload',
    why: 'informer: NerDeployment controller owns its Services',
    code: NERDEPLOYMENT,
  },
  {
    verb: 'watch',
    group: '',
    resource: 'services',
    scope: 'workload',
    why: 'informer: NerDeployment controller owns its Services',
    code: NERDEPLOYMENT,
  },
  {
    verb: 'create',
    group: '',
    resource: 'services',
    scope: 'workload',
    why: 'client, stable and canary Services, by server-side apply (create when absent, patch)',
    code: `${NERDEPLOYMENT_APPLY}#applyChildren`,
  },
  {
    verb: 'patch',
    group: '',
    resource: 'services',
    scope: 'workload',
    why: 'client, stable and canary Services, by server-side apply (create when absent, patch)',
    code: `${NERDEPLOYMENT_APPLY}#applyChildren`,
  },
  {
    verb: 'get',
    group: '',
    resource: 'services',
    scope: 'workload',
    why: 'ownership check before an apply the label-filtered cache cannot answer (an object of that name that is not ours is never written)',
    code: `${CLIENT}#checkOwnership`,
  },
  {
    verb: 'delete',
    group: '',
    resource: 'services',
    scope: 'workload',
    why: 'the canary Service is deleted with the canary Deployment (replicaRatio routing; gatewayAPI keeps it for the HTTPRoute)',
    code: `${NERDEPLOYMENT_APPLY}#prune`,
  },
  {
    verb: 'list',
    group: 'policy',
    resource: 'poddisruptionbudgets',
    scope: 'workload',
    why: 'informer: NerDeployment controller owns its PodDisruptionBudget',
    code: NERDEPLOYMENT,
  },
  {
    verb: 'watch',
    group: 'policy',
    resource: 'poddisruptionbudgets',
    scope: 'workload',
    why: 'informer: NerDeployment controller owns its PodDisruptionBudget',
    code: NERDEPLOYMENT,
  },
  {
    verb: 'get',
    group: 'policy',
    resource: 'poddisruptionbudgets',
    scope: 'workload',
    why: 'ownership check before an apply the label-filtered cache cannot answer (an object of that name that is not ours is never written)',
    code: `${CLIENT}#checkOwnership`,
  },
  {
    verb: 'create',
    group: 'policy',
    resource: 'poddisruptionbudgets',
    scope: 'workload',
    why: 'one PodDisruptionBudget per NerDeployment, by server-side apply (create when absent, patch)',
    code: `${NERDEPLOYMENT_APPLY}#applyChildren`,
  },
  {
    verb: 'patch',
    group: 'policy',
    resource: 'poddisruptionbudgets',
    scope: 'workload',
    why: 'one PodDisruptionBudget per NerDeployment, by server-side apply (create when absent, patch)',
    code: `${NERDEPLOYMENT_APPLY}#applyChildren`,
  },
  {
    verb: 'get',
    group: 'gateway.networking.k8s.io',
    resource: 'httproutes',
    scope: 'workload',
    why: "gatewayAPI routing: reads the user's HTTPRoute (not cached: it is not ours)",
    code: `${NERDEPLOYMENT_GATHER}#readRoute`,
  },
  {
    verb: 'patch',
    group: 'gateway.networking.k8s.io',
    resource: 'httproutes',
    scope: 'workload',
    why: 'gatewayAPI routing: sets the stable/canary backendRef weights (merge patch with resourceVersion)',
    code: `${NERDEPLOYMENT_APPLY}#patchRoute`,
  },

  // Validation and retraining Jobs, and their results.
  {
    verb: 'list',
    group: 'batch',
    resource: 'jobs',
    scope: 'workload',
    why: 'informer: NerModel controller owns validation Jobs, DriftPolicy controller retraining and bundle cleanup Jobs',
    code: `${NERMODEL}, ${DRIFTPOLICY}`,
  },
  {
    verb: 'watch',
    group: 'batch',
    resource: 'jobs',
    scope: 'workload',
    why: 'informer: NerModel controller owns validation Jobs, DriftPolicy controller retraining and bundle cleanup Jobs',
    code: `${NERMODEL}, ${DRIFTPOLICY}`,
  },
  {
    verb: 'create',
    group: 'batch',
    resource: 'jobs',
    scope: 'workload',
    why: 'validation, retraining and bundle cleanup Jobs, by server-side apply (create when absent, patch)',
    code: `${NERMODEL_APPLY}, ${DRIFTPOLICY_APPLY}, ${DRIFTPOLICY_CLEANUP}#createCleanupJob`,
  },
  {
    verb: 'patch',
    group: 'batch',
    resource: 'jobs',
    scope: 'workload',
    why: 'validation, retraining and bundle cleanup Jobs, by server-side apply (create when absent, patch)',
    code: `${NERMODEL_APPLY}, ${DRIFTPOLICY_APPLY}, ${DRIFTPOLICY_CLEANUP}#createCleanupJob`,
  },
  {
    verb: 'get',
    group: 'batch',
    resource: 'jobs',
    scope: 'workload',
    why: 'ownership check before an apply the label-filtered cache cannot answer (an object of that name that is not ours is never written)',
    code: `${CLIENT}#checkOwnership`,
  },
  {
    verb: 'list',
    group: '',
    resource: 'pods',
    scope: 'workload',
    why: "a finished Job's pod carries its result in the termination message (listed by job-name)",
    code: `${JOB_RESULT}#readTerminatedContainer`,
  },
  {
    verb: 'get',
    group: '',
    resource: 'configmaps',
    scope: 'workload',
    why: "DriftPolicy: the dataset version in spec.triggers.datasetRef; notifications: the namespace's nerops-notifications receivers (both read by name)",
    code: `${DRIFTPOLICY_GATHER}#datasetVersionOf, operator/notifications/notifier.ts#config`,
  },

  {
    verb: 'get',
    group: '',
    resource: 'secrets',
    scope: 'workload',
    why: "NerModel: the nerops.io/allowed-origins annotation of the source's credentials Secret, read by name as PartialObjectMetadata (metadata only, never the data) before a validation Job is created; notifications: the receiver URL and token of the Secrets a nerops-notifications ConfigMap names (by name, never logged)",
    code: 'operator/controllers/nermodel/gather.ts#readCredentialsSecret, operator/notifications/notifier.ts#secret',
  },

  // The runtime.
  {
    verb: 'create',
    group: 'events.k8s.io',
    resource: 'events',
    scope: 'workload',
    why: 'Events on transitions, in the namespace of the object',
    code: `${CLIENT}#event`,
  },
  {
    verb: 'create',
    group: 'coordination.k8s.io',
    resource: 'leases',
    scope: 'leaderElection',
    why: 'leader election: the first candidate creates the Lease (create cannot be limited by name)',
    code: LEADER,
  },
  {
    verb: 'get',
    group: 'coordination.k8s.io',
    resource: 'leases',
    scope: 'leaderElection',
    byName: true,
    why: 'leader election: candidates read the Lease',
    code: LEADER,
  },
  {
    verb: 'update',
    group: 'coordination.k8s.io',
    resource: 'leases',
    scope: 'leaderElection',
    byName: true,
    why: 'leader election: acquire, renew and release the Lease',
    code: LEADER,
  },
];
