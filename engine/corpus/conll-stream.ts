/**
 * CoNLL read as a stream of sentences, for files too large to hold (a validation dataset): memory is bounded
 * by one block of lines, not by the file. It parses with {@link parseConll} block by block, so every rule
 * and every error is the same as reading the file whole; only line numbers and document numbers are carried
 * from block to block.
 */
import { createReadStream } from 'node:fs';
import { ConllError, DOCUMENT_START, parseConll, type LabeledSentence, type ParseOptions } from './conll.js';

/** Lines per block handed to the parser; a block always ends after a sentence, at a blank line. */
const BLOCK_LINES = 4096;

/** Whether a line is a document marker (validated by the parser; only counted here). */
function isDocumentStart(line: string): boolean {
  return line.split('\t')[0] === DOCUMENT_START;
}

/**
 * The sentences of a CoNLL file in reading order, as {@link readConll} returns them (same tokens, labels,
 * line numbers and document numbers), read a block at a time.
 */
export async function* streamConll(file: string, options: ParseOptions = {}): AsyncGenerator<LabeledSentence> {
  let block: string[] = [];
  let blockStart = 1; // 1-based line number of the block's first line
  let hasSentence = false;
  let documents = 0; // document markers before the block
  let sentences = 0;

  function* parseBlock(final: boolean): Generator<LabeledSentence> {
    if (block.length === 0) return;
    let parsed: LabeledSentence[] = [];
    if (hasSentence) {
      try {
        parsed = parseConll(block.join('\n'), file, options);
      } catch (err) {
        if (err instanceof ConllError && err.line > 0)
          throw new ConllError(file, err.line + blockStart - 1, err.problem, err.column);
        throw err;
      }
    } else if (final) {
      // Trailing document markers with no sentence after them: the parser checks them as part of a block
      // that has a sentence, so give it one and keep only the check.
      try {
        parseConll(`${block.join('\n')}\n\nx\tO\n`, file, options);
      } catch (err) {
        if (err instanceof ConllError && err.line > 0)
          throw new ConllError(file, err.line + blockStart - 1, err.problem, err.column);
        throw err;
      }
    }
    for (const s of parsed) {
      sentences++;
      yield { ...s, line: s.line + blockStart - 1, document: (s.document ?? 0) + documents };
    }
    for (const line of block) if (isDocumentStart(line)) documents++;
    blockStart += block.length;
    block = [];
    hasSentence = false;
  }

  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 });
  let rest = '';
  let first = true;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      let text = rest + chunk;
      if (first) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      const lines = text.split('\n');
      rest = lines.pop() as string;
      for (const line of lines) {
        const blank = line.trim() === '';
        if (blank && hasSentence && block.length >= BLOCK_LINES) {
          block.push(line);
          yield* parseBlock(false);
          continue;
        }
        if (!blank && !isDocumentStart(line)) hasSentence = true;
        block.push(line);
      }
    }
  } catch (err) {
    if (err instanceof ConllError) throw err;
    throw new ConllError(file, 0, `cannot read file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  } finally {
    stream.destroy();
  }
  if (rest.trim() !== '' && !isDocumentStart(rest)) hasSentence = true;
  block.push(rest);
  yield* parseBlock(true);
  if (sentences === 0) parseConll('', file); // throws the parser's own "no sentences" error for this file
}
