/**
 * The serving part of the NerDeployment plan: the children of both tracks (Deployments, Services, the
 * PodDisruptionBudget; the candidate's from the rollout part), the children to delete, and the status it
 * owns: replicas, the Ready, Progressing and Degraded conditions from the real Deployments.
 * When no model can be resolved, what runs keeps serving (never tear down a working service because a model
 * was deleted or a new one is not Ready), and the conditions say so.
 */
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import type { NerDeploymentStatus } from '../../api/nerdeployment.js';
import { NerDeploymentConditionType as C, NerDeploymentReason as R } from '../../api/nerdeployment-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import { setTo, type ConditionChange } from './condition-changes.js';
import { deploymentName, desiredDeployment, desiredPdb, desiredService, trackServiceName } from './desired.js';
import type { ModelResolution } from './model-resolution.js';
import type { DeploymentObserved } from './observed.js';
import { canaryCount, trackReady, type RolloutPart } from './plan-rollout.js';

/** A child to delete (it is no longer desired). */
export interface PruneRef {
  kind: 'Deployment' | 'Service';
  name: string;
}

export interface ServingPart {
  apply: KubernetesObject[];
  prune: PruneRef[];
  /** Replicas asked of the candidate track. */
  canaryDesired: number;
  /** Ready candidate pods. */
  canaryReady: number;
  replicas: NerDeploymentStatus['replicas'];
  conditions: ConditionChange[];
  /** Set while the candidate's pods still serve after a promotion: look again soon. */
  requeueAfterMs?: number;
}

function deploymentCondition(d: V1Deployment | undefined, type: string) {
  return d?.status?.conditions?.find((c) => c.type === type);
}

/** The candidate track's children, or what to do with the old ones. */
function candidateChildren(
  o: DeploymentObserved,
  model: NerModel,
  desired: number,
  rollout: RolloutPart,
  out: ServingPart,
): boolean {
  const { nd } = o;
  const image = nd.spec.image ?? o.image;
  const storage = o.storage ? { storage: o.storage } : {};
  const tracing = o.otlpTracesUrl ? { otlpTracesUrl: o.otlpTracesUrl } : {};
  const gateway = nd.spec.trafficRouting.type === 'gatewayAPI';
  // After a promotion the candidate's pods keep serving until the stable track runs the new model.
  const finishing =
    rollout.mode === 'Stable' &&
    !!o.canaryDeployment &&
    o.canaryDeployment.metadata?.labels?.['nerops.io/model'] === model.metadata.name &&
    !trackReady(o.deployment, model.metadata.name, desired);
  if (rollout.canaryModel && rollout.mode !== 'Stable') {
    out.canaryDesired = rollout.mode === 'Aborted' ? 0 : canaryCount(rollout.weights, desired);
    out.apply.push(
      desiredDeployment({
        nd,
        model: rollout.canaryModel,
        replicas: out.canaryDesired,
        image,
        track: 'canary',
        ...storage,
        ...tracing,
        ...tracing,
      }),
      desiredService(nd, { track: 'canary' }),
    );
  } else if (finishing) {
    out.canaryDesired = o.canaryDeployment?.spec?.replicas ?? 0;
  } else if (o.canaryDeployment) {
    out.prune.push(
      { kind: 'Deployment', name: deploymentName(nd, 'canary') },
      ...(gateway ? [] : [{ kind: 'Service' as const, name: trackServiceName(nd, 'canary') }]),
    );
  }
  return finishing;
}

/** The children of both tracks. The stable track stays fully scaled during a rollout (an abort is instant). */
function children(o: DeploymentObserved, model: NerModel, desired: number, rollout: RolloutPart, out: ServingPart) {
  const { nd } = o;
  const image = nd.spec.image ?? o.image;
  const storage = o.storage ? { storage: o.storage } : {};
  const tracing = o.otlpTracesUrl ? { otlpTracesUrl: o.otlpTracesUrl } : {};
  const gateway = nd.spec.trafficRouting.type === 'gatewayAPI';
  const shadowUrl = `http://${trackServiceName(nd, 'canary')}.${nd.metadata.namespace}.svc:${nd.spec.server.port}`;
  const shadow = rollout.mode === 'Shadow' && nd.spec.shadow;
  out.apply.push(
    desiredDeployment({
      nd,
      model,
      replicas: desired,
      image,
      ...storage,
      ...tracing,
      ...(shadow ? { shadow: { url: shadowUrl, percent: shadow.percent } } : {}),
    }),
    desiredService(nd, rollout.mode === 'Shadow' ? { onlyTrack: 'stable' } : {}),
    desiredPdb(nd),
  );
  if (gateway) out.apply.push(desiredService(nd, { track: 'stable' }));
  const finishing = candidateChildren(o, model, desired, rollout, out);
  const canaryService = trackServiceName(nd, 'canary');
  if (gateway && !out.apply.some((x) => x.kind === 'Service' && x.metadata?.name === canaryService))
    out.apply.push(desiredService(nd, { track: 'canary' }));
  if (finishing) out.requeueAfterMs = 2000;
}

/** Degraded: a stalled stable track, an aborted rollout, a refused router, or a model that cannot be resolved. */
function degraded(
  o: DeploymentObserved,
  model: NerModel,
  resolution: ModelResolution,
  rollout: RolloutPart,
): ConditionChange {
  const progressing = rollout.decision?.progressing;
  if (deploymentCondition(o.deployment, 'Progressing')?.status === 'False')
    return setTo(
      C.Degraded,
      'True',
      R.DeploymentUnavailable,
      deploymentCondition(o.deployment, 'Progressing')?.message ?? 'the Deployment stopped progressing',
    );
  if (rollout.mode === 'Aborted')
    return setTo(C.Degraded, 'True', R.RolloutAborted, progressing?.message ?? 'rollout aborted');
  if (progressing?.reason === R.UnsupportedRouting)
    return setTo(C.Degraded, 'True', R.UnsupportedRouting, progressing.message);
  if (!resolution.model && (!rollout.decision || resolution.reason !== R.ModelNotReady))
    return setTo(C.Degraded, 'True', resolution.reason, `${resolution.message}; still serving ${model.metadata.name}`);
  return setTo(C.Degraded, 'False', R.AsExpected, '');
}

/** Ready, Progressing and Degraded from the stable Deployment (and the rollout's Progressing, when it has one). */
function health(
  o: DeploymentObserved,
  model: NerModel,
  desired: number,
  resolution: ModelResolution,
  rollout: RolloutPart,
): ConditionChange[] {
  const dep = o.deployment;
  const ready = dep?.status?.readyReplicas ?? 0;
  const updated = dep?.status?.updatedReplicas ?? 0;
  const available = deploymentCondition(dep, 'Available')?.status === 'True' && ready > 0;
  const rolledOut =
    !!dep &&
    (dep.status?.observedGeneration ?? 0) >= (dep.metadata?.generation ?? 0) &&
    updated >= desired &&
    ready >= desired &&
    dep.metadata?.labels?.['nerops.io/model'] === model.metadata.name &&
    dep.spec?.replicas === desired;
  const progressing = rollout.decision?.progressing;
  const name = model.metadata.name;
  return [
    setTo(
      C.Ready,
      available ? 'True' : 'False',
      available ? R.DeploymentAvailable : R.DeploymentProgressing,
      `${ready}/${desired} replicas ready`,
    ),
    progressing && (progressing.status === 'True' || rolledOut)
      ? setTo(C.Progressing, progressing.status, progressing.reason, progressing.message)
      : rolledOut
        ? setTo(C.Progressing, 'False', R.DeploymentAvailable, `${name} rolled out`)
        : setTo(
            C.Progressing,
            'True',
            R.DeploymentProgressing,
            `rolling out ${name}: ${ready}/${desired} ready, ${updated} updated`,
          ),
    degraded(o, model, resolution, rollout),
  ];
}

/**
 * Plan serving. `model`: the model the stable track runs (undefined: none can be served yet);
 * `desired`: the stable track's replicas (autoscaling part).
 */
export function planServing(
  o: DeploymentObserved,
  model: NerModel | undefined,
  resolution: ModelResolution,
  desired: number,
  rollout: RolloutPart,
): ServingPart {
  const out: ServingPart = {
    apply: [],
    prune: [],
    canaryDesired: 0,
    canaryReady: 0,
    replicas: { desired: 0, ready: 0 },
    conditions: [],
  };
  if (model) {
    children(o, model, desired, rollout, out);
    out.conditions = health(o, model, desired, resolution, rollout);
  } else {
    out.conditions = [
      setTo(C.Ready, 'False', resolution.reason, resolution.message),
      setTo(C.Progressing, 'False', resolution.reason, resolution.message),
      setTo(
        C.Degraded,
        resolution.reason === R.ModelNotReady ? 'False' : 'True',
        resolution.reason,
        resolution.message,
      ),
    ];
  }
  const ready = o.deployment?.status?.readyReplicas ?? 0;
  const canaryDep = o.canaryDeployment;
  out.canaryReady = canaryDep ? (canaryDep.status?.readyReplicas ?? 0) : 0;
  out.replicas = {
    desired: model ? desired + out.canaryDesired : 0,
    ready: ready + out.canaryReady,
    stable: { desired: model ? desired : 0, ready },
    ...(canaryDep || out.canaryDesired ? { canary: { desired: out.canaryDesired, ready: out.canaryReady } } : {}),
  };
  return out;
}
