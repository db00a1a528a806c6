/**
 * Stage 1 of training, the corpus: the labeled CoNLL files read and checked, their labels put in the tag
 * scheme the CRF trains in, and the unlabeled text the embeddings and clusters learn from.
 */
import { readFile } from 'node:fs/promises';
import { bioToBioes, bioesLabelSet, bioesToBio } from '../../engine/decoding/bio.js';
import { DOCUMENT_START, labelSetOf, readConll, type LabeledSentence } from '../../engine/corpus/conll.js';
import { sha256 } from '../../engine/bundle/bundle.js';
import { DEFAULT_TAG_SCHEME } from '../defaults.js';

export type TagScheme = 'bio' | 'bioes';

export interface CorpusOptions {
  trainFile: string;
  devFile?: string;
  /**
   * Unlabeled CoNLL or one-sentence-per-line text files: word embeddings are learned from them (with the
   * training text) for the dense branch. Never pass the text of the data the model is evaluated on.
   */
  unlabeledFiles?: string[];
  repairBio?: boolean;
  /**
   * Tag scheme the CRF trains and decodes in: 'bioes' (default) marks single-token entities (S-) and
   * entity ends (E-) with their own labels; output is converted back to BIO spans either way.
   */
  tagScheme?: TagScheme;
}

/** The corpus a model is trained on, and where it came from. */
export interface Corpus {
  trainFile: string;
  trainSha256: string;
  devFile?: string;
  devSha256?: string;
  unlabeledFiles: string[];
  /** The training sentences as read, BIO-labeled. */
  trainBio: LabeledSentence[];
  /** The training sentences labeled in the tag scheme. */
  train: LabeledSentence[];
  /** The held-out sentences, BIO-labeled. */
  dev?: LabeledSentence[];
  tagScheme: TagScheme;
  /** The label set in the tag scheme: the CRF's labels. */
  labels: string[];
  /** Tokens of the training sentences. */
  tokens: number;
  /** Unlabeled sentences (tokens). */
  unlabeled: string[][];
}

/** BIO-labeled sentences relabeled in the tag scheme. */
export function inTagScheme(tagScheme: TagScheme, sentences: LabeledSentence[]): LabeledSentence[] {
  return tagScheme === 'bioes' ? sentences.map((s) => ({ ...s, labels: bioToBioes(s.labels) })) : sentences;
}

/** Tags in the corpus's tag scheme, back to BIO. */
export function toBio(corpus: Pick<Corpus, 'tagScheme'>, tags: string[][]): string[][] {
  return corpus.tagScheme === 'bioes' ? tags.map(bioesToBio) : tags;
}

export async function readCorpus(options: CorpusOptions): Promise<Corpus> {
  const repairBio = options.repairBio ?? false;
  const trainBio = await readConll(options.trainFile, { repairBio });
  const dev = options.devFile ? await readConll(options.devFile, { repairBio }) : undefined;
  const bioLabels = labelSetOf(trainBio);
  if (bioLabels.length < 3)
    throw new Error(`${options.trainFile}: no entities found (only O labels); nothing to learn`);
  if (dev) {
    const unknown = labelSetOf(dev).filter((l) => !bioLabels.includes(l));
    if (unknown.length > 0)
      throw new Error(
        `${options.devFile}: labels ${unknown.join(', ')} do not occur in the training file ${options.trainFile}`,
      );
  }

  const tagScheme = options.tagScheme ?? DEFAULT_TAG_SCHEME;
  const train = inTagScheme(tagScheme, trainBio);

  const devSha256 = options.devFile ? sha256(await readFile(options.devFile)) : undefined;
  const unlabeledFiles = options.unlabeledFiles ?? [];
  const unlabeled: string[][] = [];
  for (const f of unlabeledFiles) {
    // The held-out numbers would be meaningless if the embeddings had seen the held-out text.
    if (devSha256 && sha256(await readFile(f)) === devSha256)
      throw new Error(
        `${f}: the unlabeled text is the dev file ${options.devFile}; the held-out evaluation must not see it`,
      );
    unlabeled.push(...(await readUnlabeled(f)));
  }
  return {
    trainFile: options.trainFile,
    trainSha256: sha256(await readFile(options.trainFile)),
    ...(options.devFile ? { devFile: options.devFile } : {}),
    ...(devSha256 ? { devSha256 } : {}),
    unlabeledFiles,
    trainBio,
    train,
    ...(dev ? { dev } : {}),
    tagScheme,
    labels: tagScheme === 'bioes' ? bioesLabelSet(bioLabels) : bioLabels,
    tokens: train.reduce((n, s) => n + s.tokens.length, 0),
    unlabeled,
  };
}

/** Read unlabeled sentences: CoNLL (first column) when lines contain tabs, else one sentence per line. */
export async function readUnlabeled(file: string): Promise<string[][]> {
  const text = await readFile(file, 'utf8');
  if (text.includes('\t')) {
    const out: string[][] = [];
    let cur: string[] = [];
    for (const line of text.split(/\r?\n/)) {
      if (line.trim() === '') {
        if (cur.length) out.push(cur);
        cur = [];
        continue;
      }
      const token = line.split('\t')[0] as string;
      if (token !== DOCUMENT_START) cur.push(token);
    }
    if (cur.length) out.push(cur);
    return out;
  }
  return text
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '' && l.trim() !== DOCUMENT_START)
    .map((l) => l.trim().split(/\s+/));
}
