/**
 * Runtime for `crf` bundles: tokenize → hashed features → ONNX Runtime emission scores → Viterbi per
 * document → exact span marginals as entity confidence.
 *
 * Work per call is bounded: a batch is processed in groups of documents of at most `maxTokensPerRun`
 * tokens (a longer document is a group of its own), and no ONNX Runtime run sees more than that many
 * tokens. Emission scores are per token, so the groups and runs change no result; the memory a batch
 * holds is one group's tokens and scores plus the results, not the whole batch's, and the event loop gets
 * a turn between groups and runs (see yield.ts).
 */
import { bundleAssertionRules } from '../assertions/bundle.js';
import type { AssertionRules } from '../assertions/types.js';
import * as ort from 'onnxruntime-node';
import { bioesToBio, isBioesLabelSet, spansFromBio } from '../decoding/bio.js';
import { WordClusters } from '../features/clusters.js';
import {
  constrainedTransitions,
  forwardBackward,
  spanMarginal,
  spanMarginalBioes,
  viterbi,
  type Transitions,
} from '../decoding/crf.js';
import {
  EXTENDED_FEATURE_VERSION,
  LEXICON_FEATURE_VERSION,
  SHORT_FORM_REUSE_FEATURE_VERSION,
  SUPPORTED_FEATURE_VERSIONS,
  featurizeSentence,
  slotsPerToken,
  type FeatureConfig,
  type FeatureLookups,
} from '../features/features.js';
import { normalizeToken } from '../features/normalize.js';
import { EmbeddingVocabulary } from '../features/embedding-vocabulary.js';
import { GAZETTEER_FILE, Gazetteer } from '../features/gazetteer.js';
import { LEXICON_FILE, Lexicon } from '../features/lexicon.js';
import { BundleVerificationError, type VerifiedBundle } from '../bundle/bundle.js';
import { type CrfManifestSection } from '../../contracts/bundle-manifest.js';
import { tokenize, type Token } from '../features/tokenize.js';
import type { BaselineProfile, Entity, ExtractResult, ModelInfo, NerEngine, TagTokensOptions } from '../types.js';
import { shortFormReuses, type ShortFormMeaning } from '../features/abbreviations.js';
import { parseProfile } from '../bundle/profile.js';
import { WorkYielder } from './yield.js';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { SpanAttr, SpanName } from '../../contracts/tracing.js';
import { childSpan } from '../tracing.js';

/**
 * Length of the longest sequence, at least 1 (a Viterbi path buffer). A loop, not Math.max(...lengths):
 * spreading one argument per sentence overflows the call stack on a file of a few hundred thousand.
 */
function longest(sequences: readonly { length: number }[]): number {
  let max = 1;
  for (const s of sequences) if (s.length > max) max = s.length;
  return max;
}

export interface EngineOptions {
  /** ONNX Runtime intra-op threads (default 1: the server scales by processes/pods, not threads). */
  threads?: number;
  /**
   * Most tokens per ONNX Runtime run and per group of documents processed together (default
   * {@link DEFAULT_MAX_TOKENS_PER_RUN}). Bounds the run's intermediate tensors, which grow with tokens ×
   * feature slots × labels, and how long the event loop is held between turns.
   */
  maxTokensPerRun?: number;
}

export const DEFAULT_MAX_TOKENS_PER_RUN = 4096;

export async function createSession(model: Uint8Array, threads = 1): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}

/** The feature layout a bundle's manifest describes (absent groups of older manifests are off). */
function featureConfigOf(crf: CrfManifestSection): FeatureConfig {
  const f = crf.features;
  return {
    featureVersion: f.featureVersion,
    bucketBits: f.bucketBits,
    clusters: f.clusters,
    gazetteer: f.gazetteer ?? false,
    subwords: f.subwords ?? false,
    abbreviations: f.abbreviations ?? false,
    ...(f.shortFormContext !== undefined ? { shortFormContext: f.shortFormContext } : {}),
    lexicon: f.lexicon ?? false,
  };
}

export class CrfEngine implements NerEngine {
  readonly info: ModelInfo;
  readonly profile: BaselineProfile | undefined;
  readonly assertionRules: AssertionRules | undefined;
  readonly #session: ort.InferenceSession;
  readonly #labels: readonly string[];
  readonly #config: FeatureConfig;
  readonly #slots: number;
  readonly #lookups: FeatureLookups;
  readonly #vocabulary: ReadonlySet<string>;
  readonly #transitions: Transitions;
  readonly #outsideBias: number;
  readonly #splitHyphens: boolean;
  /** Dense branch input: embedding vocabulary and window size (undefined for a linear model). */
  readonly #dense: { vocabulary: EmbeddingVocabulary; window: number } | undefined;
  /** Label indices (B, I, and for a BIOES model E, S) per entity type, for span marginals. */
  readonly #typeIndex: Map<string, { b: number; i: number; e: number; s: number }>;
  /** Whether the model tags in BIOES (its output is converted to BIO spans). */
  readonly #bioes: boolean;
  readonly #maxTokensPerRun: number;

  private constructor(
    bundle: VerifiedBundle,
    crf: CrfManifestSection,
    session: ort.InferenceSession,
    lookups: FeatureLookups,
    maxTokensPerRun: number,
  ) {
    const m = bundle.manifest;
    this.#maxTokensPerRun = maxTokensPerRun;
    this.info = {
      name: m.name,
      version: m.version,
      digest: bundle.digest,
      format: 'crf',
      entityTypes: [...m.entityTypes].sort(),
    };
    this.#session = session;
    this.#labels = crf.labels;
    this.#bioes = isBioesLabelSet(crf.labels);
    this.#config = featureConfigOf(crf);
    this.#slots = crf.features.slots;
    this.#splitHyphens = crf.tokenizer.splitHyphens;
    this.#outsideBias = crf.decoding.outsideBias;
    this.#lookups = lookups;
    this.assertionRules = bundleAssertionRules(bundle);
    this.#dense = crf.dense
      ? {
          vocabulary: EmbeddingVocabulary.parse(
            (bundle.files.get(crf.dense.vocabulary.file) as Buffer).toString('utf8'),
          ),
          window: crf.dense.window,
        }
      : undefined;
    const vocab = bundle.files.get('vocab.txt');
    this.#vocabulary = new Set(
      vocab
        ? vocab
            .toString('utf8')
            .split('\n')
            .filter((w) => w.length > 0)
        : [],
    );
    const profile = bundle.files.get('profile.json');
    this.profile = profile ? parseProfile(profile.toString('utf8')) : undefined;
    this.#transitions = constrainedTransitions(
      {
        trans: Float64Array.from(crf.transitions.trans.flat()),
        start: Float64Array.from(crf.transitions.start),
        end: Float64Array.from(crf.transitions.end),
      },
      crf.labels,
    );
    this.#typeIndex = new Map();
    for (const type of m.entityTypes) {
      const at = (prefix: string) => crf.labels.indexOf(`${prefix}-${type}`);
      this.#typeIndex.set(type, { b: at('B'), i: at('I'), e: at('E'), s: at('S') });
    }
  }

  static async create(bundle: VerifiedBundle, options: EngineOptions = {}): Promise<CrfEngine> {
    const crf = bundle.manifest.crf;
    const fail = (msg: string) => new BundleVerificationError(msg, bundle.dir);
    if (!crf) throw fail('format is crf but the manifest has no crf section');
    if (!SUPPORTED_FEATURE_VERSIONS.includes(crf.features.featureVersion)) {
      throw fail(
        `feature version ${crf.features.featureVersion} is not supported by this runtime (supports ${SUPPORTED_FEATURE_VERSIONS.join(', ')})`,
      );
    }
    if (
      (crf.features.subwords || crf.features.abbreviations) &&
      crf.features.featureVersion < EXTENDED_FEATURE_VERSION
    ) {
      throw fail(
        `subword and abbreviation features need feature version ${EXTENDED_FEATURE_VERSION}, the manifest says ${crf.features.featureVersion}`,
      );
    }
    if (crf.features.shortFormContext !== undefined) {
      if (!crf.features.abbreviations)
        throw fail('shortFormContext needs the abbreviation features, which the manifest does not enable');
      if (crf.features.featureVersion < SHORT_FORM_REUSE_FEATURE_VERSION) {
        throw fail(
          `short-form reuse needs feature version ${SHORT_FORM_REUSE_FEATURE_VERSION}, the manifest says ${crf.features.featureVersion}`,
        );
      }
    }
    const L = crf.labels.length;
    if (
      crf.transitions.trans.length !== L ||
      crf.transitions.trans.some((r) => r.length !== L) ||
      crf.transitions.start.length !== L ||
      crf.transitions.end.length !== L
    ) {
      throw fail(`transition scores do not match the ${L} labels`);
    }
    if (isBioesLabelSet(crf.labels)) {
      for (const type of bundle.manifest.entityTypes) {
        const missing = ['B', 'I', 'E', 'S'].filter((p) => !crf.labels.includes(`${p}-${type}`));
        if (missing.length > 0) throw fail(`BIOES labels lack ${missing.map((p) => `${p}-${type}`).join(', ')}`);
      }
    }
    if (crf.features.clusters && !bundle.files.has('clusters.tsv'))
      throw fail('features use clusters but clusters.tsv is not in the bundle');
    if (crf.features.lexicon && crf.features.featureVersion < LEXICON_FEATURE_VERSION) {
      throw fail(
        `lexicon features need feature version ${LEXICON_FEATURE_VERSION}, the manifest says ${crf.features.featureVersion}`,
      );
    }
    const slots = slotsPerToken(featureConfigOf(crf));
    if (crf.features.slots !== slots) {
      throw fail(
        `the manifest says ${crf.features.slots} feature slots per token, but feature version ${crf.features.featureVersion} with its feature groups has ${slots}`,
      );
    }
    // The lookup tables are parsed once, here: a malformed file refuses the bundle before a session exists.
    const parsed = <T>(
      used: boolean | undefined,
      file: string,
      what: string,
      parse: (text: string) => T,
    ): T | undefined => {
      if (!used) return undefined;
      const bytes = bundle.files.get(file);
      if (!bytes) throw fail(`features use ${what} but ${file} is not in the bundle`);
      try {
        return parse(bytes.toString('utf8'));
      } catch (err) {
        throw fail((err as Error).message);
      }
    };
    const lookups: FeatureLookups = {
      clusters: parsed(bundle.files.has('clusters.tsv'), 'clusters.tsv', 'clusters', (t) => WordClusters.parse(t)),
      gazetteer: parsed(crf.features.gazetteer, GAZETTEER_FILE, 'a gazetteer', (t) => Gazetteer.parse(t)),
      lexicon: parsed(crf.features.lexicon, LEXICON_FILE, 'a lexicon', (t) => Lexicon.parse(t)),
    };
    if (crf.dense) {
      const file = bundle.files.get(crf.dense.vocabulary.file);
      if (!file) throw fail(`the dense branch needs ${crf.dense.vocabulary.file}, which is not in the bundle`);
      const words = EmbeddingVocabulary.parse(file.toString('utf8')).size;
      if (words !== crf.dense.vocabulary.words)
        throw fail(`${crf.dense.vocabulary.file} has ${words} words, the manifest says ${crf.dense.vocabulary.words}`);
    }
    const model = bundle.files.get('model.onnx');
    if (!model) throw fail('model.onnx is not in the bundle');
    let session: ort.InferenceSession;
    try {
      session = await createSession(model, options.threads);
    } catch (err) {
      throw fail(`model.onnx cannot be loaded by ONNX Runtime: ${(err as Error).message}`);
    }
    const out = session.outputNames[0];
    const inputs = [...session.inputNames].sort().join(',');
    const expected = crf.dense ? 'features,window' : 'features';
    if (inputs !== expected || out !== 'emissions') {
      throw fail(
        `model.onnx must have inputs '${expected}' and output 'emissions' (has ${session.inputNames.join(',')} → ${session.outputNames.join(',')})`,
      );
    }
    const maxTokensPerRun = options.maxTokensPerRun ?? DEFAULT_MAX_TOKENS_PER_RUN;
    if (!Number.isInteger(maxTokensPerRun) || maxTokensPerRun < 1)
      throw new Error(`maxTokensPerRun must be a positive integer, got ${maxTokensPerRun}`);
    return new CrfEngine(bundle, crf, session, lookups, maxTokensPerRun);
  }

  async extract(text: string): Promise<ExtractResult> {
    return (await this.extractBatch([text]))[0] as ExtractResult;
  }

  /** Tokens of `text` as this model tokenizes it (what the server's per-request token cap counts). */
  countTokens(text: string): number {
    return tokenize(text, { splitHyphens: this.#splitHyphens }).length;
  }

  /** Tokens of `text` as this model tokenizes it, with offsets (the feedback store's CoNLL tokens). */
  tokenize(text: string): Token[] {
    return tokenize(text, { splitHyphens: this.#splitHyphens });
  }

  async extractBatch(texts: readonly string[]): Promise<ExtractResult[]> {
    const yielder = new WorkYielder(this.#maxTokensPerRun);
    const results: ExtractResult[] = [];
    // Documents are independent (each note is its own document, also for short-form reuse), so a group
    // of them scores and decodes exactly as the whole batch would.
    let group: { text: string; tokens: Token[] }[] = [];
    let groupTokens = 0;
    for (const text of texts) {
      const tokens = tokenize(text, { splitHyphens: this.#splitHyphens });
      await yielder.spent(tokens.length);
      if (group.length > 0 && groupTokens + tokens.length > this.#maxTokensPerRun) {
        results.push(...(await this.#extractGroup(group, yielder)));
        group = [];
        groupTokens = 0;
      }
      group.push({ text, tokens });
      groupTokens += tokens.length;
    }
    if (group.length > 0) results.push(...(await this.#extractGroup(group, yielder)));
    return results;
  }

  /** Score and decode a group of tokenized documents. */
  async #extractGroup(
    docs: readonly { text: string; tokens: Token[] }[],
    yielder: WorkYielder,
  ): Promise<ExtractResult[]> {
    const emissions = await this.#scores(
      docs.map((d) => d.tokens.map((t) => t.text)),
      undefined,
    );
    const L = this.#labels.length;
    const results: ExtractResult[] = [];
    let offset = 0;
    const path = new Int32Array(longest(docs.map((d) => d.tokens)));
    const span = childSpan(SpanName.decode);
    for (const { text, tokens } of docs) {
      const n = tokens.length;
      let unknown = 0;
      for (const t of tokens) if (!this.#vocabulary.has(normalizeToken(t.text))) unknown++;
      const entities: Entity[] = [];
      if (n > 0) {
        viterbi(emissions, offset, n, L, this.#transitions, path);
        const labels = Array.from(path.subarray(0, n), (y) => this.#labels[y] as string);
        const spans = spansFromBio(this.#bioes ? bioesToBio(labels) : labels);
        if (spans.length > 0) {
          // Forward-backward only for documents that have entities: most clinical sentences have none.
          const lattice = forwardBackward(emissions, offset, n, L, this.#transitions);
          for (const s of spans) {
            const idx = this.#typeIndex.get(s.type) as { b: number; i: number; e: number; s: number };
            const start = (tokens[s.start] as Token).start;
            const end = (tokens[s.end - 1] as Token).end;
            const score = this.#bioes
              ? spanMarginalBioes(lattice, emissions, offset, this.#transitions, s.start, s.end, idx)
              : spanMarginal(lattice, emissions, offset, this.#transitions, s.start, s.end, idx.b, idx.i);
            entities.push({
              label: s.type,
              start,
              end,
              text: text.slice(start, end),
              score: Math.round(score * 1e4) / 1e4,
            });
          }
        }
      }
      results.push({ entities, stats: { tokens: n, unknownTokens: unknown } });
      offset += n;
      await yielder.spent(n);
    }
    if (span) {
      let entities = 0;
      for (const r of results) entities += r.entities.length;
      span.setAttributes({
        [SpanAttr.documents]: docs.length,
        [SpanAttr.tokens]: offset,
        [SpanAttr.entities]: entities,
      });
      span.end();
    }
    return results;
  }

  async tagTokens(sentences: readonly (readonly string[])[], options: TagTokensOptions = {}): Promise<string[][]> {
    if (options.documents && options.documents.length !== sentences.length) {
      throw new Error(`tagTokens: ${sentences.length} sentences but ${options.documents.length} document ids`);
    }
    // One document unless told where documents begin; with `document` off, each sentence is its own.
    const documents = options.document ? (options.documents ?? new Array<number>(sentences.length).fill(0)) : undefined;
    const emissions = await this.#scores(sentences, documents);
    const L = this.#labels.length;
    const out: string[][] = [];
    let offset = 0;
    const path = new Int32Array(longest(sentences));
    for (const s of sentences) {
      const n = s.length;
      if (n > 0) viterbi(emissions, offset, n, L, this.#transitions, path);
      const labels = Array.from(path.subarray(0, n), (y) => this.#labels[y] as string);
      out.push(this.#bioes ? bioesToBio(labels) : labels);
      offset += n;
    }
    return out;
  }

  /**
   * Emission scores for all tokens of all sentences. A model with short-form reuse needs to know what each
   * defined short form's long form was tagged, so it scores in two passes: the first pass tags the
   * sentences that define a short form, the second re-scores only the sentences that reuse one (rare in
   * notes, so usually there is no second pass). `documents`: the document of each sentence, consecutive
   * sentences with the same id being one document in reading order (a CoNLL file, divided where it has
   * `-DOCSTART-` lines); absent, each sentence is its own document (a note).
   */
  async #scores(
    sentences: readonly (readonly string[])[],
    documents: readonly number[] | undefined,
  ): Promise<Float32Array> {
    const emissions = await this.#emissions(sentences);
    const window = this.#config.shortFormContext;
    if (window === undefined) return emissions;
    const L = this.#labels.length;
    const offsets = new Int32Array(sentences.length + 1);
    sentences.forEach((s, k) => (offsets[k + 1] = (offsets[k] as number) + s.length));
    const path = new Int32Array(longest(sentences));
    const firstPass = (k: number): string[] => {
      const n = (sentences[k] as readonly string[]).length;
      if (n > 0) viterbi(emissions, offsets[k] as number, n, L, this.#transitions, path);
      return Array.from(path.subarray(0, n), (y) => this.#labels[y] as string);
    };
    // With no window each sentence sees only its own definitions: every note is its own document.
    const reuses = shortFormReuses(sentences, firstPass, documents ? window : 0, documents);
    const affected = reuses.flatMap((r, k) => (r.size > 0 ? [k] : []));
    if (affected.length === 0) return emissions;
    const rescored = await this.#emissions(
      affected.map((k) => sentences[k] as readonly string[]),
      affected.map((k) => reuses[k] as Map<number, ShortFormMeaning>),
    );
    let from = 0;
    for (const k of affected) {
      const n = (sentences[k] as readonly string[]).length;
      emissions.set(rescored.subarray(from * L, (from + n) * L), (offsets[k] as number) * L);
      from += n;
    }
    return emissions;
  }

  /**
   * Emission scores for all tokens of all sentences, in ONNX Runtime runs of at most `maxTokensPerRun`
   * tokens. Sentences are featurized a run's worth at a time (a sentence's features depend only on the
   * sentence), and a sentence longer than a run is featurized whole and scored in slices of rows.
   */
  async #emissions(
    sentences: readonly (readonly string[])[],
    reuses?: readonly ReadonlyMap<number, ShortFormMeaning>[],
  ): Promise<Float32Array> {
    let total = 0;
    for (const s of sentences) total += s.length;
    const L = this.#labels.length;
    const emissions = new Float32Array(total * L);
    if (total === 0) return emissions;
    const cap = this.#maxTokensPerRun;
    let first = 0;
    let offset = 0;
    while (first < sentences.length) {
      // The sentences of this run: at least one, then as many as fit in the cap.
      let last = first + 1;
      let tokens = (sentences[first] as readonly string[]).length;
      while (last < sentences.length && tokens + (sentences[last] as readonly string[]).length <= cap)
        tokens += (sentences[last++] as readonly string[]).length;
      if (tokens > 0) {
        const { features, window } = this.#featurize(sentences, reuses, first, last, tokens);
        for (let row = 0; row < tokens; row += cap) {
          const rows = Math.min(cap, tokens - row);
          const scores = await this.#run(features, window, row, rows);
          emissions.set(scores, (offset + row) * L);
          await nextTurn();
        }
      }
      offset += tokens;
      first = last;
    }
    if (this.#outsideBias !== 0) {
      // Label 0 is always O: a decision threshold tuned at training time trades precision for recall.
      for (let k = 0; k < total; k++) emissions[k * L] = (emissions[k * L] as number) - this.#outsideBias;
    }
    return emissions;
  }

  /** Feature rows (and dense-branch window ids) of sentences [first, last), which have `tokens` tokens. */
  #featurize(
    sentences: readonly (readonly string[])[],
    reuses: readonly ReadonlyMap<number, ShortFormMeaning>[] | undefined,
    first: number,
    last: number,
    tokens: number,
  ): { features: Int32Array; window: Int32Array | undefined } {
    const features = new Int32Array(tokens * this.#slots);
    const dense = this.#dense;
    const window = dense ? new Int32Array(tokens * dense.window) : undefined;
    let offset = 0;
    for (let k = first; k < last; k++) {
      const s = sentences[k] as readonly string[];
      if (s.length === 0) continue;
      featurizeSentence(s, this.#config, this.#lookups, features, offset, reuses?.[k]);
      if (dense && window) dense.vocabulary.windowIds(s, dense.window, window, offset);
      offset += s.length;
    }
    return { features, window };
  }

  /** One ONNX Runtime run over `rows` feature rows starting at `row`: their emission scores. */
  async #run(features: Int32Array, window: Int32Array | undefined, row: number, rows: number): Promise<Float32Array> {
    const slots = this.#slots;
    const whole = row === 0 && rows * slots === features.length;
    const feeds: Record<string, ort.Tensor> = {
      features: new ort.Tensor('int32', whole ? features : features.slice(row * slots, (row + rows) * slots), [
        rows,
        slots,
      ]),
    };
    const dense = this.#dense;
    if (dense && window) {
      const w = dense.window;
      feeds.window = new ort.Tensor('int32', whole ? window : window.slice(row * w, (row + rows) * w), [rows, w]);
    }
    const span = childSpan(SpanName.onnxRun);
    span?.setAttribute(SpanAttr.tokens, rows);
    try {
      const result = await this.#session.run(feeds);
      return (result.emissions as ort.Tensor).data as Float32Array;
    } finally {
      span?.end();
    }
  }

  async close(): Promise<void> {
    await this.#session.release();
  }
}
