/**
 * The trainer's defaults, in one place: the CLI's help text, the retraining Job and the stages read them
 * from here. Each says why it is what it is; the held-out measurements behind them are in docs/engine.md.
 */

/**
 * SGD epochs. The linear CRF's objective is convex, and few epochs leave it far from its optimum: more
 * epochs raised held-out F1 and shrank the spread over seeds, at a few µs per token and epoch. The dense
 * branch (the wide & deep members) keeps fewer: more did not win consistently on held-out data, and
 * they double the MLP's time.
 */
export const DEFAULT_EPOCHS = { linear: 40, dense: 12 } as const;
/**
 * Gazetteer features by default: on whenever a linear CRF is trained (alone or as a member beside wide &
 * deep ones), off for wide & deep members alone, where they added nothing.
 */
export const DEFAULT_GAZETTEER = { linear: true, denseOnly: false, folds: 10 } as const;
/**
 * Softmax-margin recall cost (see SgdOptions.missedEntityCost): off by default, because whether it helps
 * depends on the corpus: it helps where the annotation misses mentions and the model under-tags, and
 * costs precision where it does not.
 */
export const DEFAULT_MISSED_ENTITY_COST = 0;
/**
 * Sentences of document context for short-form reuse: an abstract is about ten sentences, and a wider
 * window starts to reach into the next abstract.
 */
export const DEFAULT_SHORT_FORM_CONTEXT = 10;
export const DEFAULT_TAG_SCHEME: 'bio' | 'bioes' = 'bioes';
export const DEFAULT_C2 = 0.5;
/**
 * The dense branch. `linearMembers`: linear CRFs averaged in beside the wide & deep member(s); the
 * linear CRF's convex objective converges where the MLP's does not, and the two err differently.
 */
export const DEFAULT_DENSE = {
  hidden: 64,
  window: 5,
  lr: 0.02,
  lrDecay: 0.5,
  dropout: 0,
  ensemble: 1,
  linearMembers: 1,
  skipBelow: 1e-3,
} as const;
