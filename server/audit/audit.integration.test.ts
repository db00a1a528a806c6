/**
 * The audit log of a real server on a trained bundle: one line per inference request on its own sink (a
 * file here), with the caller's token id, model, track, counts, status and per-document keyed HMACs; the
 * same note gives the same HMAC; a request refused before its body is audited without counts; and a
 * distinctive note, its entities and the token never appear in the audit file or the operational log.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogger, postJson, trainSmallBundle, type TrainedBundle } from '../../testing/fixtures.js';
import { startServer, type RunningServer } from '../main.js';
import { SHADOW_HEADER } from '../shadow.js';
import { inputHmac, type AuditRecord } from './record.js';

const TOKEN = 'audit-test-token-7f3a';
const KEY = Buffer.from('an audit key of more than sixteen bytes');
// Distinctive: a made-up name and MRN around words the small model tags.
const NOTE = 'Ragnhild Aasvangen MRN 88120457 was started on metformin for type 2 diabetes.';

let bundle: TrainedBundle;
let dir: string;
let server: RunningServer;
let logLines: string[];
const auditFile = () => join(dir, 'audit.log');

async function records(count: number): Promise<AuditRecord[]> {
  // The record is written when the response has finished: wait for it.
  for (let i = 0; i < 100; i++) {
    const text = await readFile(auditFile(), 'utf8').catch(() => '');
    const lines = text.trim() ? text.trim().split('\n') : [];
    if (lines.length >= count) return lines.map((l) => JSON.parse(l) as AuditRecord);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`fewer than ${count} audit records`);
}

beforeAll(async () => {
  bundle = await trainSmallBundle();
  dir = await mkdtemp(join(tmpdir(), 'nerops-audit-'));
  await writeFile(join(dir, 'tokens'), createHash('sha256').update(TOKEN).digest('hex') + '\n');
  const cap = captureLogger();
  logLines = cap.lines;
  server = await startServer({
    model: bundle.dir,
    host: '127.0.0.1',
    port: 0,
    logger: cap.logger,
    authTokenFile: join(dir, 'tokens'),
    labels: { track: 'canary' },
    audit: { sink: { kind: 'file', path: auditFile() }, hmacKey: KEY },
  });
  await server.app.ready;
});

afterAll(async () => {
  await server?.shutdown('test done');
  await bundle?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('audit log', () => {
  it('records each inference request without text, and the same note gives the same HMAC', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const a = await postJson(`${server.url}/v1/extract`, { text: NOTE }, auth);
    expect(a.status).toBe(200);
    const entities = (a.json as { entities: Array<{ label: string; text: string }> }).entities;
    expect(entities.length).toBeGreaterThan(0);
    const b = await postJson(
      `${server.url}/v1/extract`,
      { documents: [{ id: 'x', text: NOTE }] },
      {
        ...auth,
        [SHADOW_HEADER]: '1',
      },
    );
    expect(b.status).toBe(200);
    const denied = await postJson(`${server.url}/v1/extract`, { text: NOTE });
    expect(denied.status).toBe(401);

    const [first, second, third] = await records(3);
    const tokenId = `tok:${createHash('sha256').update(TOKEN).digest('hex').slice(0, 12)}`;
    const labels: Record<string, number> = {};
    for (const e of entities) labels[e.label] = (labels[e.label] ?? 0) + 1;
    expect(first).toMatchObject({
      nerops_audit: 1,
      route: '/v1/extract',
      caller: tokenId,
      model: { name: server.engine.info.name, digest: server.engine.info.digest },
      track: 'canary',
      status: 200,
      documents: 1,
      characters: NOTE.length,
      entities: labels,
      inputHmacs: [inputHmac(KEY, NOTE)],
    });
    expect(first!.requestId).toBe(a.headers.get('x-request-id'));
    expect(second).toMatchObject({ track: 'shadow', inputHmacs: first!.inputHmacs });
    expect(third).toMatchObject({ caller: 'anonymous', status: 401 });
    expect(third!.documents).toBeUndefined();

    const everything = (await readFile(auditFile(), 'utf8')) + logLines.join('\n');
    for (const fragment of ['Ragnhild', 'Aasvangen', '88120457', TOKEN, ...entities.map((e) => e.text)])
      expect(everything).not.toContain(fragment);
    // The operational log stays apart: no audit line in it.
    expect(logLines.join('\n')).not.toContain('nerops_audit');
  });
});
