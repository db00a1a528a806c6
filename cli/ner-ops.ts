#!/usr/bin/env node
/**
 * `ner-ops`: the single entrypoint of the nerops image. Every role (operator, serve, fetch-model, train,
 * evaluate, validate, predict) is a subcommand, so tests, the demo and the cluster run the same code paths.
 * Subcommands are loaded lazily so `ner-ops serve` never pays for the operator's imports and vice versa.
 */
import { CliError, type Command } from './command.js';
import { SERVE_COMMAND } from '../contracts/serve.js';
import {
  DELETE_BUNDLES_COMMAND,
  FETCH_MODEL_COMMAND,
  RETRAIN_COMMAND,
  VALIDATE_COMMAND,
} from '../contracts/task-commands.js';
import { sanitizeMessage } from '../contracts/termination-message.js';
import { packageVersion } from './version.js';

const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  train: {
    summary: 'train a model bundle from CoNLL files',
    load: async () => (await import('./commands/train.js')).default,
  },
  evaluate: {
    summary: 'entity-level P/R/F1 of a bundle on a CoNLL file',
    load: async () => (await import('./commands/evaluate.js')).default,
  },
  predict: {
    summary: 'extract entities from text with a bundle',
    load: async () => (await import('./commands/predict.js')).default,
  },
  synth: {
    summary: 'generate synthetic clinical notes (CoNLL) for demos and tests',
    load: async () => (await import('./commands/synth.js')).default,
  },
  [SERVE_COMMAND]: {
    summary: 'run the inference server (HTTP API, metrics, shadow traffic)',
    load: async () => (await import('./commands/serve.js')).default,
  },
  [FETCH_MODEL_COMMAND]: {
    summary: 'download and verify a model bundle (init container)',
    load: async () => (await import('./commands/fetch-model.js')).default,
  },
  clusters: {
    summary: 'learn word clusters from unlabeled text',
    load: async () => (await import('./commands/clusters.js')).default,
  },
  [VALIDATE_COMMAND]: {
    summary: 'validate a model bundle for a NerModel (verify, load, smoke-test, evaluate)',
    load: async () => (await import('./commands/validate.js')).default,
  },
  operator: {
    summary: 'run the Kubernetes operator (controllers, leader election, /metrics)',
    load: async () => (await import('./commands/operator.js')).default,
  },
  [RETRAIN_COMMAND]: {
    summary: 'DriftPolicy retraining Job: train from the contract env, compare with the base model',
    load: async () => (await import('./commands/retrain.js')).default,
  },
  [DELETE_BUNDLES_COMMAND]: {
    summary: "DriftPolicy cleanup Job: delete the bundles of pruned NerModels on the policy's pvc:// output",
    load: async () => (await import('./commands/delete-bundles.js')).default,
  },
  package: {
    summary: 'make a token-classification (transformer) export a verifiable bundle',
    load: async () => (await import('./commands/package.js')).default,
  },
  assertions: {
    summary: 'score the assertion stage (negation, ConText rules) on annotated concept spans',
    load: async () => (await import('./commands/assertions.js')).default,
  },
  feedback: {
    summary: 'export the feedback store (verified documents) as a train/held-out dataset with a digest',
    load: async () => (await import('./commands/feedback.js')).default,
  },
  traffic: {
    summary: 'send synthetic notes to inference servers at a fixed rate and count the answers',
    load: async () => (await import('./commands/traffic.js')).default,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: ner-ops <command> [options]\n       ner-ops --version\n\ncommands:\n${lines.join('\n')}\n\nRun 'ner-ops <command> --help' for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    console.log(packageVersion());
    return 0;
  }
  const entry = commands[name];
  if (!entry) {
    console.error(`ner-ops: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const command = await entry.load();
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof CliError) {
      console.error(`ner-ops: ${err.message}`);
      process.exitCode = err.exitCode;
    } else {
      // The message, one line and bounded, then the frames: no cause chain or properties, which may hold
      // whatever the failing code was reading (docs/security.md, "PHI").
      const error = err instanceof Error ? err : new Error(String(err));
      const frames = (error.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l));
      console.error([`ner-ops: unexpected error: ${sanitizeMessage(error.message)}`, ...frames].join('\n'));
      process.exitCode = 1;
    }
  },
);
