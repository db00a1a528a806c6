import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { explainApiError, EXIT } from './errors.js';
import { deploymentRow, formatTable, kindOf, modelRow, policyRow } from './get.js';
import { parseTimeout, progressLine, verdictOf } from './status.js';
import { approvalPatch, deploymentTarget, policyTarget } from './approve.js';
import { historyTable, lineageLine } from './history.js';
import { age, renderTable } from './table.js';
import { runKubectlNer } from './index.js';
import { NER_DEPLOYMENT, NER_MODEL } from '../../contracts/api-group.js';
import { APPROVAL_ANNOTATIONS } from '../../contracts/user-actions.js';
import type { NerDeploymentView, NerModelView } from './view.js';

const NOW = new Date('2026-01-01T12:00:00Z');
const DIGEST = 'ab'.repeat(32);

const rolling: NerDeploymentView = {
  metadata: { name: 'notes', generation: 3, creationTimestamp: '2026-01-01T09:00:00Z' },
  spec: { rollout: { steps: [{ weight: 10 }, { weight: 50 }] } },
  status: {
    observedGeneration: 3,
    phase: 'Paused',
    stableModel: 'ner-v1',
    canaryModel: 'ner-v2',
    currentStepIndex: 1,
    weights: { stable: 50, canary: 50 },
    lastAnalysis: { outcome: 'Pass' },
    conditions: [{ type: 'AwaitingApproval', status: 'True', reason: 'ApprovalRequired' }],
  },
};

describe('kubectl ner get: tables', () => {
  it('a NerDeployment row: phase (approval), stable, canary, step, weights, analysis, age', () => {
    expect(deploymentRow(rolling, NOW)).toEqual([
      'notes',
      'Paused (approval)',
      'ner-v1',
      'ner-v2',
      '2/2',
      '50/50',
      'Pass',
      '3h',
    ]);
  });

  it('a healthy NerDeployment has dashes where no rollout runs; a rolled-back one names the candidate', () => {
    const healthy = { metadata: { name: 'a' }, status: { phase: 'Healthy', stableModel: 'v1' } };
    expect(deploymentRow(healthy, NOW)).toEqual(['a', 'Healthy', 'v1', '-', '-', '-', '-', '<unknown>']);
    const back = { metadata: { name: 'b' }, status: { phase: 'RolledBack', stableModel: 'v1', rejectedModel: 'v2' } };
    expect(deploymentRow(back, NOW)[3]).toBe('v2 (rolled back)');
  });

  it('model and policy rows: F1 to 3 places, the worst signal, a parked job', () => {
    const m: NerModelView = {
      metadata: { name: 'ner-v2', creationTimestamp: '2026-01-01T11:59:30Z' },
      spec: { version: '2.0.0' },
      status: { phase: 'Ready', metrics: { micro: { f1: 0.91234 } } },
    };
    expect(modelRow(m, NOW)).toEqual(['ner-v2', 'Ready', '2.0.0', '0.912', '30s']);
    const p = {
      metadata: { name: 'drift', creationTimestamp: '2025-12-25T12:00:00Z' },
      status: {
        state: 'Warning',
        lastEvaluation: {
          signals: [
            { name: 'labels', value: 0.01, level: 'Ok' },
            { name: 'confidence', value: 0.31, level: 'Warning' },
          ],
        },
        activeJob: { name: 'drift-r1', awaitingApproval: true },
      },
    };
    expect(policyRow(p, NOW)).toEqual([
      'drift',
      'Warning',
      '2 (worst confidence=0.310 Warning)',
      'drift-r1 (awaiting approval)',
      '7d',
    ]);
  });

  it('tables align columns and sort by name', () => {
    const t = formatTable(NER_DEPLOYMENT, [rolling, { metadata: { name: 'a' }, status: { phase: 'Healthy' } }], NOW);
    const lines = t.split('\n');
    expect(lines[0]).toMatch(/^NAME +PHASE +STABLE +CANARY +STEP +WEIGHTS +ANALYSIS +AGE$/);
    expect(lines[1]?.startsWith('a ')).toBe(true);
    expect(lines[2]?.indexOf('Paused')).toBe(lines[0]?.indexOf('PHASE'));
    expect(renderTable(['A', 'B'], [['x', '']])).toBe('A   B\nx');
  });

  it.each([
    [undefined, 'nerdeployments'],
    ['models', 'nermodels'],
    ['nm', 'nermodels'],
    ['policies', 'driftpolicies'],
    ['dp', 'driftpolicies'],
    ['deploy', 'nerdeployments'],
  ])('kind %s → %s', (word, plural) => {
    expect(kindOf(word)?.plural).toBe(plural);
  });

  it('ages like kubectl', () => {
    expect(age('2026-01-01T11:58:30Z', NOW)).toBe('90s');
    expect(age('2026-01-01T11:00:00Z', NOW)).toBe('60m');
    expect(age('2025-12-30T12:00:00Z', NOW)).toBe('2d');
  });
});

describe('kubectl ner status: the gate', () => {
  const healthy = (extra: Partial<NonNullable<NerDeploymentView['status']>> = {}): NerDeploymentView => ({
    metadata: { name: 'notes', generation: 2 },
    status: { observedGeneration: 2, phase: 'Healthy', stableModel: 'v2', ...extra },
  });

  it.each([
    ['Healthy without a rollout', healthy(), 'done'],
    ['Healthy but an older generation', healthy({ observedGeneration: 1 }), 'waiting'],
    ['a rollout running', healthy({ phase: 'Progressing', canaryModel: 'v3' }), 'waiting'],
    ['awaiting approval', rolling, 'waiting'],
    ['Degraded', healthy({ phase: 'Degraded' }), 'failed'],
    ['RolledBack', healthy({ phase: 'RolledBack' }), 'failed'],
  ] as const)('%s → %s', (_what, d, verdict) => {
    expect(verdictOf(d)).toBe(verdict);
  });

  it('prints phase, step and weights, and says when it waits for approval', () => {
    expect(progressLine(rolling)).toBe(
      'notes: Paused, stable ner-v1, canary ner-v2, step 2/2, weights 50/50, analysis Pass, awaiting approval (kubectl ner approve)',
    );
  });

  it.each([
    ['10m', 600_000],
    ['90s', 90_000],
    ['1h', 3_600_000],
    ['30', 30_000],
  ])('--timeout %s = %d ms', (text, ms) => {
    expect(parseTimeout(text)).toBe(ms);
  });

  it('refuses a malformed timeout', () => {
    expect(() => parseTimeout('soon')).toThrow(/--timeout must be a duration/);
  });
});

describe('kubectl ner approve: what is written', () => {
  const cand: NerModelView = { metadata: { name: 'ner-v2' }, spec: { source: { digest: DIGEST } } };

  it('binds the approval to the candidate, its digest and the current step (or --step)', () => {
    expect(deploymentTarget(rolling, cand)).toBe(`ner-v2@${DIGEST}/step-2`);
    expect(deploymentTarget(rolling, cand, 1)).toBe(`ner-v2@${DIGEST}/step-1`);
  });

  it('refuses when nothing runs, and for a candidate without digest', () => {
    expect(() => deploymentTarget({ metadata: { name: 'x' }, status: {} }, cand)).toThrow(/no rollout running/);
    expect(() => deploymentTarget(rolling, { metadata: { name: 'ner-v2' } })).toThrow(/no digest/);
  });

  it('a DriftPolicy: the parked run id', () => {
    const p = { metadata: { name: 'drift' }, status: { activeJob: { runId: 'r1', awaitingApproval: true } } };
    expect(policyTarget(p)).toBe('r1');
    expect(() => policyTarget({ metadata: { name: 'drift' }, status: {} })).toThrow(/no retraining waiting/);
  });

  it('writes the three annotations (no comment: removed), and bounds the comment', () => {
    expect(approvalPatch('t', 'alice', undefined)).toEqual({
      'nerops.io/approve': 't',
      'nerops.io/approved-by': 'alice',
      'nerops.io/approval-comment': null,
    });
    expect(approvalPatch('t', 'alice', 'ok').comment).toBeUndefined();
    expect(() => approvalPatch('t', 'alice', 'x'.repeat(257))).toThrow(/at most 256/);
  });

  it('the chart admission policy checks exactly these annotations', () => {
    const policy = readFileSync(
      join(import.meta.dirname, '../../charts/nerops/templates/approval-policy.yaml'),
      'utf8',
    );
    for (const key of APPROVAL_ANNOTATIONS) expect(policy).toContain(`'${key}'`);
    expect(policy).toContain('== request.userInfo.username');
  });
});

describe('kubectl ner history', () => {
  it('lists rollouts newest first with their approvers', () => {
    const d: NerDeploymentView = {
      metadata: { name: 'notes' },
      status: {
        history: [
          {
            model: 'v2',
            previousModel: 'v1',
            outcome: 'RolledBack',
            endTime: '2026-01-01T10:00:00Z',
            stepsCompleted: 1,
          },
          {
            model: 'v3',
            previousModel: 'v1',
            outcome: 'Promoted',
            endTime: '2026-01-01T11:00:00Z',
            stepsCompleted: 2,
            approvals: [{ approver: 'alice', target: 't', stepIndex: 1, time: '2026-01-01T10:59:00Z' }],
          },
        ],
      },
    };
    const lines = historyTable(d).split('\n');
    expect(lines[0]).toMatch(/^END +MODEL +PREVIOUS +OUTCOME +STEPS +APPROVED BY +MESSAGE$/);
    expect(lines[1]).toMatch(/v3 +v1 +Promoted +2 +alice@step2/);
    expect(lines[2]).toMatch(/v2 +v1 +RolledBack +1 +- +-/);
  });

  it('follows the lineage chain, marking deleted parents and stopping on a cycle', () => {
    const models = new Map<string, NerModelView>([
      [
        'v3',
        { metadata: { name: 'v3' }, status: { lineage: { parentModel: 'v2', driftPolicy: 'drift', runId: 'r9' } } },
      ],
      ['v2', { metadata: { name: 'v2' }, spec: { lineage: { parentModel: 'v1' } } }],
      ['a', { metadata: { name: 'a' }, spec: { lineage: { parentModel: 'a' } } }],
    ]);
    expect(lineageLine('v3', models)).toBe('v3 (retrained by driftpolicy drift, run r9) ← v2 ← v1 (deleted)');
    expect(lineageLine('a', models)).toBe('a');
  });
});

describe('kubectl ner: API errors', () => {
  it('a 403 from RBAC names the user, the verb, the resource, the namespace and the role', () => {
    const e = {
      statusCode: 403,
      status: {
        message:
          'nerdeployments.nerops.io "notes" is forbidden: User "bob" cannot patch resource "nerdeployments" in API group "nerops.io" in the namespace "team-a"',
      },
    };
    expect(explainApiError(e, { namespace: 'team-a' })).toEqual({
      message: 'you (user bob) cannot patch nerdeployments.nerops.io in namespace team-a: ask for the nerops-edit role',
      exitCode: EXIT.forbidden,
    });
    expect(explainApiError(e, { namespace: 'team-a', approving: true }).message).toMatch(/nerops-approver role$/);
    const list = {
      statusCode: 403,
      status: { message: 'User "eve" cannot list resource "nermodels" in API group "nerops.io" in the namespace "x"' },
    };
    expect(explainApiError(list, { namespace: 'x' }).message).toMatch(
      /cannot list nermodels.nerops.io in namespace x: ask for the nerops-view role/,
    );
  });

  it('a 403 from the approval policy passes its message on', () => {
    const e = {
      statusCode: 403,
      status: {
        message:
          "ValidatingAdmissionPolicy 'nerops-approvals' denied request: nerops.io/approved-by must be the requesting user",
      },
    };
    expect(explainApiError(e, { namespace: 'ns' })).toEqual({
      message: `refused by the API server: ${e.status.message}`,
      exitCode: EXIT.forbidden,
    });
  });

  it('a 404 says what was not found', () => {
    const e = { statusCode: 404, status: { details: { name: 'nope', kind: 'nerdeployments', group: 'nerops.io' } } };
    expect(explainApiError(e, { namespace: 'ns' })).toEqual({
      message: 'nerdeployments.nerops.io nope not found in namespace ns',
      exitCode: EXIT.notFound,
    });
  });
});

describe('kubectl ner: usage', () => {
  it('prints usage and exits 2 without a command, 0 with help', async () => {
    const out: string[] = [];
    expect(await runKubectlNer([], (l) => out.push(l))).toBe(2);
    expect(out[0]).toMatch(/^usage: kubectl ner/);
    expect(await runKubectlNer(['--help'], () => {})).toBe(0);
  });

  it('refuses a missing NAME and an unknown command before connecting', async () => {
    const never = () => {
      throw new Error('must not connect');
    };
    await expect(runKubectlNer(['status'], () => {}, never)).rejects.toThrow(/must not connect|NAME is required/);
    await expect(runKubectlNer(['approve', 'x', '--step', '0'], () => {}, never)).rejects.toThrow(/--step must be/);
  });

  it('the annotation kinds exist', () => {
    expect(NER_MODEL.plural).toBe('nermodels');
  });
});
