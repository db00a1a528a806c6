import { describe, expect, it } from 'vitest';
import type { NerDeployment, NerDeploymentStatus, RolloutStep } from '../../api/nerdeployment.js';
import type { NerModel } from '../../api/nermodel.js';
import type { AnalysisDecision } from './analysis.js';
import { stepRollout, stepsHash, type RolloutInput } from './rollout.js';
import { planRollout } from './plan-rollout.js';
import { nerDeployment, nerModel, readyStatus } from '../../testing/builders.js';
import { readApproval, rolloutApprovalTarget } from '../../../contracts/user-actions.js';

const T0 = new Date('2025-01-01T00:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const iso = (s: number) =>
  at(s)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z');
const DIGEST = 'ab'.repeat(32);
const STEPS: RolloutStep[] = [
  { weight: 10, pauseSeconds: 60 },
  { weight: 50, pauseSeconds: 60, approval: { required: true } },
];
const HASH = stepsHash(STEPS);
const STEP2 = rolloutApprovalTarget('v2', DIGEST, 1);

function nd(status: NerDeploymentStatus = {}, annotations?: Record<string, string>): NerDeployment {
  return nerDeployment({
    spec: { replicas: { min: 2, max: 5 } },
    rollout: { steps: STEPS },
    status: { stableModel: 'v1', ...status },
    ...(annotations ? { metadata: { annotations } } : {}),
  });
}

function model(name: string, digest = DIGEST): NerModel {
  return nerModel({ name, spec: { version: '1' }, source: { uri: 'file:///m', digest }, status: readyStatus(0.9) });
}

const pass: AnalysisDecision = { outcome: 'Pass', result: { outcome: 'Pass', samples: 100, message: 'ok' } };
const fail: AnalysisDecision = { outcome: 'Fail', result: { outcome: 'Fail', samples: 100, message: 'errors' } };

function run(input: Partial<RolloutInput> & { nd: NerDeployment }) {
  return stepRollout({
    now: at(0),
    stable: model('v1', 'cd'.repeat(32)),
    target: model('v2'),
    canaryReady: true,
    ...input,
  });
}

/** Step 2 (index 1) of the rollout of v2, pause started at t=0, a passing analysis at t=61. */
const atStep2 = (extra: NerDeploymentStatus = {}): NerDeploymentStatus => ({
  canaryModel: 'v2',
  currentStepIndex: 1,
  stepsHash: HASH,
  weights: { stable: 50, canary: 50 },
  pauseStartTime: iso(0),
  failedAnalyses: 0,
  paused: false,
  lastAnalysis: { time: iso(61), stepIndex: 1, outcome: 'Pass' },
  ...extra,
});

const approval = (target: string, approver = 'alice', comment?: string) => ({
  target,
  approver,
  ...(comment ? { comment } : {}),
});

describe('stepRollout: approval gates', () => {
  it('a step needing approval holds after its pause and passing analysis: AwaitingApproval, Paused, one Event', () => {
    const d = run({ nd: nd(atStep2()), now: at(62) });
    expect(d.status).toMatchObject({ stableModel: 'v1', canaryModel: 'v2', currentStepIndex: 1, paused: false });
    expect(d).toMatchObject({
      mode: 'Canary',
      phase: 'Paused',
      awaitingApproval: { status: 'True', reason: 'ApprovalRequired' },
      paused: { status: 'True', reason: 'ApprovalRequired' },
      consumeApproval: false,
    });
    expect(d.awaitingApproval?.message).toContain(`step 2/2 of v2 (${DIGEST}) waits for approval`);
    expect(d.awaitingApproval?.message).toContain(`nerops.io/approve=${STEP2}`);
    expect(d.events.map((e) => e.reason)).toEqual(['ApprovalRequired']);
    // The next reconcile, still waiting: no second Event.
    const cond = {
      type: 'AwaitingApproval',
      status: 'True',
      reason: 'ApprovalRequired',
      message: d.awaitingApproval?.message,
    };
    const again = run({ nd: nd({ ...d.status, conditions: [cond as never] }), now: at(70) });
    expect(again.events).toEqual([]);
    expect(again.phase).toBe('Paused');
  });

  it('before its pause is over the step is not yet awaiting approval', () => {
    const d = run({ nd: nd(atStep2({ lastAnalysis: { time: iso(30), stepIndex: 1, outcome: 'Pass' } })), now: at(30) });
    expect(d.awaitingApproval).toBeUndefined();
    expect(d.phase).toBe('Progressing');
  });

  it('a step without approval completes as before; the steps hash ignores absent or false approvals', () => {
    const plain = [{ weight: 10, pauseSeconds: 60 }];
    expect(stepsHash([{ weight: 10, pauseSeconds: 60, approval: { required: false } }])).toBe(stepsHash(plain));
    expect(stepsHash([{ weight: 10, pauseSeconds: 60, approval: { required: true } }])).not.toBe(stepsHash(plain));
  });

  it('the approval for this candidate and step is recorded, the step completes, the candidate is promoted', () => {
    const d = run({ nd: nd(atStep2()), now: at(62), approval: approval(STEP2, 'alice', 'reviewed the canary') });
    expect(d.consumeApproval).toBe(true);
    expect(d.approvalEvents).toEqual([]);
    expect(d.status.stableModel).toBe('v2');
    expect(d.events.map((e) => e.reason)).toEqual(['Approved', 'StepCompleted', 'RolloutPromoted']);
    expect(d.events[0]?.note).toBe('step 2/2 of v2 approved by alice: reviewed the canary');
    expect(d.status.approvals).toBeUndefined(); // the rollout ended: approvals moved to its history entry
    expect(d.status.history?.at(-1)).toMatchObject({
      model: 'v2',
      outcome: 'Promoted',
      approvals: [{ approver: 'alice', target: STEP2, stepIndex: 1, time: iso(62), comment: 'reviewed the canary' }],
    });
    expect(d.awaitingApproval).toBeUndefined();
  });

  it('an approval given early (during the step) is recorded and used when the step is otherwise done', () => {
    const early = run({
      nd: nd(atStep2({ lastAnalysis: { time: iso(30), stepIndex: 1, outcome: 'Pass' } })),
      now: at(30),
      approval: approval(STEP2, 'bob'),
    });
    expect(early.status.approvals).toEqual([{ approver: 'bob', target: STEP2, stepIndex: 1, time: iso(30) }]);
    expect(early.status.stableModel).toBe('v1');
    // The annotations are gone; the recorded approval suffices once the pause is over.
    const later = run({ nd: nd(early.status), now: at(61), analysis: pass });
    expect(later.status.stableModel).toBe('v2');
    expect(later.status.history?.at(-1)?.approvals?.[0]?.approver).toBe('bob');
  });

  it.each([
    ['another candidate', rolloutApprovalTarget('v3', DIGEST, 1)],
    ['another digest of the same name (an old approval)', rolloutApprovalTarget('v2', 'ef'.repeat(32), 1)],
    ['a step that needs no approval', rolloutApprovalTarget('v2', DIGEST, 0)],
    ['a step that does not exist', rolloutApprovalTarget('v2', DIGEST, 5)],
  ])('an approval naming %s is ignored (removed, Warning) and the rollout keeps waiting', (_what, target) => {
    const d = run({ nd: nd(atStep2()), now: at(62), approval: approval(target) });
    expect(d.consumeApproval).toBe(true);
    expect(d.status.approvals).toBeUndefined();
    expect(d.status.stableModel).toBe('v1');
    expect(d.awaitingApproval?.status).toBe('True');
    expect(d.approvalEvents.map((e) => [e.type, e.reason])).toEqual([['Warning', 'ApprovalIgnored']]);
    expect(d.approvalEvents[0]?.note).toContain(`expected ${STEP2}`);
  });

  it('an approval of a step already passed is ignored', () => {
    const step1 = rolloutApprovalTarget('v2', DIGEST, 0);
    const steps = [{ weight: 10, pauseSeconds: 60, approval: { required: true } }, STEPS[1] as RolloutStep];
    const x = nerDeployment({
      rollout: { steps },
      status: { stableModel: 'v1', ...atStep2({ stepsHash: stepsHash(steps) }) },
    });
    const d = run({ nd: x, now: at(62), approval: approval(step1) });
    expect(d.approvalEvents.map((e) => e.reason)).toEqual(['ApprovalIgnored']);
    expect(d.status.approvals).toBeUndefined();
  });

  it('a failing candidate is rolled back while it waits for approval; the approval does not save it', () => {
    const d = run({ nd: nd(atStep2({ failedAnalyses: 1 })), now: at(91), analysis: fail });
    expect(d).toMatchObject({ phase: 'RolledBack', mode: 'Aborted' });
  });

  it('a restarted rollout (steps changed) forgets the approvals of the previous run', () => {
    const d = run({
      nd: nd(atStep2({ stepsHash: 'old', approvals: [{ approver: 'a', target: STEP2, stepIndex: 1, time: iso(1) }] })),
      now: at(62),
    });
    expect(d.status.currentStepIndex).toBe(0);
    expect(d.status.approvals).toBeUndefined();
  });
});

describe('stepRollout: retry', () => {
  const rolledBack: NerDeploymentStatus = {
    rejectedModel: 'v2',
    abortReason: 'errors',
    weights: { stable: 100, canary: 0 },
  };

  it('without retry the rolled-back candidate stays rolled back', () => {
    expect(run({ nd: nd(rolledBack), now: at(10) })).toMatchObject({ phase: 'RolledBack', mode: 'Aborted' });
  });

  it('retry starts the rollout of the rolled-back candidate again from its first step, and is consumed', () => {
    const d = run({ nd: nd(rolledBack), now: at(10), action: 'retry' });
    expect(d.status).toMatchObject({ canaryModel: 'v2', currentStepIndex: 0, weights: { stable: 90, canary: 10 } });
    expect(d.status.rejectedModel).toBeUndefined();
    expect(d.status.abortReason).toBeUndefined();
    expect(d.mode).toBe('Canary');
    expect(d.consumeAction).toBe(true);
    expect(d.events.map((e) => e.reason)).toEqual(['RolloutRetried', 'RolloutStarted']);
    expect(d.events[1]?.note).toMatch(/rollout retried by user/);
  });

  it('retry with nothing rolled back changes nothing and is consumed', () => {
    const d = run({ nd: nd(atStep2({ lastAnalysis: undefined })), now: at(10), action: 'retry' });
    expect(d.status.currentStepIndex).toBe(1);
    expect(d.consumeAction).toBe(true);
  });
});

describe('planRollout: approval annotations', () => {
  it('reads the annotations, sets AwaitingApproval and asks to remove them', () => {
    const x = nd(atStep2(), {
      'nerops.io/approve': rolloutApprovalTarget('v3', DIGEST, 1),
      'nerops.io/approved-by': 'alice',
    });
    const part = planRollout(
      {
        nd: x,
        now: at(62),
        models: [model('v1', 'cd'.repeat(32)), model('v2')],
        history: [],
        deployment: undefined,
        image: 'nerops:test',
      },
      2,
    );
    expect(part.clearApproval).toBe(true);
    expect(part.approvalEvents.map((e) => e.reason)).toEqual(['ApprovalIgnored']);
    expect(part.conditions).toContainEqual(expect.objectContaining({ type: 'AwaitingApproval' }));
  });

  it('an approval without an approver is no approval', () => {
    expect(readApproval({ 'nerops.io/approve': STEP2 })).toBeUndefined();
  });

  it('the approver and the comment are one bounded line', () => {
    const a = readApproval({
      'nerops.io/approve': STEP2,
      'nerops.io/approved-by': 'alice',
      'nerops.io/approval-comment': `ok\n\u001b[31mred\u202e ${'x'.repeat(400)}`,
    });
    expect([...(a?.comment ?? '')].some((ch) => ['\n', '\u001b', '\u202e'].includes(ch))).toBe(false);
    expect(a?.comment?.length).toBeLessThanOrEqual(256);
    expect(a?.comment?.startsWith('ok [31mred')).toBe(true);
  });
});
