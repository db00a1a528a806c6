import { describe, expect, it } from 'vitest';
import { parseConll } from '../corpus/conll.js';
import { documentsConll, groupDocuments, splitDocuments, type StoredDocument } from './export.js';

const conll = (n: number) =>
  Array.from({ length: n }, (_, i) => `-DOCSTART-\tO\n\nnote\tO\nnumber\tO\nd${i}\tB-DISEASE\n\n`).join('');
const docs = (n: number): StoredDocument[] => groupDocuments(parseConll(conll(n), 'test'));

describe('groupDocuments', () => {
  it('makes one document per -DOCSTART- with a content key', () => {
    const d = docs(3);
    expect(d).toHaveLength(3);
    expect(new Set(d.map((x) => x.key)).size).toBe(3);
    expect(groupDocuments(parseConll(conll(1), 'other'))[0]!.key).toBe(d[0]!.key);
  });
});

describe('splitDocuments', () => {
  it('keeps identical documents once and counts the duplicates', () => {
    const d = docs(5);
    const r = splitDocuments([...d, d[1]!, d[3]!], 0.2, 1);
    expect(r.duplicates).toBe(2);
    expect(r.train.length + r.dev.length).toBe(5);
  });

  it('is deterministic and independent of input order', () => {
    const d = docs(40);
    const a = splitDocuments(d, 0.25, 7);
    const b = splitDocuments([...d].reverse(), 0.25, 7);
    expect(documentsConll(a.train)).toBe(documentsConll(b.train));
    expect(documentsConll(a.dev)).toBe(documentsConll(b.dev));
    expect(a.dev.length).toBeGreaterThan(2);
    expect(a.dev.length).toBeLessThan(20);
  });

  it('keeps a document on its side as the store grows', () => {
    const small = splitDocuments(docs(30), 0.3, 3);
    const large = splitDocuments(docs(60), 0.3, 3);
    const largeDev = new Set(large.dev.map((d) => d.key));
    for (const d of small.dev) expect(largeDev.has(d.key)).toBe(true);
  });

  it('puts at least one document on each side from two on, and a single one in train', () => {
    expect(splitDocuments(docs(2), 0.01, 1)).toMatchObject({ train: [{}], dev: [{}] });
    const one = splitDocuments(docs(1), 0.99, 1);
    expect([one.train.length, one.dev.length]).toEqual([1, 0]);
  });
});

describe('documentsConll', () => {
  it('writes each document behind its own -DOCSTART-, readable again', () => {
    const d = docs(3);
    expect(groupDocuments(parseConll(documentsConll(d), 'x')).map((x) => x.key)).toEqual(d.map((x) => x.key));
  });
});
