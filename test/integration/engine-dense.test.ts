/**
 * The wide & deep model end to end: embeddings learned from unlabeled text, the MLP branch in the ONNX
 * graph, its vocabulary pinned in the bundle, deterministic digests, tamper detection.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleVerificationError, verifyBundle } from '../../engine/bundle/bundle.js';
import { loadEngine } from '../../engine/bundle/load.js';
import { generateNotes, writeConll } from '../../trainer/synthetic.js';
import { trainBundle, type TrainOptions } from '../../trainer/train.js';

let dir: string;
let options: TrainOptions;
let digest: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nerops-dense-'));
  await writeConll(join(dir, 'train.conll'), generateNotes({ count: 300, seed: 21 }));
  await writeConll(join(dir, 'dev.conll'), generateNotes({ count: 80, seed: 22 }));
  await writeFile(
    join(dir, 'unlabeled.txt'),
    generateNotes({ count: 300, seed: 23 })
      .map((n) => n.text)
      .join('\n') + '\n',
  );
  options = {
    corpus: {
      trainFile: join(dir, 'train.conll'),
      devFile: join(dir, 'dev.conll'),
      unlabeledFiles: [join(dir, 'unlabeled.txt')],
    },
    features: { dense: { embeddingDim: 16 } },
    members: { epochs: 4, seed: 5, ensemble: 2, mlp: { hidden: 8 } },
    export: { outDir: join(dir, 'model'), name: 'dense' },
  };
  digest = (await trainBundle(options)).digest;
});

/** The same training options, writing the bundle to `outDir`. */
const into = (outDir: string, more: Partial<TrainOptions> = {}): TrainOptions => ({
  ...options,
  export: { ...options.export, outDir },
  ...more,
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a wide & deep crf bundle', () => {
  it('pins the embedding vocabulary and describes the dense branch in the manifest', async () => {
    const v = await verifyBundle(options.export.outDir);
    // The linear member beside the wide & deep ones brings the gazetteer (on whenever a linear CRF trains).
    expect(Object.keys(v.manifest.files).sort()).toEqual([
      'embedding-vocab.txt',
      'gazetteer.tsv',
      'metrics.json',
      'model.onnx',
      'profile.json',
      'vocab.txt',
    ]);
    expect(v.manifest.crf?.dense).toMatchObject({
      window: 5,
      embeddingDim: 16,
      hidden: 16,
      ensemble: 2,
      vocabulary: { file: 'embedding-vocab.txt' },
    });
    expect(v.manifest.training?.['linearMembers']).toEqual({ count: 1, epochs: 40 });
    const metrics = JSON.parse(await readFile(join(options.export.outDir, 'metrics.json'), 'utf8'));
    expect(metrics.micro.f1).toBeGreaterThan(0.85);
  });

  it('extracts entities through ONNX Runtime with exact offsets', async () => {
    const engine = await loadEngine(options.export.outDir);
    try {
      const text = 'Admitted with community-acquired pneumonia, treated with ceftriaxone and discharged on day 4.';
      const r = await engine.extract(text);
      expect(r.entities.map((e) => e.label)).toEqual(['DISEASE', 'TREATMENT']);
      for (const e of r.entities) expect(text.slice(e.start, e.end)).toBe(e.text);
      const notes = generateNotes({ count: 10, seed: 99 }).map((n) => n.text);
      const batch = await engine.extractBatch(notes);
      for (let i = 0; i < notes.length; i++) expect(await engine.extract(notes[i] as string)).toEqual(batch[i]);
    } finally {
      await engine.close();
    }
  });

  it('is deterministic: same data and seed give the same digest', async () => {
    const again = await trainBundle(into(join(dir, 'again')));
    expect(again.digest).toBe(digest);
  });

  it('logs every epoch of every member with its dev F1 when someone reads the log, and trains the same model', async () => {
    const lines: string[] = [];
    const logged = await trainBundle(into(join(dir, 'logged'), { log: (l) => lines.push(l) }));
    const epochs = lines.filter((l) => l.startsWith('epoch '));
    // 2 wide & deep members × 4 epochs, then the linear member's 40.
    expect(epochs).toHaveLength(2 * 4 + 40);
    for (const l of epochs) expect(l).toMatch(/dev F1 [01]\.\d{4}$/);
    expect(logged.digest).toBe(digest);
  });

  it('refuses to learn embeddings from the dev text it reports held-out numbers on', async () => {
    await expect(
      trainBundle(
        into(join(dir, 'leak'), {
          corpus: { ...options.corpus, unlabeledFiles: [options.corpus.devFile as string] },
        }),
      ),
    ).rejects.toThrow(/must not see it/);
  });

  it('refuses a tampered embedding vocabulary', async () => {
    const file = join(options.export.outDir, 'embedding-vocab.txt');
    const original = await readFile(file, 'utf8');
    await writeFile(file, original.replace(/^[^\n]+\n/, 'tampered\n'));
    try {
      await expect(loadEngine(options.export.outDir)).rejects.toThrow(BundleVerificationError);
      await expect(loadEngine(options.export.outDir)).rejects.toThrow(/embedding-vocab\.txt was modified/);
    } finally {
      await writeFile(file, original);
    }
  });
});
