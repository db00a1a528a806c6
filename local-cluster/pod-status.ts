/**
 * Pure: the pod status a process node reports, from what it knows about the pod's processes.
 * The shape mirrors what a kubelet writes, so the Job, Deployment and EndpointSlice controllers
 * (and the operator) treat process-node pods like any other pod.
 */
import type { V1ContainerStatus, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';

/** What the process node knows about one container. */
export interface ContainerRunState {
  name: string;
  image: string;
  restartCount: number;
  /** `process://<pid>` of the current or last process. */
  containerId?: string;
  state:
    | { kind: 'waiting'; reason: string; message?: string }
    | { kind: 'running'; startedAt: Date }
    | { kind: 'terminated'; startedAt: Date; finishedAt: Date; exitCode: number; reason: string; message?: string };
  /** The previous run when the container has restarted (status.lastState). */
  lastTerminated?: Extract<ContainerRunState['state'], { kind: 'terminated' }>;
  /** Readiness probe result (true as soon as it runs when there is no readiness probe). */
  ready: boolean;
}

export interface PodRunState {
  podIp: string;
  hostIp: string;
  startTime: Date;
  /** `Never` / `OnFailure` / `Always`: decides whether a terminated container ends the pod. */
  restartPolicy: string;
  /** Run one after another, each to successful completion, before any container starts. */
  initContainers: ContainerRunState[];
  containers: ContainerRunState[];
}

/** Whether every init container has completed successfully (true when there are none). */
export function initialized(pod: PodRunState): boolean {
  return pod.initContainers.every((c) => c.state.kind === 'terminated' && c.state.exitCode === 0);
}

/** Pod phase from container states, following the kubelet's rules for the restart policy. */
export function podPhase(pod: PodRunState): 'Pending' | 'Running' | 'Succeeded' | 'Failed' {
  if (!initialized(pod)) {
    // A failed init container ends the pod only when it will not be retried.
    const failed = pod.initContainers.some((c) => c.state.kind === 'terminated' && c.state.exitCode !== 0);
    return failed && pod.restartPolicy === 'Never' ? 'Failed' : 'Pending';
  }
  const states = pod.containers.map((c) => c.state);
  if (states.some((s) => s.kind === 'waiting')) return states.some((s) => s.kind === 'running') ? 'Running' : 'Pending';
  const terminated = states.filter((s) => s.kind === 'terminated');
  if (terminated.length < states.length) return 'Running';
  // All containers terminated: terminal unless the restart policy will start them again.
  const allOk = terminated.every((s) => s.exitCode === 0);
  if (pod.restartPolicy === 'Always') return 'Running';
  if (pod.restartPolicy === 'OnFailure' && !allOk) return 'Running';
  return allOk ? 'Succeeded' : 'Failed';
}

function condition(type: string, ok: boolean, since: Date, reason?: string): V1PodCondition {
  return { type, status: ok ? 'True' : 'False', lastTransitionTime: since, ...(reason && !ok ? { reason } : {}) };
}

function containerStatus(c: ContainerRunState): V1ContainerStatus {
  const s = c.state;
  const state: V1ContainerStatus['state'] =
    s.kind === 'waiting'
      ? { waiting: { reason: s.reason, message: s.message } }
      : s.kind === 'running'
        ? { running: { startedAt: s.startedAt } }
        : {
            terminated: {
              exitCode: s.exitCode,
              reason: s.reason,
              message: s.message,
              startedAt: s.startedAt,
              finishedAt: s.finishedAt,
              containerID: c.containerId,
            },
          };
  const last = c.lastTerminated;
  return {
    name: c.name,
    image: c.image,
    imageID: c.image,
    containerID: c.containerId,
    ready: c.ready && s.kind === 'running',
    started: s.kind === 'running',
    restartCount: c.restartCount,
    state,
    lastState: last
      ? {
          terminated: {
            exitCode: last.exitCode,
            reason: last.reason,
            message: last.message,
            startedAt: last.startedAt,
            finishedAt: last.finishedAt,
          },
        }
      : {},
  };
}

/**
 * The full status to write. `transitions` keeps lastTransitionTime per condition type stable
 * across writes (it changes only when the condition flips), like the kubelet.
 */
export function podStatus(
  pod: PodRunState,
  now: Date,
  transitions: Map<string, { ok: boolean; at: Date }>,
): V1PodStatus {
  const phase = podPhase(pod);
  const containersReady = phase === 'Running' && pod.containers.every((c) => c.ready && c.state.kind === 'running');
  const reasonNotReady = phase === 'Succeeded' || phase === 'Failed' ? 'PodCompleted' : 'ContainersNotReady';
  const conds: Array<[string, boolean, string?]> = [
    ['PodReadyToStartContainers', true],
    ['Initialized', initialized(pod), 'ContainersNotInitialized'],
    ['ContainersReady', containersReady, reasonNotReady],
    ['Ready', containersReady, reasonNotReady],
    ['PodScheduled', true],
  ];
  const conditions = conds.map(([type, ok, reason]) => {
    const prev = transitions.get(type);
    const at = prev && prev.ok === ok ? prev.at : now;
    transitions.set(type, { ok, at });
    return condition(type, ok, at, reason);
  });
  return {
    phase,
    conditions,
    hostIP: pod.hostIp,
    hostIPs: [{ ip: pod.hostIp }],
    podIP: pod.podIp,
    podIPs: [{ ip: pod.podIp }],
    startTime: pod.startTime,
    ...(pod.initContainers.length > 0 ? { initContainerStatuses: pod.initContainers.map(containerStatus) } : {}),
    containerStatuses: pod.containers.map(containerStatus),
  };
}
