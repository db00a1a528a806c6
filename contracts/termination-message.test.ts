import { describe, expect, it } from 'vitest';
import { sanitizeMessage, STATUS_MESSAGE_LIMIT } from './termination-message.js';

describe('sanitizeMessage', () => {
  it('keeps a short one-line message as it is', () => {
    expect(sanitizeMessage('dataset.conll:12, column 2: not a BIO label')).toBe(
      'dataset.conll:12, column 2: not a BIO label',
    );
  });

  it('turns controls, terminal escapes, bidi overrides and line breaks into single spaces', () => {
    expect(sanitizeMessage('a\nb\r\n\tc\u001b[31md\u202ee\u200bf\u2028g\u0085h')).toBe('a b c [31md e f g h');
  });

  it('caps the length at the limit, marking the cut', () => {
    const out = sanitizeMessage('x'.repeat(10_000));
    expect(out).toHaveLength(STATUS_MESSAGE_LIMIT);
    expect(out.endsWith('…')).toBe(true);
    expect(sanitizeMessage('abcdefghij', 5)).toBe('abcd…');
  });

  it('never leaves half a surrogate pair at the cut', () => {
    const out = sanitizeMessage('abc😀😀😀', 5);
    expect(out).toBe('abc…');
    expect(() => encodeURIComponent(out)).not.toThrow();
  });

  it('is idempotent', () => {
    const once = sanitizeMessage(`a\u0000${'b '.repeat(600)}`);
    expect(sanitizeMessage(once)).toBe(once);
  });
});
