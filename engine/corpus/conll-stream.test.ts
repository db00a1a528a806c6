/**
 * The streaming CoNLL reader gives what reading the whole file gives: the same sentences, line numbers and
 * documents across block boundaries, and the same errors at the same lines.
 */
import { mkdtempSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readConll, type LabeledSentence } from './conll.js';
import { streamConll } from './conll-stream.js';

const work = mkdtempSync(join(tmpdir(), 'nerops-conll-stream-'));
afterAll(() => rm(work, { recursive: true, force: true }));

async function collect(file: string): Promise<LabeledSentence[]> {
  const out: LabeledSentence[] = [];
  for await (const s of streamConll(file)) out.push(s);
  return out;
}

async function fileWith(name: string, text: string): Promise<string> {
  const path = join(work, name);
  await writeFile(path, text);
  return path;
}

/** Enough sentences to span several blocks, with document markers, CRLF lines and blank-line runs. */
function corpus(sentences: number): string {
  let text = '\ufeff';
  for (let i = 0; i < sentences; i++) {
    if (i % 97 === 0) text += '-DOCSTART-\tO\n\n';
    text += `Patient\tO\nhas\tO\ndiabetes${i}\tB-PROBLEM\nmellitus\tI-PROBLEM\n`;
    text += i % 11 === 0 ? '\r\n  \n\n' : '\n';
  }
  return text;
}

describe('streamConll', () => {
  it('yields the sentences, lines and documents readConll returns, across blocks', async () => {
    const file = await fileWith('big.conll', corpus(3000));
    const whole = await readConll(file);
    expect(whole.length).toBe(3000);
    expect(await collect(file)).toEqual(whole);
  });

  it('reports an error at the same line as readConll, deep in the file', async () => {
    const file = await fileWith('bad.conll', `${corpus(2500)}x\tI-PROBLEM\n\n${corpus(10)}`);
    const whole = await readConll(file).catch((e: unknown) => e as Error);
    const streamed = await collect(file).catch((e: unknown) => e as Error);
    expect(whole).toBeInstanceOf(Error);
    expect((streamed as Error).message).toBe((whole as Error).message);
  });

  it('checks trailing document markers and refuses a file without sentences, as readConll does', async () => {
    for (const [name, text] of [
      ['trailing.conll', 'a\tO\n\n-DOCSTART-\tO\n\n'],
      ['bad-marker.conll', 'a\tO\n\n-DOCSTART-\tB-X\n'],
      ['empty.conll', '\n\n'],
      ['markers-only.conll', '-DOCSTART-\tO\n\n-DOCSTART-\tO\n'],
    ] as const) {
      const file = await fileWith(name, text);
      const whole = await readConll(file).then(
        (v) => ({ ok: v }),
        (e: unknown) => ({ error: (e as Error).message }),
      );
      const streamed = await collect(file).then(
        (v) => ({ ok: v }),
        (e: unknown) => ({ error: (e as Error).message }),
      );
      expect(streamed, name).toEqual(whole);
    }
  });
});
