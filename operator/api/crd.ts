/**
 * What the CRD generator (scripts/gen-crds.ts) needs beyond the zod schemas: per kind, the names,
 * the spec/status schemas, a description and the printer columns. The CEL rules, list types and
 * other Kubernetes extensions live on the zod schemas themselves (see shared-schemas.ts `withCel`).
 */
import type { z } from 'zod';
import { DRIFT_POLICY, NER_DEPLOYMENT, NER_MODEL, type KindNames } from './group.js';
import { NerModelSpecSchema, NerModelStatusSchema } from './nermodel.js';
import { NerDeploymentSpecSchema, NerDeploymentStatusSchema } from './nerdeployment.js';
import { DriftPolicySpecSchema, DriftPolicyStatusSchema } from './driftpolicy.js';

/** One `additionalPrinterColumns` entry. */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  /** 0 = shown by default, 1 = only with `-o wide`. */
  priority?: number;
}

/** Everything needed to generate one CRD. */
export interface CrdDefinition {
  names: KindNames;
  /** Description of the kind (top of the OpenAPI schema). */
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  /** The module that declares the schemas (relative to the repository root), for JSDoc descriptions. */
  sourceFile: string;
  printerColumns: readonly PrinterColumn[];
  /** The `/scale` subresource's JSON paths, when the kind has one (HPA, KEDA, `kubectl scale`). */
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string };
}

const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/** The CRDs of nerops, in generation order. */
export const CRD_DEFINITIONS: readonly CrdDefinition[] = [
  {
    names: NER_MODEL,
    description:
      'NerModel is a versioned, immutable NER model artifact (ONNX bundle), verified by digest, validated and evaluated by a Job, with its drift baseline and lineage in status.',
    spec: NerModelSpecSchema,
    status: NerModelStatusSchema,
    sourceFile: 'operator/api/nermodel.ts',
    printerColumns: [
      { name: 'Family', type: 'string', jsonPath: '.spec.family' },
      { name: 'Version', type: 'string', jsonPath: '.spec.version' },
      { name: 'Format', type: 'string', jsonPath: '.spec.format', priority: 1 },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'F1', type: 'number', jsonPath: '.status.metrics.micro.f1', description: 'Micro entity F1' },
      age,
    ],
  },
  {
    names: NER_DEPLOYMENT,
    description:
      'NerDeployment serves a NerModel behind a Service, rolls new models out as canaries with automated analysis, and scales on the request rate measured in Prometheus.',
    spec: NerDeploymentSpecSchema,
    status: NerDeploymentStatusSchema,
    sourceFile: 'operator/api/nerdeployment.ts',
    // The stable track: spec.replicas.desired sets it (autoscaling.mode External) and status.scale counts it.
    scale: {
      specReplicasPath: '.spec.replicas.desired',
      statusReplicasPath: '.status.scale.replicas',
      labelSelectorPath: '.status.scale.selector',
    },
    printerColumns: [
      { name: 'Stable', type: 'string', jsonPath: '.status.stableModel' },
      { name: 'Canary', type: 'string', jsonPath: '.status.canaryModel' },
      {
        name: 'Weight',
        type: 'integer',
        jsonPath: '.status.weights.canary',
        description: 'Percent of traffic on the canary',
      },
      { name: 'Step', type: 'integer', jsonPath: '.status.currentStepIndex' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Ready', type: 'integer', jsonPath: '.status.replicas.ready' },
      {
        name: 'RPS',
        type: 'number',
        jsonPath: '.status.observedRequestRate',
        description: 'Observed requests per second',
      },
      age,
    ],
  },
  {
    names: DRIFT_POLICY,
    description:
      "DriftPolicy evaluates drift signals of a NerDeployment's traffic in Prometheus against the serving model's baseline and launches retraining Jobs whose results become new NerModels.",
    spec: DriftPolicySpecSchema,
    status: DriftPolicyStatusSchema,
    sourceFile: 'operator/api/driftpolicy.ts',
    printerColumns: [
      { name: 'Target', type: 'string', jsonPath: '.spec.targetRef.name' },
      { name: 'State', type: 'string', jsonPath: '.status.state' },
      { name: 'Job', type: 'string', jsonPath: '.status.activeJob.name' },
      { name: 'Evaluated', type: 'date', jsonPath: '.status.lastEvaluation.time' },
      age,
    ],
  },
];
