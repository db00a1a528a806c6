/**
 * `ner-ops train` chooses its setup by default (`--select auto`): the CLI with only --train and --dev
 * trains the winner of the folds of train, says so, records it, and `ner-ops evaluate` shows it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST_FILE } from '../../contracts/bundle-manifest.js';
import { generateNotes, writeConll } from '../../trainer/synthetic.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../dist/cli/ner-ops.js');

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nerops-train-select-'));
  await writeConll(join(dir, 'train.conll'), generateNotes({ count: 120, seed: 61 }));
  await writeConll(join(dir, 'dev.conll'), generateNotes({ count: 30, seed: 62 }));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ner-ops train --select', () => {
  it('chooses by default, records the choice, and evaluate shows it', async () => {
    const out = join(dir, 'auto');
    // --epochs pins that dimension of the grid, to keep the test short.
    const trained = await run(process.execPath, [
      CLI,
      'train',
      '--train',
      join(dir, 'train.conll'),
      '--dev',
      join(dir, 'dev.conll'),
      '--out',
      out,
      '--epochs',
      '2',
    ]);
    const result = JSON.parse(trained.stdout) as { selection: { chosen: { epochs: number }; foldF1: number } };
    expect(result.selection.chosen.epochs).toBe(2);
    expect(trained.stderr).toMatch(/select: 12 candidates, 3 folds of the training set/);
    expect(trained.stderr).toMatch(/select: chose /);
    const manifest = JSON.parse(await readFile(join(out, MANIFEST_FILE), 'utf8')) as {
      training: { selection: { chosen: Record<string, unknown>; foldF1: number } };
    };
    expect(manifest.training.selection.chosen).toMatchObject(result.selection.chosen);

    const text = await run(process.execPath, [CLI, 'evaluate', '--model', out, '--data', join(dir, 'dev.conll')]);
    expect(text.stdout).toContain('setup chosen on 3 folds of the training set');
    expect(text.stdout).toContain(`fold F1 ${manifest.training.selection.foldF1.toFixed(4)}`);
    const json = await run(process.execPath, [
      CLI,
      'evaluate',
      '--model',
      out,
      '--data',
      join(dir, 'dev.conll'),
      '--json',
    ]);
    expect(JSON.parse(json.stdout).selection).toEqual(manifest.training.selection);
  }, 120_000);

  it('--select off trains the flags as given, with no selection recorded', async () => {
    const out = join(dir, 'off');
    const trained = await run(process.execPath, [
      CLI,
      'train',
      '--train',
      join(dir, 'train.conll'),
      '--out',
      out,
      '--epochs',
      '2',
      '--select',
      'off',
      '--quiet',
    ]);
    expect(JSON.parse(trained.stdout).selection).toBeUndefined();
    const manifest = JSON.parse(await readFile(join(out, MANIFEST_FILE), 'utf8')) as { training: object };
    expect(manifest.training).not.toHaveProperty('selection');
    const text = await run(process.execPath, [CLI, 'evaluate', '--model', out, '--data', join(dir, 'dev.conll')]);
    expect(text.stdout).not.toContain('setup chosen');
  }, 60_000);

  it('refuses a bad --select or --select-budget before training', async () => {
    const base = [CLI, 'train', '--train', join(dir, 'train.conll'), '--out', join(dir, 'never')];
    await expect(run(process.execPath, [...base, '--select', 'maybe'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--select must be 'auto' or 'off', got 'maybe'"),
    });
    await expect(run(process.execPath, [...base, '--select', 'off', '--select-budget', '60'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--select-budget needs --select auto'),
    });
    await expect(run(process.execPath, [...base, '--select-budget', '0'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--select-budget must be a number of seconds > 0, got '0'"),
    });
  });
});
