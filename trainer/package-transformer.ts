/**
 * Turn a Hugging Face-style token-classification export (model.onnx, tokenizer.json, config.json) into
 * a nerops bundle by writing the manifest that pins its files. The files themselves are not changed.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertionBundleParts } from '../engine/assertions/bundle.js';
import type { AssertionRules } from '../engine/assertions/types.js';
import { canonicalJson, sha256 } from '../engine/bundle/bundle.js';
import { OnnxFormatError, usesExternalData } from '../engine/bundle/onnx-external-data.js';
import { MANIFEST_FORMAT_VERSION, MANIFEST_FILE, type Manifest } from '../contracts/bundle-manifest.js';
import { writeFile } from 'node:fs/promises';

export async function packageTokenClassificationBundle(
  dir: string,
  options: { name: string; version: string; assertionRules?: AssertionRules | undefined },
): Promise<string> {
  const files: Record<string, string> = {};
  const assertions = options.assertionRules ? assertionBundleParts(options.assertionRules) : undefined;
  if (assertions)
    for (const [name, text] of Object.entries(assertions.files)) {
      await writeFile(join(dir, name), text);
      files[name] = sha256(text);
    }
  for (const name of ['model.onnx', 'tokenizer.json', 'config.json', 'profile.json', 'metrics.json']) {
    let data: Buffer;
    try {
      data = await readFile(join(dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && (name === 'profile.json' || name === 'metrics.json'))
        continue;
      throw new Error(
        `${join(dir, name)}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); a token-classification bundle needs model.onnx, tokenizer.json and config.json`,
      );
    }
    if (name === 'model.onnx') refuseExternalData(join(dir, name), data);
    files[name] = sha256(data);
  }
  let config: { id2label?: Record<string, string> };
  try {
    config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as typeof config;
  } catch {
    // Not V8's message: it quotes the text around the fault.
    throw new Error(`${join(dir, 'config.json')}: not valid JSON`);
  }
  if (!config.id2label || typeof config.id2label !== 'object')
    throw new Error(`${join(dir, 'config.json')}: no id2label mapping`);
  const entityTypes = [
    ...new Set(
      Object.values(config.id2label)
        .filter((l) => l !== 'O')
        .map((l) => l.replace(/^[BI]-/, '')),
    ),
  ].sort();
  const manifest: Manifest = {
    formatVersion: assertions?.formatVersion ?? MANIFEST_FORMAT_VERSION,
    format: 'token-classification',
    name: options.name,
    version: options.version,
    entityTypes,
    files,
    ...(assertions ? { assertions: assertions.assertions } : {}),
  };
  const text = canonicalJson(manifest);
  await writeFile(join(dir, MANIFEST_FILE), text);
  return sha256(text);
}

/** Verification refuses external data (docs/security.md, "Model fetch limits"): say so when packaging, with the fix. */
function refuseExternalData(path: string, data: Buffer): void {
  let external = false;
  try {
    external = usesExternalData(data);
  } catch (err) {
    if (!(err instanceof OnnxFormatError)) throw err;
  }
  if (external)
    throw new Error(
      `${path}: stores tensors as ONNX external data, which bundles refuse; re-export with every tensor inside model.onnx (onnx.save(model, path, save_as_external_data=False))`,
    );
}
