/** Condition types, reasons and event reasons of NerModel. */
import { CommonConditionType, CommonReason } from './conditions-constants.js';

/** NerModel condition types. */
export const NerModelConditionType = {
  ...CommonConditionType,
  /** The artifact was fetched, its digest verified, and it loaded and answered a smoke inference. */
  Validated: 'Validated',
  /** The evaluation on spec.evaluation.datasetUri met spec.evaluation.minMetrics. */
  Evaluated: 'Evaluated',
  /**
   * True while a deletion waits because NerDeployments serve the model (reason `InUse`, the message names
   * them); set only on a model being deleted.
   */
  DeletionBlocked: 'DeletionBlocked',
  /**
   * Warning: the model's bundle-cleanup finalizer was removed without deleting its bundle, because the
   * DriftPolicy that would delete it is gone (the bundle stays on the claim).
   */
  BundleLeft: 'BundleLeft',
} as const;
export type NerModelConditionType = (typeof NerModelConditionType)[keyof typeof NerModelConditionType];

/** Reasons of NerModel conditions. */
export const NerModelReason = {
  ...CommonReason,
  /** Waiting for the validation Job to be created. */
  ValidationPending: 'ValidationPending',
  /** The validation Job is running. */
  ValidationRunning: 'ValidationRunning',
  /** Validation (and evaluation, if requested) succeeded: the model is Ready. */
  ValidationSucceeded: 'ValidationSucceeded',
  /** The fetched bundle does not hash to spec.source.digest (Rejected). */
  DigestMismatch: 'DigestMismatch',
  /** The bundle is not a loadable model: corrupt ONNX, bad manifest, smoke inference failed (Rejected). */
  InvalidArtifact: 'InvalidArtifact',
  /** The bundle's entity types differ from spec.entityTypes (Rejected). */
  EntityTypesMismatch: 'EntityTypesMismatch',
  /** Evaluation metrics are below spec.evaluation.minMetrics (Rejected). */
  BelowMinMetrics: 'BelowMinMetrics',
  /** The source URI could not be fetched: unreachable, 404, auth (Failed). */
  FetchFailed: 'FetchFailed',
  /** The evaluation dataset could not be read (Failed). */
  DatasetUnavailable: 'DatasetUnavailable',
  /** The validation Job failed without a usable result (Failed). */
  ValidationJobFailed: 'ValidationJobFailed',
  /** The Job's termination message could not be parsed (Failed). */
  InvalidValidationResult: 'InvalidValidationResult',
  /**
   * The credentials Secret does not allow its token to go to the source's origin (its
   * `nerops.io/allowed-origins` annotation), or does not exist: no Job is created (Pending).
   */
  CredentialsOriginRefused: 'CredentialsOriginRefused',
  /** A token would go over plain http:// without spec.source.allowInsecureHttp: no Job is created (Pending). */
  InsecureCredentials: 'InsecureCredentials',
  /** DeletionBlocked: a NerDeployment serves the model (stable or canary); the deletion waits for it to stop. */
  InUse: 'InUse',
} as const;
export type NerModelReason = (typeof NerModelReason)[keyof typeof NerModelReason];

/** Reasons of Events recorded for NerModels (on transitions only). */
export const NerModelEventReason = {
  /** Normal: a validation Job was created. */
  ValidationStarted: 'ValidationStarted',
  /** Normal: the model became Ready. */
  ModelReady: 'ModelReady',
  /** Warning: the model was Rejected. */
  ModelRejected: 'ModelRejected',
  /** Warning: validation could not run to completion. */
  ValidationFailed: 'ValidationFailed',
  /** Warning: the model is being deleted but NerDeployments still serve it (the note names them). */
  DeletionBlocked: 'DeletionBlocked',
  /**
   * Warning: the model's bundle-cleanup finalizer was removed without deleting its bundle, because the
   * DriftPolicy that would delete it is gone (the bundle stays on the claim).
   */
  BundleLeft: 'BundleLeft',
} as const;
export type NerModelEventReason = (typeof NerModelEventReason)[keyof typeof NerModelEventReason];

/**
 * Annotation on a credentials Secret: the origins (`https://host[:port]`, comma or space separated) its
 * token may be sent to. Read by the operator only (metadata, never the data); without it the token goes
 * nowhere.
 */
export const ALLOWED_ORIGINS_ANNOTATION = 'nerops.io/allowed-origins';

/**
 * Finalizer on a NerModel while a NerDeployment serves it (stable or canary track): the NerModel controller
 * adds it when a NerDeployment starts serving the model and removes it when none does, so a deletion waits
 * until nothing serves the model (docs/operations.md, "Deletion protection").
 */
export const IN_USE_FINALIZER = 'nerops.io/in-use';

/**
 * Finalizer on a NerModel that DriftPolicy retention deletes while its bundle is on the policy's own pvc://
 * output: added just before the deletion, removed by the DriftPolicy controller once a `ner-ops
 * delete-bundles` Job deleted the bundle (or found it must stay), so the model object lasts as long as its
 * bundle and nothing is orphaned (docs/operator.md, "Retention").
 */
export const BUNDLE_CLEANUP_FINALIZER = 'nerops.io/bundle-cleanup';

/** Exit/termination-message contract of the `ner-ops validate` Job. */
export const VALIDATION_CONTAINER_NAME = 'validate';
