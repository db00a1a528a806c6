import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readUnlabeled } from './stages/corpus.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nerops-unlabeled-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readUnlabeled', () => {
  it('reads the first column of a CoNLL file as sentences, leaving out -DOCSTART- markers', async () => {
    const file = join(dir, 'a.conll');
    await writeFile(file, '-DOCSTART-\tO\n\nFever\tB-DISEASE\nonset\tO\n\n-DOCSTART-\tO\nAspirin\tB-TREATMENT\r\n\r\n');
    expect(await readUnlabeled(file)).toEqual([['Fever', 'onset'], ['Aspirin']]);
  });

  it('reads one whitespace-tokenised sentence per line from plain text, leaving out marker lines', async () => {
    const file = join(dir, 'a.txt');
    await writeFile(file, '-DOCSTART-\nFever  onset today\n\n  Aspirin given \n');
    expect(await readUnlabeled(file)).toEqual([
      ['Fever', 'onset', 'today'],
      ['Aspirin', 'given'],
    ]);
  });
});
