/**
 * The one way to load a model: verify the bundle, then hand it to the runtime for its format.
 */
import { verifyBundle } from './bundle.js';
import { CrfEngine, type EngineOptions } from './crf-engine.js';
import { TokenClassificationEngine } from './token-classification.js';
import type { NerEngine } from './types.js';

export interface LoadOptions extends EngineOptions {
  /** Refuse the bundle unless its digest (sha256 of ner-model.json) is exactly this. */
  expectedDigest?: string;
}

export async function loadEngine(dir: string, options: LoadOptions = {}): Promise<NerEngine> {
  const bundle = await verifyBundle(dir, options.expectedDigest);
  switch (bundle.manifest.format) {
    case 'crf':
      return CrfEngine.create(bundle, options);
    case 'token-classification':
      return TokenClassificationEngine.create(bundle, options);
  }
}
