import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AUDIT_MARKER, auditRecord, callerId, inputHmac } from './record.js';

const NOTE = 'Kari Nordmann, født 12.03.1961, MRN 4471-2290: ingen tegn til lungeemboli.';
const key = Buffer.from('k'.repeat(32));
const base = {
  time: new Date('2026-12-06T01:00:00Z'),
  requestId: 'r-1',
  route: '/v1/extract',
  caller: callerId('secret-token-value'),
  model: { name: 'clinical', version: '1.2.0', digest: 'd'.repeat(64) },
  track: 'canary',
  status: 200,
  latencyMs: 12.34,
};

describe('audit record', () => {
  it('names the caller by a prefix of the token hash, never the token', () => {
    const id = callerId('secret-token-value');
    expect(id).toBe(`tok:${createHash('sha256').update('secret-token-value').digest('hex').slice(0, 12)}`);
    expect(callerId(undefined)).toBe('anonymous');
  });

  it('holds model, track, counts, status, latency and per-document HMACs, and no text', () => {
    const r = auditRecord(
      {
        ...base,
        texts: [NOTE, 'Mother had breast cancer.'],
        entities: [
          [
            {
              label: 'DISEASE',
              assertion: { negated: true, certainty: 'certain', temporality: 'current', experiencer: 'patient' },
            },
          ],
          [
            {
              label: 'DISEASE',
              assertion: { negated: false, certainty: 'certain', temporality: 'current', experiencer: 'other' },
            },
          ],
        ],
      },
      key,
    );
    expect(r).toMatchObject({
      [AUDIT_MARKER]: 1,
      time: '2026-12-06T01:00:00.000Z',
      caller: base.caller,
      model: base.model,
      track: 'canary',
      status: 200,
      latencyMs: 12.3,
      documents: 2,
      characters: NOTE.length + 'Mother had breast cancer.'.length,
      entities: { DISEASE: 2 },
      assertions: {
        'negated=true': 1,
        'negated=false': 1,
        'certainty=certain': 2,
        'temporality=current': 2,
        'experiencer=patient': 1,
        'experiencer=other': 1,
      },
    });
    const line = JSON.stringify(r);
    for (const fragment of ['Nordmann', '1961', '4471', 'lungeemboli', 'breast', 'secret-token-value'])
      expect(line).not.toContain(fragment);
  });

  it('gives the same text the same HMAC under one key, and another under another key', () => {
    const a = auditRecord({ ...base, texts: [NOTE] }, key).inputHmacs?.[0];
    const b = auditRecord({ ...base, requestId: 'r-2', texts: [NOTE] }, key).inputHmacs?.[0];
    expect(a).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(a).toBe(b);
    expect(a).toBe(inputHmac(key, NOTE));
    expect(inputHmac(Buffer.from('other key'), NOTE)).not.toBe(a);
    // Without a key, no HMAC (a keyless hash of a short note could be reversed by guessing).
    expect(auditRecord({ ...base, texts: [NOTE] }, undefined).inputHmacs).toBeUndefined();
  });

  it('records a request refused before its body was read with neither counts nor HMACs', () => {
    const r = auditRecord({ ...base, status: 401, caller: 'anonymous' }, key);
    expect(r.documents).toBeUndefined();
    expect(r.inputHmacs).toBeUndefined();
    expect(r.entities).toBeUndefined();
  });
});
