import { describe, expect, it } from 'vitest';
import { feedbackManifestSchema } from '../../contracts/feedback-store.js';
import {
  afterWrite,
  emptyWriterState,
  manifestJson,
  planGroup,
  sealOpen,
  segmentFile,
  type WriterState,
} from './segments.js';

const limits = { segmentBytes: 100, maxBytes: 250 };
const H = (c: string) => c.repeat(64);

function withOpen(bytes: number): WriterState {
  return {
    manifestVersion: 1,
    writer: 'pod-a.1234abcd',
    segments: [{ file: segmentFile('pod-a.1234abcd', 1), documents: 2, bytes, sha256: H('a'), sealed: false }],
  };
}

describe('planGroup', () => {
  it('starts the first segment for the first documents', () => {
    expect(planGroup(emptyWriterState('w.1'), [10, 20], 0, limits)).toEqual({
      kind: 'write',
      take: 2,
      roll: true,
      file: 'w.1-000001.conll',
    });
  });

  it('appends to the open segment while documents fit, and stops at the first that does not', () => {
    expect(planGroup(withOpen(50), [20, 20, 20, 5], 0, limits)).toMatchObject({ kind: 'write', take: 2, roll: false });
  });

  it('rolls to the next segment when the first pending document does not fit the open one', () => {
    expect(planGroup(withOpen(90), [20], 0, limits)).toEqual({
      kind: 'write',
      take: 1,
      roll: true,
      file: 'pod-a.1234abcd-000002.conll',
    });
  });

  it('gives a document larger than a segment a segment of its own', () => {
    expect(planGroup(emptyWriterState('w.1'), [150, 10], 0, limits)).toMatchObject({ take: 1, roll: true });
  });

  it('refuses at the store cap, counting the other writers', () => {
    expect(planGroup(withOpen(50), [20], 190, limits)).toEqual({ kind: 'full', usedBytes: 240 });
    expect(planGroup(withOpen(50), [10, 10], 180, limits)).toMatchObject({ kind: 'write', take: 2 });
    expect(planGroup(withOpen(50), [10, 10, 10], 180, limits)).toMatchObject({ kind: 'write', take: 2 });
  });

  it('rolls after a failed write sealed the open segment', () => {
    expect(planGroup(sealOpen(withOpen(10)), [10], 0, limits)).toMatchObject({ roll: true, file: /-000002\.conll$/ });
  });
});

describe('afterWrite', () => {
  it('grows the open segment', () => {
    const plan = planGroup(withOpen(50), [10, 10], 0, limits);
    if (plan.kind !== 'write') throw new Error('expected a write');
    expect(afterWrite(withOpen(50), plan, { bytes: 20, documents: 2, sha256: H('b') }).segments).toEqual([
      { file: 'pod-a.1234abcd-000001.conll', documents: 4, bytes: 70, sha256: H('b'), sealed: false },
    ]);
  });

  it('seals the open segment and opens the next on a roll', () => {
    const plan = planGroup(withOpen(95), [10], 0, limits);
    if (plan.kind !== 'write') throw new Error('expected a write');
    const next = afterWrite(withOpen(95), plan, { bytes: 10, documents: 1, sha256: H('c') });
    expect(next.segments.map((s) => [s.file, s.bytes, s.documents, s.sealed])).toEqual([
      ['pod-a.1234abcd-000001.conll', 95, 2, true],
      ['pod-a.1234abcd-000002.conll', 10, 1, false],
    ]);
  });
});

describe('manifestJson', () => {
  it('round-trips through the contract schema', () => {
    const state = sealOpen(withOpen(42));
    expect(feedbackManifestSchema.parse(JSON.parse(manifestJson(state)))).toEqual(state);
  });
});
