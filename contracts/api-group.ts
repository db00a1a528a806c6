/**
 * API group, version and the names of every nerops kind: the single place that spells them.
 * The CRD generator (scripts/gen-crds.ts), the controllers and the `kubectl ner` plugin all import from here
 * (the operator through operator/api/group.ts).
 */

/** API group of every nerops custom resource. */
export const GROUP = 'nerops.io';
/** The only served (and storage) version. */
export const VERSION = 'v1alpha1';
/** `apiVersion` field value of every nerops object. */
export const API_VERSION = `${GROUP}/${VERSION}` as const;
/** Category shared by all kinds, so `kubectl get ner` lists them together. */
export const CATEGORY = 'ner';
/** Field manager used by the operator for server-side apply. */
export const FIELD_MANAGER = 'nerops';
/** Label/annotation key prefix (`nerops.io/...`). */
export const LABEL_PREFIX = `${GROUP}/`;

/** Names of one kind as the API server knows them. */
export interface KindNames {
  /** CamelCase kind, e.g. `NerModel`. */
  readonly kind: string;
  /** `kind` + `List`. */
  readonly listKind: string;
  /** Lower-case plural used in URLs, e.g. `nermodels`. */
  readonly plural: string;
  /** Lower-case singular, e.g. `nermodel`. */
  readonly singular: string;
  /** `kubectl` short names. */
  readonly shortNames: readonly string[];
  /** `kubectl` categories (always includes {@link CATEGORY}). */
  readonly categories: readonly string[];
}

function names(kind: string, plural: string, shortNames: readonly string[]): KindNames {
  return { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), shortNames, categories: [CATEGORY] };
}

/** NerModel: an immutable, digest-verified, evaluated model artifact. */
export const NER_MODEL = names('NerModel', 'nermodels', ['nm', 'nermodel']);
/** NerDeployment: serves a model, rolls out canaries, scales on request rate. */
export const NER_DEPLOYMENT = names('NerDeployment', 'nerdeployments', ['nerdep', 'nd']);
/** DriftPolicy: drift detection for a NerDeployment and retraining Jobs. */
export const DRIFT_POLICY = names('DriftPolicy', 'driftpolicies', ['dp', 'driftpol']);

/** Every kind, in the order the CRDs are generated. */
export const ALL_KINDS: readonly KindNames[] = [NER_MODEL, NER_DEPLOYMENT, DRIFT_POLICY];

/** Kind name literals. */
export type NeropsKind = 'NerModel' | 'NerDeployment' | 'DriftPolicy';

/** Well-known labels set on children the operator creates. */
export const LABELS = {
  /** Name of the owning NerDeployment. */
  deployment: `${GROUP}/deployment`,
  /** Name of the NerModel served by the pod. */
  model: `${GROUP}/model`,
  /** `stable` or `canary`. */
  track: `${GROUP}/track`,
  /** Name of the NerModel a validation Job validates. */
  validates: `${GROUP}/validates`,
  /** Name of the DriftPolicy that started a retraining Job / produced a model. */
  driftPolicy: `${GROUP}/drift-policy`,
  /** NerModel family (set on NerModels created by retraining, for selectors). */
  family: `${GROUP}/family`,
  /** `app.kubernetes.io/managed-by` value. */
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

/** Value of `app.kubernetes.io/managed-by` on operator-created objects. */
export const MANAGED_BY = 'nerops';

/** Serving track of a pod. */
export type Track = 'stable' | 'canary';
