/**
 * The engine of a bundle named on the command line: a directory, a .tar/.tar.gz archive, a file:// or an
 * http(s):// URI — the sources `ner-ops serve --model` accepts, so a bundle that serves also predicts and
 * evaluates. An archive or a download is unpacked into a temporary directory removed on close.
 */
import { rm } from 'node:fs/promises';
import { BundleVerificationError } from '../engine/bundle/bundle.js';
import { loadEngine } from '../engine/bundle/load.js';
import { materializeBundle, ModelSourceError } from '../engine/bundle/model-source.js';
import type { NerEngine } from '../engine/types.js';
import { CliError } from './command.js';

export async function withEngine<T>(
  source: string,
  use: (engine: NerEngine, bundleDir: string) => Promise<T>,
): Promise<T> {
  let bundle;
  try {
    bundle = await materializeBundle(source);
  } catch (err) {
    if (err instanceof ModelSourceError || err instanceof BundleVerificationError) throw new CliError(err.message, 1);
    throw err;
  }
  try {
    let engine: NerEngine;
    try {
      engine = await loadEngine(bundle.dir);
    } catch (err) {
      if (err instanceof BundleVerificationError) throw new CliError(err.message, 1);
      throw err;
    }
    try {
      return await use(engine, bundle.dir);
    } finally {
      await engine.close();
    }
  } finally {
    if (bundle.workDir) await rm(bundle.workDir, { recursive: true, force: true });
  }
}
