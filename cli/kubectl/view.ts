/**
 * The fields of nerops objects `kubectl ner` reads, as the API server returns them. Narrow on purpose: the
 * plugin is a client like kubectl and tolerates any field being absent (an older operator, a fresh object);
 * the operator's own schemas (operator/api/) are the source of truth for what the fields mean.
 */
export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface Meta {
  name?: string;
  namespace?: string;
  generation?: number;
  creationTimestamp?: string | Date;
  annotations?: Record<string, string>;
}

export interface ApprovalRecord {
  approver: string;
  target: string;
  stepIndex?: number;
  time: string;
  comment?: string;
}

export interface HistoryEntry {
  model: string;
  previousModel?: string;
  outcome: string;
  endTime: string;
  stepsCompleted?: number;
  message?: string;
  approvals?: ApprovalRecord[];
}

export interface NerDeploymentView {
  metadata: Meta;
  spec?: { model?: string; modelSelector?: { family?: string }; rollout?: { steps?: { weight: number }[] } };
  status?: {
    observedGeneration?: number;
    phase?: string;
    stableModel?: string;
    canaryModel?: string;
    currentStepIndex?: number;
    weights?: { stable: number; canary: number };
    lastAnalysis?: { outcome?: string; message?: string; stepIndex?: number };
    rejectedModel?: string;
    abortReason?: string;
    approvals?: ApprovalRecord[];
    history?: HistoryEntry[];
    message?: string;
    conditions?: Condition[];
  };
}

export interface Lineage {
  parentModel?: string;
  driftPolicy?: string;
  runId?: string;
  trainingJob?: string;
}

export interface NerModelView {
  metadata: Meta;
  spec?: { family?: string; version?: string; source?: { digest?: string }; lineage?: Lineage };
  status?: { phase?: string; metrics?: { micro?: { f1?: number } }; lineage?: Lineage };
}

export interface DriftPolicyView {
  metadata: Meta;
  spec?: { targetRef?: { name?: string }; approval?: string };
  status?: {
    state?: string;
    lastEvaluation?: { signals?: { name?: string; value?: number; level?: string }[] };
    activeJob?: { name?: string; runId?: string; trigger?: string; awaitingApproval?: boolean };
    conditions?: Condition[];
  };
}
