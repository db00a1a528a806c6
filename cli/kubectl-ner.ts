#!/usr/bin/env node
/**
 * `kubectl-ner`: the `kubectl ner` plugin (kubectl runs any `kubectl-<name>` on PATH as `kubectl <name>`).
 * The same package and image as `ner-ops`, under a second name; the command set is in cli/kubectl/.
 */
import { CliError } from './command.js';
import { runKubectlNer } from './kubectl/index.js';
import { sanitizeMessage } from '../contracts/termination-message.js';

runKubectlNer(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof CliError) {
      console.error(`kubectl ner: ${err.message}`);
      process.exitCode = err.exitCode;
    } else {
      const error = err instanceof Error ? err : new Error(String(err));
      console.error(`kubectl ner: ${sanitizeMessage(error.message)}`);
      process.exitCode = 1;
    }
  },
);
