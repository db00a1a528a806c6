/**
 * Pod overrides shared by the NerDeployment serving pods (`spec.podTemplate`) and the NerModel validation Job
 * (`spec.validation.podTemplate`): placement, priority, registry credentials, extra metadata and environment.
 */
import { z } from 'zod';
import { LocalObjectReferenceSchema, ObjectNameSchema, preserveUnknown, withCel } from './shared-schemas.js';

const RESERVED_KEYS = 'podTemplate.metadata must not set nerops.io/ or app.kubernetes.io/ keys: the operator owns them';
const reservedKey = (k: string) => k.startsWith('nerops.io/') || k.startsWith('app.kubernetes.io/');

/** Extra pod labels or annotations; keys of the operator (selector, model, managed-by) are refused. */
const ExtraMetadataMapSchema = withCel(
  z
    .record(z.string().min(1).max(317), z.string().max(4096))
    .refine((m) => !Object.keys(m).some(reservedKey), { message: RESERVED_KEYS }),
  [
    {
      rule: "self.all(k, !k.startsWith('nerops.io/') && !k.startsWith('app.kubernetes.io/'))",
      message: RESERVED_KEYS,
    },
  ],
);

/** A core/v1 Toleration. */
export const TolerationSchema = z.object({
  /** Taint key the toleration applies to (empty with operator Exists: every taint). */
  key: z.string().max(317).optional(),
  /** `Equal` (default) or `Exists`. */
  operator: z.enum(['Exists', 'Equal']).optional(),
  /** Taint value to match with operator Equal. */
  value: z.string().max(63).optional(),
  /** Taint effect to match (empty: every effect). */
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  /** With effect NoExecute: how long the pod stays bound after the taint appears. */
  tolerationSeconds: z.int().optional(),
});

/** A ConfigMap or Secret of the namespace whose keys become environment variables. */
const EnvSourceRefSchema = LocalObjectReferenceSchema.extend({
  /** Start the pod even when the object does not exist. */
  optional: z.boolean().optional(),
});

/** A core/v1 EnvFromSource restricted to a ConfigMap or a Secret of the namespace. */
export const EnvFromSchema = withCel(
  z
    .object({
      /** Prefix added to every key. */
      prefix: z.string().max(253).optional(),
      /** ConfigMap whose keys become environment variables. */
      configMapRef: EnvSourceRefSchema.optional(),
      /** Secret whose keys become environment variables. */
      secretRef: EnvSourceRefSchema.optional(),
    })
    .refine((e) => (e.configMapRef === undefined) !== (e.secretRef === undefined), {
      message: 'exactly one of configMapRef and secretRef',
    }),
  [{ rule: 'has(self.configMapRef) != has(self.secretRef)', message: 'exactly one of configMapRef and secretRef' }],
);

/**
 * Pod overrides of the serving pods (both tracks) or of a validation Job: placement, scheduling priority, registry credentials,
 * extra labels/annotations and extra environment from ConfigMaps/Secrets. Security-relevant fields
 * (securityContext, volumes, host namespaces, the ServiceAccount, the image) are not overridable: the pods
 * stay Pod Security "restricted" whatever is set here.
 */
export const PodTemplateOverridesSchema = z.object({
  /** Extra pod labels and annotations (never nerops.io/ or app.kubernetes.io/ keys). */
  metadata: z
    .object({ labels: ExtraMetadataMapSchema.optional(), annotations: ExtraMetadataMapSchema.optional() })
    .optional(),
  /** core/v1 PodSpec nodeSelector. */
  nodeSelector: z.record(z.string().min(1).max(317), z.string().max(63)).optional(),
  /** core/v1 PodSpec tolerations (node pools with taints). */
  tolerations: z.array(TolerationSchema).max(32).optional(),
  /** core/v1 PodSpec affinity (node, pod and pod anti-affinity), passed through as written. */
  affinity: preserveUnknown(z.looseObject({})).optional(),
  /** core/v1 PodSpec topologySpreadConstraints, passed through as written. */
  topologySpreadConstraints: z
    .array(preserveUnknown(z.looseObject({})))
    .max(8)
    .optional(),
  /** core/v1 PodSpec priorityClassName. */
  priorityClassName: ObjectNameSchema.optional(),
  /** Pull Secrets of a private registry. */
  imagePullSecrets: z.array(LocalObjectReferenceSchema).max(8).optional(),
  /** Extra environment of the server container from ConfigMaps or Secrets (after the operator's own variables). */
  envFrom: z.array(EnvFromSchema).max(16).optional(),
});
export type PodTemplateOverrides = z.output<typeof PodTemplateOverridesSchema>;
