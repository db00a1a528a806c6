import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { auditRecord } from './record.js';
import { createAuditSink, parseAuditSinkSpec } from './sink.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const record = (i: number) =>
  auditRecord(
    {
      time: new Date(0),
      requestId: `r-${i}`,
      route: '/v1/extract',
      caller: 'anonymous',
      model: { name: 'm', version: '1', digest: 'd' },
      track: 'stable',
      status: 200,
      latencyMs: 1,
    },
    undefined,
  );

describe('audit sink', () => {
  it('parses the flag', () => {
    expect(parseAuditSinkSpec('stdout')).toEqual({ kind: 'stdout' });
    expect(parseAuditSinkSpec('off')).toEqual({ kind: 'off' });
    expect(parseAuditSinkSpec('file:/var/log/nerops/audit.log')).toEqual({
      kind: 'file',
      path: '/var/log/nerops/audit.log',
    });
    expect(() => parseAuditSinkSpec('file:relative.log')).toThrow(/file:\/absolute\/path/);
    expect(() => parseAuditSinkSpec('syslog')).toThrow(/expected off, stdout or file/);
  });

  it('appends one JSON line per record and rotates by size, keeping the newest files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nerops-audit-'));
    dirs.push(dir);
    const path = join(dir, 'audit.log');
    const lineBytes = JSON.stringify(record(0)).length + 1;
    const sink = createAuditSink({ kind: 'file', path }, { maxBytes: lineBytes * 3, keep: 2 })!;
    for (let i = 0; i < 10; i++) sink.write(record(i));
    await sink.close();
    const ids = (p: string) =>
      readFileSync(p, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { requestId: string }).requestId);
    expect(ids(path)).toEqual(['r-9']);
    expect(ids(`${path}.1`)).toEqual(['r-6', 'r-7', 'r-8']);
    expect(ids(`${path}.2`)).toEqual(['r-3', 'r-4', 'r-5']);
    expect(existsSync(`${path}.3`)).toBe(false);
  });
});
