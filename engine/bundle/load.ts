/**
 * The one way to load a model: verify the bundle, then hand it to the runtime for its format.
 */
import { bundleAssertionRules } from '../assertions/bundle.js';
import { verifyBundle, type VerifiedBundle } from './bundle.js';
import { OnnxFormatError, usesExternalData } from './onnx-external-data.js';
import { CrfEngine, type EngineOptions } from '../runtimes/crf-engine.js';
import { TokenClassificationEngine } from '../runtimes/token-classification.js';
import type { NerEngine } from '../types.js';

export interface LoadOptions extends EngineOptions {
  /** Refuse the bundle unless its digest (sha256 of ner-model.json) is exactly this. */
  expectedDigest?: string;
}

export async function loadEngine(dir: string, options: LoadOptions = {}): Promise<NerEngine> {
  return engineFor(await verifyBundle(dir, options.expectedDigest), options);
}

/** The runtime for an already verified bundle (for callers that also need its manifest). */
export async function engineFor(bundle: VerifiedBundle, options: EngineOptions = {}): Promise<NerEngine> {
  // verifyBundle refused external data in every model it could scan; one it could not is not loaded either.
  for (const [name, data] of bundle.files) {
    if (!name.endsWith('.onnx')) continue;
    try {
      if (usesExternalData(data)) throw new Error(`${name} refers to ONNX external data`);
    } catch (err) {
      if (err instanceof OnnxFormatError) throw new Error(`${name} is not a well-formed ONNX model (${err.message})`);
      throw err;
    }
  }
  // A bad rule file refuses the bundle before any ONNX Runtime session is made (the runtimes read it again, cached).
  bundleAssertionRules(bundle);
  switch (bundle.manifest.format) {
    case 'crf':
      return CrfEngine.create(bundle, options);
    case 'token-classification':
      return TokenClassificationEngine.create(bundle, options);
  }
}
