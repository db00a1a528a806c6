/**
 * CoNLL reading and BIO validation. Format: UTF-8, one `token<TAB>label` per line, a blank line after
 * every sentence, BIO labels, and optionally a `-DOCSTART-` line (labelled O) where a new document
 * begins, as CoNLL-2003-style corpora mark them. Every error names the file, the line, the column and the
 * problem, because the people who hit them are annotators fixing a file by hand, and never the token or the
 * label: a label column that holds text holds patient text, and these messages reach Job results, status,
 * Events and logs (docs/security.md, "PHI").
 */
import { readFile } from 'node:fs/promises';

export interface LabeledSentence {
  tokens: string[];
  labels: string[];
  /** 1-based line number of the sentence's first token, for error messages. */
  line: number;
  /**
   * The document the sentence belongs to: the number of `-DOCSTART-` lines before it (0 in a file
   * without them, which reads as one document). Absent on sentences not read from a file.
   */
  document?: number;
}

/** The CoNLL-2003 document boundary token. It is a marker, never a sentence or a token of one. */
export const DOCUMENT_START = '-DOCSTART-';

/** The document of each sentence (0 for sentences not read from a file). */
export function documentsOf(sentences: readonly Pick<LabeledSentence, 'document'>[]): number[] {
  return sentences.map((s) => s.document ?? 0);
}

/** The columns of a CoNLL line, as errors name them. */
const COLUMNS = { token: 1, label: 2 } as const;

export class ConllError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
    /** The column at fault (1 token, 2 label), when one is. */
    readonly column?: keyof typeof COLUMNS,
  ) {
    const where = line > 0 ? `${file}:${line}` : file;
    super(`${where}${column ? `, column ${COLUMNS[column]} (${column})` : ''}: ${problem}`);
    this.name = 'ConllError';
  }
}

export interface ParseOptions {
  /** Repair invalid BIO (I-X after O or after another type becomes B-X) instead of failing. */
  repairBio?: boolean;
}

const LABEL_RE = /^(O|[BI]-[^\s]+)$/;

/**
 * Parse CoNLL text. Throws ConllError for: wrong column count, empty tokens, labels outside the BIO
 * scheme, I-X not continuing an X entity (unless repairBio), mixed label schemes, an empty file, and a
 * `-DOCSTART-` line that is not labelled O or that sits inside a sentence.
 */
export function parseConll(text: string, file: string, options: ParseOptions = {}): LabeledSentence[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r?\n/);
  const sentences: LabeledSentence[] = [];
  let tokens: string[] = [];
  let labels: string[] = [];
  let start = 0;
  let prev = 'O';
  let scheme: 'BIO' | 'other' | undefined;
  let document = 0;

  const flush = () => {
    if (tokens.length > 0) sentences.push({ tokens, labels, line: start, document });
    tokens = [];
    labels = [];
    prev = 'O';
  };

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const lineNo = i + 1;
    if (raw.trim() === '') {
      flush();
      continue;
    }
    const cols = raw.split('\t');
    if (cols.length !== 2) {
      throw new ConllError(file, lineNo, `expected 2 tab-separated columns (token<TAB>label), found ${cols.length}`);
    }
    const token = cols[0] as string;
    let label = (cols[1] as string).trim();
    if (token.length === 0 || /\s/.test(token)) {
      throw new ConllError(file, lineNo, 'empty or contains whitespace', 'token');
    }
    if (!LABEL_RE.test(label)) {
      const looksIobes = /^[ESL]-/.test(label) || label === 'U';
      if (scheme === undefined && looksIobes) scheme = 'other';
      throw new ConllError(
        file,
        lineNo,
        looksIobes
          ? 'not a BIO label (IOBES/BILOU labels are not supported; convert to B-/I-/O)'
          : 'not a BIO label (expected O, B-TYPE or I-TYPE)',
        'label',
      );
    }
    if (token === DOCUMENT_START) {
      if (label !== 'O')
        throw new ConllError(
          file,
          lineNo,
          `${DOCUMENT_START} marks where a document begins and must be labelled O`,
          'label',
        );
      if (tokens.length > 0)
        throw new ConllError(
          file,
          lineNo,
          `${DOCUMENT_START} inside a sentence: end the sentence above it with a blank line`,
        );
      document++;
      continue;
    }
    scheme = 'BIO';
    if (label.startsWith('I-')) {
      const type = label.slice(2);
      if (prev !== `B-${type}` && prev !== `I-${type}`) {
        if (!options.repairBio) {
          throw new ConllError(
            file,
            lineNo,
            `invalid BIO sequence: an I- label must continue an entity of its type, and the line above is ${prev === 'O' ? 'O' : 'an entity of another type'} (pass --repair-bio to turn such labels into B-)`,
            'label',
          );
        }
        label = `B-${type}`;
      }
    }
    if (tokens.length === 0) start = lineNo;
    tokens.push(token);
    labels.push(label);
    prev = label;
  }
  flush();
  if (sentences.length === 0) throw new ConllError(file, 0, 'file has no sentences (empty or only blank lines)');
  return sentences;
}

export async function readConll(file: string, options: ParseOptions = {}): Promise<LabeledSentence[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConllError(file, 0, `cannot read file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseConll(text, file, options);
}

/**
 * CoNLL text of sentences. A `-DOCSTART-` line goes before every sentence whose `document` differs from
 * the one before it (the first is compared with document 0), so a file read with markers is written
 * with them, and a subset of its sentences (a held-out split) keeps its document boundaries.
 */
export function formatConll(
  sentences: readonly { tokens: readonly string[]; labels: readonly string[]; document?: number }[],
): string {
  let out = '';
  let document = 0;
  for (const s of sentences) {
    if (s.document !== undefined && s.document !== document) {
      out += `${DOCUMENT_START}\tO\n\n`;
      document = s.document;
    }
    for (let i = 0; i < s.tokens.length; i++) out += `${s.tokens[i]}\t${s.labels[i]}\n`;
    out += '\n';
  }
  return out;
}

/** The BIO label set implied by some sentences: O first, then B-/I- pairs for each type in sorted order. */
export function labelSetOf(sentences: readonly { labels: readonly string[] }[]): string[] {
  const types = new Set<string>();
  for (const s of sentences) for (const l of s.labels) if (l !== 'O') types.add(l.slice(2));
  const sorted = [...types].sort();
  return ['O', ...sorted.flatMap((t) => [`B-${t}`, `I-${t}`])];
}
