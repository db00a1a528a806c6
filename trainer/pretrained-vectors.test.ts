import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PretrainedVectorsError, concatenateEmbeddings, readPretrainedVectors } from './pretrained-vectors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nerops-vectors-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: string | Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

const all = () => true;
const row = (v: { vectors: Float32Array; dim: number; words: string[] }, word: string) => {
  const i = v.words.indexOf(word);
  return i < 0 ? undefined : Array.from(v.vectors.subarray(i * v.dim, (i + 1) * v.dim));
};

describe('readPretrainedVectors', () => {
  it('reads GloVe text format, keeps only wanted words, scales rows to unit length and hashes the file', async () => {
    const text = 'sepsis 3 0 4\nthe 1 1 1\nfever 0 2 0\n';
    const f = await file('glove.txt', text);
    const v = await readPretrainedVectors(f, (w) => w !== 'the');
    expect(v.words).toEqual(['sepsis', 'fever']);
    expect(v.dim).toBe(3);
    expect(v.fileWords).toBe(3);
    expect(row(v, 'sepsis')?.map((x) => +x.toFixed(6))).toEqual([0.6, 0, 0.8]);
    expect(row(v, 'fever')).toEqual([0, 1, 0]);
    expect(v.sha256).toBe(createHash('sha256').update(text).digest('hex'));
  });

  it('keys words like the runtime (lower case, digits as 0) and keeps the first, most frequent, spelling', async () => {
    const f = await file('cased.txt', 'Cancer 1 0\ncancer 0 1\nCOVID19 2 0\n');
    const v = await readPretrainedVectors(f, all);
    expect(v.words).toEqual(['cancer', 'covid00']);
    expect(row(v, 'cancer')).toEqual([1, 0]);
    expect(v.fileWords).toBe(3);
  });

  it('skips a word2vec header, takes the dimension from it, and reads CRLF lines and words with spaces', async () => {
    const f = await file('w2v.txt', '3 2\r\nat&t corp 1 0\r\nrash 0 2\r\nitch 0 3');
    const v = await readPretrainedVectors(f, all);
    expect(v.dim).toBe(2);
    expect(v.words).toEqual(['at&t corp', 'rash', 'itch']);
    expect(row(v, 'itch')).toEqual([0, 1]);
  });

  it('counts but does not parse the lines of words it does not need, and refuses a file with none it needs', async () => {
    // The malformed second line belongs to a word the text does not contain: it cannot affect the model.
    const f = await file('partial.txt', 'fever 1 0\nunused oops\nrash 0 1\n');
    const v = await readPretrainedVectors(f, (w) => w !== 'unused');
    expect(v.words).toEqual(['fever', 'rash']);
    expect(v.fileWords).toBe(3);
    await expect(readPretrainedVectors(f, () => false)).rejects.toThrow(
      `${f}: none of the text's words has a vector among its 3`,
    );
  });

  it('leaves out all-zero rows, which carry no direction', async () => {
    const v = await readPretrainedVectors(await file('zero.txt', 'pad 0 0\nrash 1 0\n'), all);
    expect(v.words).toEqual(['rash']);
  });

  it('refuses a line with too few values, naming file and line', async () => {
    const f = await file('short.txt', 'rash 1 0 0\nitch 1 0\n');
    await expect(readPretrainedVectors(f, all)).rejects.toThrow(
      new PretrainedVectorsError(`${f}:2: 2 values, expected 3 like the lines before`),
    );
  });

  it('refuses a value that is not a number without echoing the word', async () => {
    const f = await file('nan.txt', 'rash 1 0\njohnsmith 1 x\n');
    const err = await readPretrainedVectors(f, all).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(PretrainedVectorsError);
    expect(err?.message).toBe(`${f}:2: value 2 of the word's vector is not a number`);
    expect(err?.message).not.toContain('johnsmith');
  });

  it('refuses an empty file, a missing file and a binary file', async () => {
    const empty = await file('empty.txt', '\n\n');
    await expect(readPretrainedVectors(empty, all)).rejects.toThrow(`${empty}: no word vectors found`);
    await expect(readPretrainedVectors(join(dir, 'absent.txt'), all)).rejects.toThrow(
      /absent\.txt: pretrained vectors file not found or not readable/,
    );
    const binary = await file('vectors.bin', Uint8Array.from([0xff, 0xfe, 0x00, 0x41, 0x20, 0x31]));
    await expect(readPretrainedVectors(binary, all)).rejects.toThrow(/not UTF-8 text/);
  });

  it('reads a file larger than one stream chunk, with lines split across chunks', async () => {
    const lines = Array.from(
      { length: 20000 },
      (_, i) => `w${String.fromCharCode(97 + (i % 26))}${i.toString(36)} ${i % 7} 1 ${i % 3}`,
    );
    const v = await readPretrainedVectors(await file('big.txt', lines.join('\n') + '\n'), all);
    expect(v.fileWords).toBe(20000);
    const last = lines[19999]?.split(' ') as string[];
    const expected = [Number(last[1]), 1, Number(last[3])];
    const norm = Math.hypot(...expected);
    expect(row(v, (last[0] as string).replace(/[0-9]/g, '0'))?.map((x) => +x.toFixed(5))).toEqual(
      expected.map((x) => +(x / norm).toFixed(5)),
    );
  });
});

describe('concatenateEmbeddings', () => {
  it('takes the union of the words, learned first, with zeros where a source has no vector', () => {
    const learned = { words: ['fever', 'the'], dim: 2, vectors: Float32Array.from([1, 2, 3, 4]) };
    const pretrained = { words: ['sepsis', 'fever'], dim: 1, vectors: Float32Array.from([9, 8]) };
    const both = concatenateEmbeddings(learned, pretrained);
    expect(both.words).toEqual(['fever', 'the', 'sepsis']);
    expect(both.dim).toBe(3);
    expect(Array.from(both.vectors)).toEqual([1, 2, 8, 3, 4, 0, 0, 0, 9]);
  });
});
