/**
 * The bundle archive reader: refuses entries that would escape the bundle directory or are not regular
 * files, and reads the long-name extensions (pax, GNU) that `tar` writes for deep paths.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractTar, hashTarEntries } from './tar.js';

let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'nerops-tar-test-'));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('extractTar', () => {
  it('refuses path traversal and links', async () => {
    const evil = join(work, 'evil');
    await mkdir(join(evil, 'sub'), { recursive: true });
    writeFileSync(join(evil, 'sub', 'x'), 'x');
    execFileSync('tar', ['-cf', join(work, 'traversal.tar'), '-C', join(evil, 'sub'), '--transform', 's,^,../,', 'x']);
    await expect(extractTar(join(work, 'traversal.tar'), join(work, 'out1'))).rejects.toThrow(
      /escapes the bundle directory/,
    );
    execFileSync('ln', ['-s', '/etc/passwd', join(evil, 'link')]);
    execFileSync('tar', ['-cf', join(work, 'link.tar'), '-C', evil, 'link']);
    await expect(extractTar(join(work, 'link.tar'), join(work, 'out2'))).rejects.toThrow(/not a regular file/);
  });

  it('handles long names (pax / GNU) and empty files', async () => {
    const d = join(work, 'long');
    const deep = join(d, 'a'.repeat(60), 'b'.repeat(60));
    await mkdir(deep, { recursive: true });
    writeFileSync(join(deep, 'c'.repeat(80) + '.txt'), 'content');
    writeFileSync(join(d, 'empty'), '');
    for (const format of ['gnu', 'pax']) {
      execFileSync('tar', ['-cf', join(work, `long-${format}.tar`), `--format=${format}`, '-C', d, '.']);
      const files = await extractTar(join(work, `long-${format}.tar`), join(work, `long-out-${format}`));
      expect(files.sort()).toEqual([`${'a'.repeat(60)}/${'b'.repeat(60)}/${'c'.repeat(80)}.txt`, 'empty']);
      expect(
        await readFile(
          join(work, `long-out-${format}`, 'a'.repeat(60), 'b'.repeat(60), 'c'.repeat(80) + '.txt'),
          'utf8',
        ),
      ).toBe('content');
    }
  });

  it('refuses more files than the file cap, and stops when its signal aborts', async () => {
    const d = join(work, 'many');
    await mkdir(d);
    for (const name of ['a', 'b', 'c']) writeFileSync(join(d, name), name);
    execFileSync('tar', ['-czf', join(work, 'many.tar.gz'), '-C', d, 'a', 'b', 'c']);
    await expect(extractTar(join(work, 'many.tar.gz'), join(work, 'many-out'), { maxFiles: 2 })).rejects.toThrow(
      /more than 2 files \(the file cap\)/,
    );
    const aborted = AbortSignal.abort(new Error('deadline passed'));
    await expect(extractTar(join(work, 'many.tar.gz'), join(work, 'many-out2'), { signal: aborted })).rejects.toThrow(
      /deadline passed/,
    );
  });

  it('hashes chosen entries without writing anything', async () => {
    const d = join(work, 'hash');
    await mkdir(join(d, 'sub'), { recursive: true });
    writeFileSync(join(d, 'ner-model.json'), '{"a":1}');
    writeFileSync(join(d, 'sub', 'x'), 'x');
    execFileSync('tar', ['-cf', join(work, 'hash.tar'), '-C', d, '.']);
    const hashes = await hashTarEntries(join(work, 'hash.tar'), (p) => p.endsWith('.json'));
    expect([...hashes]).toEqual([['ner-model.json', createHash('sha256').update('{"a":1}').digest('hex')]]);
  });
});
