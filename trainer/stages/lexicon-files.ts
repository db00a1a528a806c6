/**
 * The user's lexicon files for the feature space: each read and tokenised the way the model tokenises
 * text, with a record of where it came from for the manifest (file names and digests, never a phrase).
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { sha256 } from '../../engine/bundle/bundle.js';
import {
  LEXICON_MAX_TOKENS,
  LexiconError,
  readLexiconSource,
  type LexiconEntry,
} from '../../engine/features/lexicon.js';

/** Where a lexicon came from, for the manifest. */
export interface LexiconFileRecord {
  file: string;
  sha256: string;
  phrases: number;
  skipped: number;
}

export async function readLexicons(
  files: readonly string[],
  splitHyphens: boolean,
  log: (line: string) => void,
): Promise<{ entries: LexiconEntry[]; files: LexiconFileRecord[] } | undefined> {
  if (files.length === 0) return undefined;
  const entries: LexiconEntry[] = [];
  const sources: LexiconFileRecord[] = [];
  for (const f of files) {
    const bytes = await readFile(f);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new LexiconError(`${f}: the lexicon is not UTF-8 text`);
    }
    const source = readLexiconSource(text, f, splitHyphens);
    for (const e of source.entries) entries.push(e);
    sources.push({ file: basename(f), sha256: sha256(bytes), phrases: source.entries.length, skipped: source.skipped });
    log(
      `${f}: ${source.entries.length} lexicon phrases${source.skipped > 0 ? ` (${source.skipped} longer than ${LEXICON_MAX_TOKENS} tokens skipped)` : ''}`,
    );
  }
  return { entries, files: sources };
}
