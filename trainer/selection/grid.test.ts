import { describe, expect, it } from 'vitest';
import { DEFAULT_EPOCHS } from '../defaults.js';
import { candidateGrid, candidateOptions } from './grid.js';

describe('the selection grid', () => {
  it('is linear and wide & deep × recall cost 0/0.5/1 × rich features, with 40 or 160 epochs for the rich linear CRF', () => {
    const grid = candidateGrid();
    expect(grid).toHaveLength(15);
    expect(new Set(grid.map((c) => c.missedEntityCost))).toEqual(new Set([0, 0.5, 1]));
    expect(grid.filter((c) => c.model === 'linear' && c.rich).map((c) => c.epochs)).toEqual([
      40, 160, 40, 160, 40, 160,
    ]);
    expect(grid.filter((c) => c.model === 'wide-deep').every((c) => c.epochs === DEFAULT_EPOCHS.dense)).toBe(true);
  });

  it('fixes the dimensions the user pinned', () => {
    const grid = candidateGrid({ model: 'linear', missedEntityCost: 1, epochs: 7 });
    expect(grid).toEqual([
      { model: 'linear', missedEntityCost: 1, rich: false, epochs: 7 },
      { model: 'linear', missedEntityCost: 1, rich: true, epochs: 7 },
    ]);
  });

  it("maps a candidate to trainer options over the user's, pretrained vectors only for wide & deep", () => {
    const base = {
      features: { lexiconFiles: ['lex.tsv'], dense: { pretrainedVectorsFile: 'v.txt', window: 3 } },
      members: { c2: 1, seed: 5 },
    };
    const linear = candidateOptions({ model: 'linear', missedEntityCost: 0.5, rich: true, epochs: 160 }, base);
    expect(linear.features).toEqual({
      lexiconFiles: ['lex.tsv'],
      subwords: true,
      abbreviations: true,
      dense: { window: 3, enabled: false },
    });
    expect(linear.members).toEqual({ c2: 1, seed: 5, missedEntityCost: 0.5, epochs: 160 });
    const wd = candidateOptions({ model: 'wide-deep', missedEntityCost: 1, rich: false, epochs: 12 }, base, 0.25);
    expect(wd.features.dense).toEqual({ window: 3, enabled: true, pretrainedVectorsFile: 'v.txt' });
    expect(wd.members).toMatchObject({ epochs: 3, linearEpochs: 10, missedEntityCost: 1 });
    expect(wd.features).toMatchObject({ subwords: false, abbreviations: false });
  });

  it('gives a user who asked for only one feature group just that one', () => {
    const only = candidateOptions(
      { model: 'linear', missedEntityCost: 0, rich: true, epochs: 40 },
      { features: { subwords: true } },
    );
    expect(only.features).toMatchObject({ subwords: true, abbreviations: false });
  });
});
