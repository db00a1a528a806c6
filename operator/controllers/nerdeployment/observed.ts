/** What gather.ts reads for one NerDeployment reconcile: the input of the plan and of its three planners. */
import type { V1Deployment } from '@kubernetes/client-node';
import type { NerDeployment } from '../../api/nerdeployment.js';
import type { NerModel } from '../../api/nermodel.js';
import type { ModelStorageDefaults } from '../model-storage.js';
import type { TenantPolicy } from '../pod-policy.js';
import type { AnalysisDecision } from './analysis.js';
import type { RateMeasurement, Recommendation } from './autoscale.js';
import type { HttpRoute } from './routing.js';

export interface DeploymentObserved {
  nd: NerDeployment;
  /** NerModels of the NerDeployment's namespace. */
  models: readonly NerModel[];
  /** The live stable Deployment (cache), if it exists. */
  deployment: V1Deployment | undefined;
  /** The live candidate Deployment (cache), if it exists. */
  canaryDeployment?: V1Deployment | undefined;
  /** The canary analysis taken in this reconcile (only when one was due). */
  analysis?: AnalysisDecision;
  /** The user's HTTPRoute (gatewayAPI routing), as read this reconcile. */
  route?: HttpRoute;
  /** Why the traffic router cannot honour the spec (e.g. the HTTPRoute is missing). */
  routingProblem?: string;
  now: Date;
  image: string;
  /** Which images spec.image may name (allowed registries); only the operator's own when unset. */
  tenant?: TenantPolicy;
  /** Operator defaults for http(s) model sources without their own credentials / CA refs. */
  storage?: ModelStorageDefaults;
  /** OTLP traces URL for the inference pods, when tracing is on. */
  otlpTracesUrl?: string;
  /** The request rate (only when spec.autoscaling is set). */
  measurement?: RateMeasurement;
  /** Autoscaler recommendations kept between reconciles. */
  history: readonly Recommendation[];
  metricsIntervalMs?: number;
}
