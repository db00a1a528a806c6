/**
 * `--select auto` end to end on a small synthetic corpus: the setup is chosen on folds of train, the
 * winner trained on all of it, and the choice recorded in the manifest; `off` is plain trainBundle.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, verifyBundle } from '../../engine/bundle/bundle.js';
import { generateNotes, writeConll } from '../synthetic.js';
import { trainBundle, type TrainOptions } from '../train.js';
import { formatSelection, type SelectionView } from './format.js';
import { candidateOptions } from './grid.js';
import { trainSelected } from './select.js';

let dir: string;
/** The graph's sha256 (comparing megabytes of buffers with toEqual takes minutes). */
const modelSha = async (bundle: string) => sha256(await readFile(join(bundle, 'model.onnx')));
const options = (out: string): TrainOptions => ({
  corpus: { trainFile: join(dir, 'train.conll'), devFile: join(dir, 'dev.conll') },
  members: { seed: 2 },
  export: { outDir: join(dir, out), name: 'sel' },
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nerops-select-'));
  await writeConll(join(dir, 'train.conll'), generateNotes({ count: 120, seed: 41 }));
  await writeConll(join(dir, 'dev.conll'), generateNotes({ count: 30, seed: 42 }));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('train --select', () => {
  it('auto chooses on folds of train, trains the winner on all of it, and records the choice', async () => {
    const lines: string[] = [];
    const r = await trainSelected(
      { ...options('auto'), log: (l) => lines.push(l) },
      { mode: 'auto', pins: { epochs: 2 } },
    );
    expect(r.selection).toBeDefined();
    const { manifest } = await verifyBundle(r.outDir);
    const selection = manifest.training?.['selection'] as {
      folds: number;
      chosen: { model: string; missedEntityCost: number; rich: boolean; epochs: number };
      foldF1: number;
      candidates: { label: string; runs: unknown[] }[];
    };
    expect(selection.folds).toBe(3);
    expect(selection.chosen).toMatchObject(r.selection?.winner ?? {});
    expect(selection.candidates).toHaveLength(12);
    expect(selection.foldF1).toBeCloseTo(r.selection?.foldF1 ?? NaN, 4);
    expect(lines.some((l) => l.startsWith('select: chose '))).toBe(true);
    // The bundle's model is exactly what trainBundle makes of the chosen options on all of train.
    const chosen = candidateOptions(selection.chosen as never, { members: { seed: 2 } });
    const plain = await trainBundle({ ...options('plain'), ...chosen });
    expect(await modelSha(r.outDir)).toBe(await modelSha(plain.outDir));
    expect(manifest.training?.['missedEntityCost']).toBe(selection.chosen.missedEntityCost);
    // What `ner-ops evaluate` prints about it.
    const text = formatSelection(manifest.training?.['selection'] as SelectionView);
    expect(text).toContain(`setup chosen on 3 folds of the training set`);
    expect(text).toContain(`fold F1 ${selection.foldF1.toFixed(4)}`);
  }, 120_000);

  it('off trains exactly the options given: the same bundle as trainBundle', async () => {
    const off = await trainSelected({ ...options('off'), members: { seed: 2, epochs: 2 } }, { mode: 'off' });
    const plain = await trainBundle({ ...options('plain-off'), members: { seed: 2, epochs: 2 } });
    expect(off.selection).toBeUndefined();
    expect(off.digest).not.toBe('');
    expect(await modelSha(off.outDir)).toBe(await modelSha(plain.outDir));
    const { manifest } = await verifyBundle(off.outDir);
    expect(manifest.training?.['selection']).toBeUndefined();
  }, 60_000);
});

describe('train --select auto on a tiny corpus', () => {
  it('trains the flags as given when the folds would be a handful of sentences', async () => {
    await writeConll(join(dir, 'tiny.conll'), generateNotes({ count: 12, seed: 43 }));
    const lines: string[] = [];
    const r = await trainSelected(
      {
        corpus: { trainFile: join(dir, 'tiny.conll') },
        members: { seed: 2, epochs: 2 },
        export: { outDir: join(dir, 'tiny'), name: 'tiny' },
        log: (l) => lines.push(l),
      },
      { mode: 'auto' },
    );
    expect(r.selection).toBeUndefined();
    expect(lines).toContain('select: 12 training sentences are too few for 3 folds; training the flags as given');
  });
});
