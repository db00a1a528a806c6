import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_FILE } from '../../contracts/bundle-manifest.js';
import { CliError, intFlag, numberFlag, parseCommandArgs, type Command } from '../command.js';
import { ConllError } from '../../engine/corpus/conll.js';
import { LexiconError } from '../../engine/features/lexicon.js';
import { PretrainedVectorsError } from '../../trainer/pretrained-vectors.js';
import {
  DEFAULT_C2,
  DEFAULT_DENSE,
  DEFAULT_EPOCHS,
  DEFAULT_MISSED_ENTITY_COST,
  DEFAULT_SHORT_FORM_CONTEXT,
} from '../../trainer/defaults.js';
import type { GridPins } from '../../trainer/selection/grid.js';
import { SELECTION_DEFAULTS, trainSelected, type SelectMode } from '../../trainer/selection/select.js';
import { ASSERTION_FLAGS_HELP, ASSERTION_FLAG_OPTIONS, assertionRulesFromFlags } from './assertions.js';

const HELP = `usage: ner-ops train --train FILE [--dev FILE] --out DIR [options]

Train a CRF model bundle from CoNLL files (token<TAB>BIO-label, blank line between sentences).
With --unlabeled, word embeddings are learned from that text (and the training text) and a small MLP
over each token's window of embeddings is trained jointly with the CRF ("wide & deep" emissions).
Never pass the text you evaluate on as --unlabeled.

By default (--select auto) the setup is chosen per corpus on ${SELECTION_DEFAULTS.folds} held-out folds of the training
set, never the dev file: linear CRF or wide & deep + a linear member (embeddings learned from the training
text, and from --unlabeled and --embeddings when given), recall cost 0 / 0.5 / 1, subword and abbreviation
features off or on, and 40 or 160 epochs for the linear CRF with them. The winner is trained on all of
train; the manifest records the choice and the fold scores ('ner-ops evaluate' shows them). Flags that
set a dimension of the grid (--epochs, --missed-entity-cost, --subword-features, --abbreviation-features,
--no-dense) fix it; the others apply to every candidate. --select off trains exactly the flags given.

  --train FILE         training data (required)
  --dev FILE           held-out data: dev F1 per epoch, metrics.json and the drift profile
  --out DIR            output bundle directory (required)
  --select auto|off    choose the setup on folds of train (default auto), or train the flags as given
  --select-budget S    estimated one-core CPU seconds for selection and training together (default
                       ${SELECTION_DEFAULTS.budgetFixedSeconds} + ${SELECTION_DEFAULTS.budgetSecondsPerToken * 1000} per 1000 training tokens)
  --seed N             random seed (default 1); same data + seed = same bundle digest
  --epochs N           SGD epochs (default ${DEFAULT_EPOCHS.linear} for the linear CRF, ${DEFAULT_EPOCHS.dense} with the MLP branch)
  --c2 X               L2 regularisation (default ${DEFAULT_C2})
  --missed-entity-cost X
                       softmax-margin cost of labelling an entity token O while training; raises
                       recall (default ${DEFAULT_MISSED_ENTITY_COST}; 0 = plain likelihood)
  --name NAME          model name (default: the output directory's name)
  --model-version V    model version (default 0.1.0)
  --clusters FILE      word clusters from 'ner-ops clusters'
  --unlabeled FILE     unlabeled text (CoNLL or one sentence per line) for the embeddings (repeatable)
  --embeddings FILE    pretrained word vectors in text format (GloVe, word2vec, fastText: "word v1 … vd"
                       per line), appended to the learned ones for the words of the training and
                       unlabeled text; turns the MLP branch on
  --lexicon FILE       an external lexicon, TYPE<TAB>phrase per line (a formulary, a problem list, a
                       MeSH export; '#' starts a comment); a match's type, position and
                       neighbouring words become features and the bundle ships the lexicon
                       (repeatable; feature version 6)
  --learn-clusters     also learn word clusters from the unlabeled text (sparse features)
  --no-dense           no MLP branch even with --unlabeled (a purely linear CRF)
  --hidden N           MLP hidden units per ensemble member (default ${DEFAULT_DENSE.hidden})
  --window N           tokens per MLP window, odd (default ${DEFAULT_DENSE.window})
  --dense-lr X         MLP learning rate (default ${DEFAULT_DENSE.lr})
  --dropout X          hidden-unit dropout while training (default ${DEFAULT_DENSE.dropout})
  --ensemble N         independently seeded models averaged into one graph (default ${DEFAULT_DENSE.ensemble})
  --linear-members N   linear CRFs averaged in beside the MLP model(s) (default ${DEFAULT_DENSE.linearMembers})
  --linear-epochs N    SGD epochs of those linear members (default ${DEFAULT_EPOCHS.linear})
  --bucket-bits N      log2 of the feature hash size (default 18)
  --subword-features   5/6-character affixes and character trigrams as features (feature version 3)
  --abbreviation-features
                       "long form ( SF )" definitions within a sentence as features (feature version 3)
  --short-form-context N
                       with --abbreviation-features: later uses of a defined short form carry what its
                       long form was tagged, with N preceding sentences of a CoNLL file as context
                       (default ${DEFAULT_SHORT_FORM_CONTEXT}; 'off': definitions only, feature version 3)
  --repair-bio         turn invalid I- tags into B- instead of failing
${ASSERTION_FLAGS_HELP}
  --force              replace the bundle already in --out (refused without it)
  --quiet              no progress output`;

/** `--short-form-context`: a number of sentences, or 'off'. */
function shortFormContextFlag(value: string | undefined): number | false | undefined {
  if (value === undefined) return undefined;
  if (value === 'off') return false;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0)
    throw new CliError(`train: --short-form-context must be a whole number of sentences ≥ 0 or 'off', got '${value}'`);
  return n;
}

/** The grid dimensions the user's flags fix, under --select auto. */
function gridPins(
  values: {
    'missed-entity-cost'?: string;
    'subword-features'?: boolean;
    'abbreviation-features'?: boolean;
    'no-dense'?: boolean;
  },
  epochs: number | undefined,
  missedEntityCost: number,
): GridPins {
  return {
    ...(epochs !== undefined ? { epochs } : {}),
    ...(values['missed-entity-cost'] !== undefined ? { missedEntityCost } : {}),
    ...(values['subword-features'] || values['abbreviation-features'] ? { rich: true } : {}),
    ...(values['no-dense'] ? { model: 'linear' as const } : {}),
  };
}

const train: Command = async (argv) => {
  const { values } = parseCommandArgs('train', argv, {
    train: { type: 'string' },
    dev: { type: 'string' },
    out: { type: 'string' },
    select: { type: 'string' },
    'select-budget': { type: 'string' },
    seed: { type: 'string' },
    epochs: { type: 'string' },
    c2: { type: 'string' },
    name: { type: 'string' },
    'model-version': { type: 'string' },
    clusters: { type: 'string' },
    unlabeled: { type: 'string', multiple: true },
    'learn-clusters': { type: 'boolean' },
    'no-dense': { type: 'boolean' },
    embeddings: { type: 'string' },
    lexicon: { type: 'string', multiple: true },
    hidden: { type: 'string' },
    window: { type: 'string' },
    'dense-lr': { type: 'string' },
    dropout: { type: 'string' },
    ensemble: { type: 'string' },
    'linear-members': { type: 'string' },
    'linear-epochs': { type: 'string' },
    'missed-entity-cost': { type: 'string' },
    'bucket-bits': { type: 'string' },
    'subword-features': { type: 'boolean' },
    'abbreviation-features': { type: 'boolean' },
    'short-form-context': { type: 'string' },
    'repair-bio': { type: 'boolean' },
    ...ASSERTION_FLAG_OPTIONS,
    force: { type: 'boolean' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.train) throw new CliError('train: --train FILE is required\n\n' + HELP);
  if (!values.out) throw new CliError('train: --out DIR is required\n\n' + HELP);
  // Checked before training, so a long run does not end by overwriting a bundle something may be serving.
  if (!values.force && existsSync(join(values.out, MANIFEST_FILE)))
    throw new CliError(`train: ${values.out} already holds a bundle; pass --force to replace it`);
  const missedEntityCost = numberFlag('missed-entity-cost', values['missed-entity-cost'], DEFAULT_MISSED_ENTITY_COST);
  if (missedEntityCost < 0)
    throw new CliError(`train: --missed-entity-cost must be ≥ 0, got '${values['missed-entity-cost']}'`);
  const shortFormContext = shortFormContextFlag(values['short-form-context']);
  if (shortFormContext !== undefined && !values['abbreviation-features'])
    throw new CliError('train: --short-form-context needs --abbreviation-features');
  if (values.embeddings !== undefined && values['no-dense'])
    throw new CliError('train: --embeddings feeds the MLP branch; it cannot be used with --no-dense');
  const select = values.select ?? 'auto';
  if (select !== 'auto' && select !== 'off')
    throw new CliError(`train: --select must be 'auto' or 'off', got '${values.select}'`);
  if (values['select-budget'] !== undefined && select === 'off')
    throw new CliError('train: --select-budget needs --select auto');
  const assertionRules = assertionRulesFromFlags('train', values);
  const log = values.quiet ? undefined : (line: string) => process.stderr.write(line + '\n');
  try {
    // Flags are checked in the order of the help text's options, so the first bad one is the one reported.
    const seed = intFlag('seed', values.seed, 1);
    const epochs = values.epochs !== undefined ? intFlag('epochs', values.epochs, 1, 1) : undefined;
    const c2 = numberFlag('c2', values.c2, DEFAULT_C2);
    const hidden = intFlag('hidden', values.hidden, DEFAULT_DENSE.hidden, 1);
    const window = intFlag('window', values.window, DEFAULT_DENSE.window, 1);
    const denseLr = numberFlag('dense-lr', values['dense-lr'], DEFAULT_DENSE.lr);
    const dropout = numberFlag('dropout', values.dropout, DEFAULT_DENSE.dropout);
    const ensemble = intFlag('ensemble', values.ensemble, DEFAULT_DENSE.ensemble, 1);
    const linearMembers = intFlag('linear-members', values['linear-members'], DEFAULT_DENSE.linearMembers, 0);
    const linearEpochs = intFlag('linear-epochs', values['linear-epochs'], DEFAULT_EPOCHS.linear, 1);
    const bucketBits =
      values['bucket-bits'] === undefined ? undefined : intFlag('bucket-bits', values['bucket-bits'], 18, 8);
    const budgetSeconds =
      values['select-budget'] === undefined ? undefined : numberFlag('select-budget', values['select-budget'], 0);
    if (budgetSeconds !== undefined && !(budgetSeconds > 0))
      throw new CliError(`train: --select-budget must be a number of seconds > 0, got '${values['select-budget']}'`);
    const result = await trainSelected(
      {
        corpus: {
          trainFile: values.train,
          devFile: values.dev,
          unlabeledFiles: values.unlabeled,
          repairBio: values['repair-bio'] ?? false,
        },
        features: {
          bucketBits,
          clustersFile: values.clusters,
          learnClusters: values['learn-clusters'] ?? false,
          ...(values.lexicon !== undefined ? { lexiconFiles: values.lexicon } : {}),
          subwords: values['subword-features'] ?? false,
          abbreviations: values['abbreviation-features'] ?? false,
          ...(shortFormContext !== undefined ? { shortFormContext } : {}),
          dense: {
            ...(values['no-dense'] ? { enabled: false } : {}),
            ...(values.embeddings !== undefined ? { pretrainedVectorsFile: values.embeddings } : {}),
            window,
          },
        },
        members: {
          seed,
          ...(epochs !== undefined ? { epochs } : {}),
          c2,
          missedEntityCost,
          ensemble,
          linearMembers,
          linearEpochs,
          mlp: { hidden, lr: denseLr, dropout },
        },
        export: { outDir: values.out, name: values.name, version: values['model-version'], assertionRules },
        log,
      },
      {
        mode: select as SelectMode,
        ...(budgetSeconds !== undefined ? { budgetSeconds } : {}),
        pins: gridPins(values, epochs, missedEntityCost),
      },
    );
    log?.(
      `training ${result.trainSeconds.toFixed(1)} s, total ${result.totalSeconds.toFixed(1)} s; held-out micro F1 ${result.metrics.micro.f1.toFixed(4)}`,
    );
    console.log(
      JSON.stringify({
        bundle: result.outDir,
        digest: result.digest,
        metrics: { micro: result.metrics.micro },
        ...(result.selection
          ? { selection: { chosen: result.selection.winner, foldF1: Math.round(result.selection.foldF1 * 1e4) / 1e4 } }
          : {}),
      }),
    );
    return 0;
  } catch (err) {
    if (err instanceof ConllError) throw new CliError(err.message, 1);
    if (err instanceof PretrainedVectorsError || err instanceof LexiconError)
      throw new CliError(`train: ${err.message}`, 1);
    throw err;
  }
};
export default train;
