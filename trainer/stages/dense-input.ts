/**
 * The dense branch's input, part of the feature space: word embeddings learned from the training and
 * unlabeled text (with pretrained vectors appended when given), the embedding vocabulary the bundle
 * ships, and the window of embedding rows each token sees.
 */
import { normalizeToken } from '../../engine/features/normalize.js';
import { EmbeddingVocabulary, SPECIAL_COLUMNS, embeddingTable } from '../../engine/features/embedding-vocabulary.js';
import { DEFAULT_DENSE } from '../defaults.js';
import { DEFAULT_EMBEDDING_OPTIONS, learnEmbeddings, type WordEmbeddings } from '../embeddings.js';
import { concatenateEmbeddings, readPretrainedVectors, type PretrainedVectors } from '../pretrained-vectors.js';
import type { Corpus } from './corpus.js';

export interface DenseInputOptions {
  /** The dense branch on or off (default: on when there is unlabeled text or pretrained vectors). */
  enabled?: boolean;
  /** Dimension of the learned embeddings. */
  embeddingDim?: number;
  /** Tokens per window (odd). */
  window?: number;
  /**
   * Pretrained word vectors in text format (GloVe, word2vec, fastText: "word v1 … vd" per line): each
   * word's vector is appended to its learned one (trainer/pretrained-vectors.ts), for the words of the
   * training and unlabeled text. Turns the dense branch on.
   */
  pretrainedVectorsFile?: string;
}

export interface DenseInput {
  embeddings: WordEmbeddings;
  pretrained?: { file: string; vectors: PretrainedVectors };
  vocabulary: EmbeddingVocabulary;
  window: number;
  /** The embedding table, vocabulary.rows × cols. */
  table: Float32Array;
  cols: number;
  /** Wall-clock seconds spent learning (and reading) the embeddings. */
  seconds: number;
}

/** Whether the model has a dense branch. */
export function usesDenseBranch(options: DenseInputOptions, corpus: Pick<Corpus, 'unlabeled'>): boolean {
  return options.enabled ?? (corpus.unlabeled.length > 0 || options.pretrainedVectorsFile !== undefined);
}

export async function learnDenseInput(
  corpus: Pick<Corpus, 'train' | 'unlabeled'>,
  options: DenseInputOptions,
  log: (line: string) => void,
): Promise<DenseInput> {
  const t0 = performance.now();
  const c0 = process.cpuUsage().user;
  const text = [...corpus.train.map((s) => s.tokens), ...corpus.unlabeled];
  let embeddings = learnEmbeddings(text, { dim: options.embeddingDim ?? DEFAULT_EMBEDDING_OPTIONS.dim });
  log(`learned ${embeddings.dim}-d embeddings for ${embeddings.words.length} words from ${text.length} sentences`);
  let pretrained: DenseInput['pretrained'];
  if (options.pretrainedVectorsFile) {
    const file = options.pretrainedVectorsFile;
    const corpusWords = new Set(text.flatMap((s) => s.map(normalizeToken)));
    const vectors = await readPretrainedVectors(file, (w) => corpusWords.has(w));
    log(
      `${file}: ${vectors.dim}-d vectors for ${vectors.words.length} of the ${corpusWords.size} words of the text (${vectors.fileWords} in the file)`,
    );
    embeddings = concatenateEmbeddings(embeddings, vectors);
    pretrained = { file, vectors };
  }
  const seconds = (performance.now() - t0) / 1000;
  log(
    `${embeddings.dim}-d embeddings for ${embeddings.words.length} words in ${seconds.toFixed(1)} s (cpu ${((process.cpuUsage().user - c0) / 1e6).toFixed(1)} s)`,
  );
  const window = options.window ?? DEFAULT_DENSE.window;
  if (window < 1 || window % 2 === 0) throw new Error(`window must be odd and positive, got ${window}`);
  return {
    embeddings,
    ...(pretrained ? { pretrained } : {}),
    vocabulary: new EmbeddingVocabulary(embeddings.words),
    window,
    table: embeddingTable(embeddings.vectors, embeddings.words.length, embeddings.dim),
    cols: embeddings.dim + SPECIAL_COLUMNS,
    seconds,
  };
}
