/**
 * The fixed grid `ner-ops train --select auto` chooses from: linear or wide & deep + a linear member,
 * recall cost 0 / 0.5 / 1, subword and abbreviation features off or on, and, for the linear CRF with
 * them, 40 or 160 epochs (more epochs only mattered for the convex linear model with the larger feature
 * set, NCBI-disease 0.823 → 0.838; the dense branch keeps its own default). A flag the user gives pins
 * its dimension of the grid.
 */
import { DEFAULT_EPOCHS } from '../defaults.js';
import type { FeatureSpaceOptions } from '../stages/feature-space.js';
import type { MemberOptions } from '../stages/members.js';

export type ModelKind = 'linear' | 'wide-deep';

/** One point of the grid. */
export interface Candidate {
  model: ModelKind;
  missedEntityCost: number;
  /** Subword and abbreviation features (with short-form reuse). */
  rich: boolean;
  /** SGD epochs of the first member (the linear CRF, or the wide & deep member). */
  epochs: number;
}

/** Dimensions the user fixed with a flag; the grid only varies the others. */
export interface GridPins {
  model?: ModelKind;
  missedEntityCost?: number;
  rich?: boolean;
  epochs?: number;
}

export const GRID = {
  models: ['linear', 'wide-deep'] as const,
  missedEntityCosts: [0, 0.5, 1] as const,
  rich: [false, true] as const,
  linearEpochs: [DEFAULT_EPOCHS.linear, 4 * DEFAULT_EPOCHS.linear] as const,
};

export function candidateGrid(pins: GridPins = {}): Candidate[] {
  const out: Candidate[] = [];
  for (const model of pins.model ? [pins.model] : GRID.models)
    for (const rich of pins.rich !== undefined ? [pins.rich] : GRID.rich)
      for (const missedEntityCost of pins.missedEntityCost !== undefined
        ? [pins.missedEntityCost]
        : GRID.missedEntityCosts) {
        const epochs =
          pins.epochs !== undefined
            ? [pins.epochs]
            : model === 'linear' && rich
              ? [...GRID.linearEpochs]
              : model === 'linear'
                ? [DEFAULT_EPOCHS.linear]
                : [DEFAULT_EPOCHS.dense];
        for (const e of epochs) out.push({ model, missedEntityCost, rich, epochs: e });
      }
  return out;
}

/** A short stable name, for logs and the manifest. */
export function candidateLabel(c: Candidate): string {
  return `${c.model} cost=${c.missedEntityCost} ${c.rich ? 'subwords+abbreviations' : 'base-features'} epochs=${c.epochs}`;
}

/** Epochs a run trains at `epochScale` of `epochs` (at least two); the cost model counts the same. */
export function scaledEpochs(epochs: number, epochScale: number): number {
  return Math.max(2, Math.round(epochs * epochScale));
}

/**
 * The trainer options of a candidate, on top of the options every candidate shares (`base`: the user's
 * other flags, lexicon, unlabeled text and vectors). `epochScale` < 1 trains a cheaper, shorter run
 * (the first rung of the halving).
 */
export function candidateOptions(
  c: Candidate,
  base: { features?: FeatureSpaceOptions; members?: MemberOptions },
  epochScale = 1,
): { features: FeatureSpaceOptions; members: MemberOptions } {
  const scale = (e: number) => scaledEpochs(e, epochScale);
  const { shortFormContext, ...features } = base.features ?? {};
  const { pretrainedVectorsFile, ...dense } = features.dense ?? {};
  const members = base.members ?? {};
  const wideDeep = c.model === 'wide-deep';
  // A user who asked for one of the two feature groups (pinning the dimension) gets just that one.
  const userRich = features.subwords === true || features.abbreviations === true;
  return {
    features: {
      ...features,
      subwords: c.rich && (!userRich || features.subwords === true),
      abbreviations: c.rich && (!userRich || features.abbreviations === true),
      ...(c.rich && shortFormContext !== undefined && (!userRich || features.abbreviations === true)
        ? { shortFormContext }
        : {}),
      // Pretrained vectors feed only the dense branch; the linear candidates leave them out.
      dense: { ...dense, enabled: wideDeep, ...(wideDeep && pretrainedVectorsFile ? { pretrainedVectorsFile } : {}) },
    },
    members: {
      ...members,
      missedEntityCost: c.missedEntityCost,
      epochs: scale(c.epochs),
      ...(c.model === 'wide-deep' ? { linearEpochs: scale(members.linearEpochs ?? DEFAULT_EPOCHS.linear) } : {}),
    },
  };
}
