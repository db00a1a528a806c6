/**
 * Pretrained word vectors (GloVe, word2vec or fastText text format) for the dense branch, beside the
 * vectors `ner-ops train` learns from the unlabeled text.
 *
 * Why: the corpora we train on are small, and the PPMI-SVD vectors in trainer/embeddings.ts see little
 * unlabeled text, so many held-out entity tokens have no learned vector at all, and rare words get poor
 * ones. Vectors trained on billions of tokens know that "tamoxifen" is like "cisplatin". Hospitals often
 * have their own vectors trained on their notes; this is how they bring them.
 *
 * Why hand-written: the format is one line per word, "word v1 … vd", with an optional "count dim" header
 * (word2vec). No maintained npm package streams it with a filter, and the files are large (GloVe 6B 100-d
 * is 300 MB for 400k words), so only the vectors of words the corpus actually contains are parsed.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { normalizeToken } from '../engine/features/normalize.js';
import type { WordEmbeddings } from './embeddings.js';
import { assertReadable } from './input-files.js';

/** A vectors file that cannot be used, with the file (and line) in the message: the user's input, not a bug. */
export class PretrainedVectorsError extends Error {
  override name = 'PretrainedVectorsError';
}

export interface PretrainedVectors extends WordEmbeddings {
  /** sha256 of the whole file, for the manifest's lineage. */
  sha256: string;
  /** Words (lines) in the file. */
  fileWords: number;
}

/** Fails early, before a trainer does any work, when the file cannot be read. */
export const assertVectorsReadable = (file: string) =>
  assertReadable(file, 'pretrained vectors', PretrainedVectorsError);

/**
 * Read the vectors of the words `wanted` accepts, keyed by the runtime's normalised word form
 * (engine/features/normalize.ts `normalizeToken`: lower case, digits as 0). When several words of the file share a
 * normalised form ("Cancer", "cancer"), the first wins: these files list words from most to least frequent.
 * Every kept row is scaled to unit length, like the learned vectors, so neither source dominates the MLP.
 * Errors name the file and line. A file none of whose words are wanted is refused: it is the wrong file.
 */
export async function readPretrainedVectors(
  file: string,
  wanted: (word: string) => boolean,
): Promise<PretrainedVectors> {
  const hash = createHash('sha256');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const words: string[] = [];
  const seen = new Set<string>();
  const rows: Float32Array[] = [];
  let dim = 0;
  let lineNo = 0;
  let fileWords = 0;
  let rest = '';

  const line = (text: string) => {
    lineNo++;
    const content = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (content.trim() === '') return;
    if (dim > 0) {
      // Fast path: most of a large file is words the text never uses, and splitting their hundred values
      // was most of the reading time. Such lines are counted, not parsed (nor checked).
      const space = content.indexOf(' ');
      const first = space > 0 ? normalizeToken(content.slice(0, space)) : '';
      if (space > 0 && (seen.has(first) || !wanted(first))) {
        fileWords++;
        return;
      }
    }
    const fields = content.trimEnd().split(' ');
    // word2vec's header: "<words> <dim>".
    if (lineNo === 1 && fields.length === 2 && /^\d+$/.test(fields[0] as string) && /^\d+$/.test(fields[1] as string)) {
      dim = Number(fields[1]);
      if (dim < 1) throw new PretrainedVectorsError(`${file}:1: the header says the vectors have ${dim} dimensions`);
      return;
    }
    if (dim === 0) {
      dim = fields.length - 1;
      if (dim < 1)
        throw new PretrainedVectorsError(`${file}:${lineNo}: expected "word v1 v2 …", found a line with no values`);
    }
    // A few GloVe words contain spaces ("at&t ."): the word is everything before the last `dim` fields.
    if (fields.length < dim + 1)
      throw new PretrainedVectorsError(
        `${file}:${lineNo}: ${fields.length - 1} values, expected ${dim} like the lines before`,
      );
    fileWords++;
    const word = fields.slice(0, fields.length - dim).join(' ');
    const key = normalizeToken(word);
    if (seen.has(key) || !wanted(key)) return;
    const row = unitRow(fields, dim, `${file}:${lineNo}`);
    if (!row) return; // an all-zero row says nothing; the word stays without a pretrained vector
    seen.add(key);
    words.push(key);
    rows.push(row);
  };

  await assertVectorsReadable(file);
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
      hash.update(chunk as Buffer);
      const text = rest + decoder.decode(chunk as Buffer, { stream: true });
      const lines = text.split('\n');
      rest = lines.pop() as string;
      for (const l of lines) line(l);
    }
    rest += decoder.decode();
    if (rest !== '') line(rest);
  } catch (err) {
    if (err instanceof TypeError && /decode|encoded/i.test(err.message))
      throw new PretrainedVectorsError(
        `${file}: not UTF-8 text (word vectors must be in the text format "word v1 v2 …")`,
      );
    throw err;
  }
  if (fileWords === 0)
    throw new PretrainedVectorsError(`${file}: no word vectors found (expected lines "word v1 v2 …")`);
  if (words.length === 0)
    throw new PretrainedVectorsError(
      `${file}: none of the text's words has a vector among its ${fileWords} (a different language, or vectors of subword pieces?)`,
    );
  const vectors = new Float32Array(words.length * dim);
  rows.forEach((r, i) => vectors.set(r, i * dim));
  return { words, dim, vectors, sha256: hash.digest('hex'), fileWords };
}

/** The last `dim` fields of a line as a vector scaled to unit length; undefined for an all-zero one. */
function unitRow(fields: readonly string[], dim: number, where: string): Float32Array | undefined {
  const row = new Float32Array(dim);
  let norm = 0;
  for (let k = 0; k < dim; k++) {
    const field = fields[fields.length - dim + k] as string;
    const v = Number(field);
    // Neither the word nor the field goes into the message: vectors trained on notes can hold patient names.
    if (field === '' || !Number.isFinite(v))
      throw new PretrainedVectorsError(`${where}: value ${k + 1} of the word's vector is not a number`);
    row[k] = v;
    norm += v * v;
  }
  if (norm === 0) return undefined;
  const scale = 1 / Math.sqrt(norm);
  for (let k = 0; k < dim; k++) row[k] = (row[k] as number) * scale;
  return row;
}

/**
 * One embedding table from the learned and the pretrained vectors: the union of their words (learned first,
 * in their order), each row the learned vector followed by the pretrained one, zeros where a source has no
 * vector for the word. Concatenating rather than choosing keeps what each knows: the learned vectors know
 * this domain's usage, the pretrained ones know words the unlabeled text never showed often enough.
 */
export function concatenateEmbeddings(learned: WordEmbeddings, pretrained: WordEmbeddings): WordEmbeddings {
  const words = [...learned.words];
  const rowOf = new Map(words.map((w, i) => [w, i]));
  for (const w of pretrained.words) {
    if (!rowOf.has(w)) {
      rowOf.set(w, words.length);
      words.push(w);
    }
  }
  const dim = learned.dim + pretrained.dim;
  const vectors = new Float32Array(words.length * dim);
  for (let i = 0; i < learned.words.length; i++)
    vectors.set(learned.vectors.subarray(i * learned.dim, (i + 1) * learned.dim), i * dim);
  pretrained.words.forEach((w, i) => {
    vectors.set(
      pretrained.vectors.subarray(i * pretrained.dim, (i + 1) * pretrained.dim),
      (rowOf.get(w) as number) * dim + learned.dim,
    );
  });
  return { words, dim, vectors };
}
