import { describe, expect, it } from 'vitest';
import { podPhase, podStatus, type ContainerRunState, type PodRunState } from './pod-status.js';

const t0 = new Date('2025-01-01T00:00:00Z');
const t1 = new Date('2025-01-01T00:00:05Z');
const running: ContainerRunState['state'] = { kind: 'running', startedAt: t0 };
const exited = (exitCode: number): ContainerRunState['state'] => ({
  kind: 'terminated',
  startedAt: t0,
  finishedAt: t1,
  exitCode,
  reason: exitCode ? 'Error' : 'Completed',
});

function pod(restartPolicy: string, ...states: Array<ContainerRunState['state']>): PodRunState {
  return {
    podIp: '127.0.0.2',
    hostIp: '127.0.0.1',
    startTime: t0,
    restartPolicy,
    initContainers: [],
    containers: states.map((state, i) => ({ name: `c${i}`, image: 'nerops:dev', restartCount: 0, ready: true, state })),
  };
}

describe('podPhase', () => {
  it.each<[string, PodRunState, string]>([
    ['all running', pod('Never', running), 'Running'],
    ['one still running', pod('Never', running, exited(0)), 'Running'],
    ['all exited 0, Never', pod('Never', exited(0), exited(0)), 'Succeeded'],
    ['one failed, Never', pod('Never', exited(0), exited(1)), 'Failed'],
    ['failed, OnFailure restarts', pod('OnFailure', exited(1)), 'Running'],
    ['exited 0, OnFailure', pod('OnFailure', exited(0)), 'Succeeded'],
    ['exited, Always restarts', pod('Always', exited(0)), 'Running'],
    ['waiting', pod('Always', { kind: 'waiting', reason: 'ContainerCreating' }), 'Pending'],
  ])('%s', (_name, p, phase) => {
    expect(podPhase(p)).toBe(phase);
  });
});

describe('podStatus', () => {
  it('keeps lastTransitionTime until a condition flips', () => {
    const transitions = new Map<string, { ok: boolean; at: Date }>();
    const p = pod('Never', running);
    const first = podStatus(p, t0, transitions);
    expect(first.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', lastTransitionTime: t0 });
    p.containers[0]!.state = exited(2);
    const second = podStatus(p, t1, transitions);
    expect(second.phase).toBe('Failed');
    expect(second.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'PodCompleted',
      lastTransitionTime: t1,
    });
    expect(second.conditions?.find((c) => c.type === 'PodScheduled')?.lastTransitionTime).toBe(t0);
    expect(second.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(2);
    expect(second.podIP).toBe('127.0.0.2');
  });
});

describe('init containers', () => {
  const withInit = (
    restartPolicy: string,
    init: ContainerRunState['state'],
    main: ContainerRunState['state'],
  ): PodRunState => ({
    ...pod(restartPolicy, main),
    initContainers: [{ name: 'fetch', image: 'nerops:dev', restartCount: 0, ready: false, state: init }],
  });
  it.each<[string, PodRunState, string, string]>([
    ['init running', withInit('Always', running, { kind: 'waiting', reason: 'PodInitializing' }), 'Pending', 'False'],
    [
      'init failed, will retry',
      withInit('Always', exited(1), { kind: 'waiting', reason: 'PodInitializing' }),
      'Pending',
      'False',
    ],
    [
      'init failed, never restarts',
      withInit('Never', exited(1), { kind: 'waiting', reason: 'PodInitializing' }),
      'Failed',
      'False',
    ],
    ['init done, container running', withInit('Always', exited(0), running), 'Running', 'True'],
  ])('%s', (_name, p, phase, initializedStatus) => {
    expect(podPhase(p)).toBe(phase);
    const status = podStatus(p, t1, new Map());
    expect(status.conditions?.find((c) => c.type === 'Initialized')?.status).toBe(initializedStatus);
    expect(status.initContainerStatuses?.[0]?.name).toBe('fetch');
  });
});
