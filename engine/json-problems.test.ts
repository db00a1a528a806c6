import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { issueWhere, parseJsonFile, schemaProblem } from './json-problems.js';

const MARKER = 'Zyxwvut Qqqmarker';

describe('parseJsonFile', () => {
  it('names the file, not the text around the fault', () => {
    expect(() => parseJsonFile(`{"a": ${MARKER}}`, 'profile.json')).toThrow(/^profile\.json is not valid JSON$/);
  });
});

describe('issueWhere / schemaProblem', () => {
  const schema = z.object({
    files: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
    labels: z.array(z.enum(['O', 'B-X'])),
    kind: z.enum(['crf']),
  });

  it('keeps indices and schema property names', () => {
    const r = schema.safeParse({ files: {}, labels: ['O', MARKER], kind: 'crf' });
    expect(issueWhere(schema, r.error?.issues[0])).toBe('labels[1]');
    const nested = z.object({ crf: z.object({ dense: z.object({ file: z.string() }).optional() }) });
    expect(issueWhere(nested, nested.safeParse({ crf: { dense: { file: 1 } } }).error?.issues[0])).toBe(
      'crf.dense.file',
    );
  });

  it('hides record keys and values', () => {
    for (const input of [
      { files: { [MARKER]: MARKER }, labels: [], kind: 'crf' },
      { files: { zyxwvutqqqmarker: 'x' }, labels: [], kind: 'crf' },
      { files: {}, labels: [], kind: MARKER },
    ]) {
      const message = schemaProblem('manifest.json', schema, schema.safeParse(input).error?.issues[0]);
      expect(message).toMatch(/^manifest\.json is invalid at '/);
      expect(message).not.toMatch(/Qqqmarker/i);
      expect(message).toMatch(/at '(files\.\*|kind)'/);
    }
  });
});
