import { describe, expect, it } from 'vitest';
import { bioToBioes, bioesLabelSet, bioesToBio, isBioesLabelSet, spansFromBio } from './bio.js';
import { seededRandom } from '../seeded-random.js';

describe('BIO ↔ BIOES', () => {
  it('marks single-token entities S- and entity ends E-', () => {
    expect(bioToBioes(['B-D', 'O', 'B-D', 'I-D', 'B-T', 'I-T', 'I-T', 'B-D', 'B-D'])).toEqual([
      'S-D',
      'O',
      'B-D',
      'E-D',
      'B-T',
      'I-T',
      'E-T',
      'S-D',
      'S-D',
    ]);
    expect(bioToBioes([])).toEqual([]);
    expect(bioToBioes(['O', 'O'])).toEqual(['O', 'O']);
  });

  it('reads a dangling I- as the start of an entity, never dropping it', () => {
    expect(bioToBioes(['O', 'I-D', 'I-D', 'I-T'])).toEqual(['O', 'B-D', 'E-D', 'S-T']);
  });

  it('converts back to BIO; BIO input is unchanged', () => {
    expect(bioesToBio(['S-D', 'O', 'B-D', 'I-D', 'E-D'])).toEqual(['B-D', 'O', 'B-D', 'I-D', 'I-D']);
    expect(bioesToBio(['B-D', 'I-D', 'O'])).toEqual(['B-D', 'I-D', 'O']);
  });

  it('round-trips random valid BIO sequences with the same spans', () => {
    const r = seededRandom(7);
    for (let trial = 0; trial < 200; trial++) {
      const labels: string[] = [];
      for (let k = 0; k < 12; k++) {
        const x = r();
        const prev = labels[k - 1];
        if (x < 0.4) labels.push('O');
        else if (x < 0.6) labels.push(r() < 0.5 ? 'B-D' : 'B-T');
        else if (prev && prev !== 'O') labels.push(`I-${prev.slice(2)}`);
        else labels.push('O');
      }
      const bioes = bioToBioes(labels);
      expect(bioesToBio(bioes)).toEqual(labels);
      expect(spansFromBio(bioesToBio(bioes), true)).toEqual(spansFromBio(labels, true));
    }
  });

  it('builds and recognises the BIOES label set', () => {
    const set = bioesLabelSet(['O', 'B-D', 'I-D', 'B-T', 'I-T']);
    expect(set).toEqual(['O', 'B-D', 'I-D', 'E-D', 'S-D', 'B-T', 'I-T', 'E-T', 'S-T']);
    expect(isBioesLabelSet(set)).toBe(true);
    expect(isBioesLabelSet(['O', 'B-D', 'I-D'])).toBe(false);
  });
});
