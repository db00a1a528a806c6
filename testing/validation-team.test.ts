import { describe, expect, it } from 'vitest';
import { generateNotes } from '../trainer/synthetic.js';
import { goldEntities } from './validation-team.js';

describe('goldEntities', () => {
  it('turns a synthetic note’s BIO labels into spans of its text, one per entity', () => {
    for (const vocabulary of ['base', 'shifted'] as const)
      for (const note of generateNotes({ count: 50, seed: 5, vocabulary })) {
        const spans = goldEntities(note);
        expect(spans).toHaveLength(note.labels.filter((l) => l.startsWith('B-')).length);
        // Each span covers exactly the tokens its entity labels cover.
        const labelled = note.tokens.filter((_, i) => note.labels[i] !== 'O').join(' ');
        const covered = spans.map((s) => note.text.slice(s.start, s.end)).join(' ');
        expect(covered.replace(/[\s-]+/g, ' ')).toBe(labelled.replace(/[\s-]+/g, ' '));
        for (const s of spans) expect(['DISEASE', 'TREATMENT']).toContain(s.label);
      }
  });
});
