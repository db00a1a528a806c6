import { describe, expect, it } from 'vitest';
import { entityAgreement, shadowEndpoint } from './shadow.js';

const e = (label: string, start: number, end: number) => ({ label, start, end });

describe('entityAgreement', () => {
  it.each([
    ['both empty', [], [], 1],
    ['one empty', [e('D', 0, 3)], [], 0],
    ['identical', [e('D', 0, 3), e('T', 5, 9)], [e('T', 5, 9), e('D', 0, 3)], 1],
    ['label differs', [e('D', 0, 3)], [e('T', 0, 3)], 0],
    ['half overlap', [e('D', 0, 3), e('T', 5, 9)], [e('D', 0, 3)], 2 / 3],
    ['boundary differs', [e('D', 0, 3)], [e('D', 0, 4)], 0],
  ])('%s', (_name, a, b, f1) => {
    expect(entityAgreement(a, b)).toBeCloseTo(f1, 10);
    expect(entityAgreement(b, a)).toBeCloseTo(f1, 10);
  });
});

describe('shadowEndpoint', () => {
  it.each([
    ['http://canary:8080', 'http://canary:8080/v1/extract'],
    ['http://canary:8080/', 'http://canary:8080/v1/extract'],
    ['http://gw/ner', 'http://gw/ner/v1/extract'],
    ['https://gw/ner/v1/extract', 'https://gw/ner/v1/extract'],
  ])('%s -> %s', (input, out) => {
    expect(shadowEndpoint(input).toString()).toBe(out);
  });
  it('refuses non-http URLs', () => {
    expect(() => shadowEndpoint('ftp://x')).toThrow(/http/);
  });
});
