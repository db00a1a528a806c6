import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSERTIONS_FILE, defaultAssertionRules } from '../engine/assertions/index.js';
import { sha256, verifyBundle } from '../engine/bundle/bundle.js';
import { formatConll } from '../engine/corpus/conll.js';
import { trainSmallBundle, type TrainedBundle } from '../testing/fixtures.js';
import { generateNotes, writeConll } from './synthetic.js';
import {
  checkLabelSet,
  inheritedTrainOptions,
  localPath,
  readContract,
  RetrainError,
  runRetrain,
  splitHeldOut,
  type RetrainContract,
} from './retrain-job.js';

let root: string;
let base: TrainedBundle;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nerops-retrain-test-'));
  const lexicon = join(root, 'formulary.tsv');
  await writeFile(lexicon, 'DRUG\tmetformin\nDRUG\tdoxycycline\nDISEASE\tLyme disease\nDISEASE\tasthma\n');
  // A base with non-default training choices: the retrained model must be built the same way.
  base = await trainSmallBundle({
    seed: 3,
    count: 150,
    epochs: 2,
    name: 'clinical',
    version: '1.0.0',
    assertionRules: defaultAssertionRules('nb'),
    train: {
      features: { subwords: true, abbreviations: true, shortFormContext: 4, lexiconFiles: [lexicon] },
      members: { missedEntityCost: 0.5, c2: 0.25 },
    },
  });
}, 120_000);
afterAll(async () => {
  await base?.remove();
  await rm(root, { recursive: true, force: true });
});

function contract(over: Partial<RetrainContract> = {}): RetrainContract {
  return {
    baseModelUri: pathToFileURL(base.dir).href,
    baseModelDigest: base.digest,
    datasetUri: '',
    outputUri: '',
    runId: 'run-1',
    ...over,
  };
}

describe('retrain job', () => {
  it('reads the contract env and refuses an incomplete one', () => {
    expect(() => readContract({ NEROPS_RUN_ID: 'x' })).toThrow(
      /missing contract env NEROPS_BASE_MODEL_URI, NEROPS_DATASET_URI, NEROPS_OUTPUT_URI/,
    );
    expect(
      readContract({
        NEROPS_BASE_MODEL_URI: 'file:///m',
        NEROPS_DATASET_URI: 'pvc://d/x',
        NEROPS_OUTPUT_URI: 'file:///o',
        NEROPS_RUN_ID: 'r1',
        NEROPS_BASE_MODEL_DIGEST: 'sha256:' + 'A'.repeat(64),
      }),
    ).toMatchObject({ baseModelDigest: 'a'.repeat(64), runId: 'r1' });
    expect(() =>
      readContract({
        NEROPS_BASE_MODEL_URI: 'm',
        NEROPS_DATASET_URI: 'd',
        NEROPS_OUTPUT_URI: 'o',
        NEROPS_RUN_ID: '../x',
      }),
    ).toThrow(/not a safe name/);
  });

  it.each([
    ['file:///data/a.conll', '/data/a.conll'],
    ['pvc://claim/dir/a.conll', '/root/claim/dir/a.conll'],
    ['/plain/path', '/plain/path'],
    ['pvc://claim/../etc', undefined],
    ['s3://bucket/key', undefined],
  ])('localPath(%s) = %s', (uri, want) => {
    expect(localPath(uri, '/root')).toBe(want);
  });

  it('inherits the base bundle feature groups and training choices, not its dense branch, epochs or gazetteer', () => {
    const features = { featureVersion: 3, bucketBits: 16, clusters: false, gazetteer: true, subwords: true, slots: 49 };
    const crf = { features } as never;
    expect(
      inheritedTrainOptions({
        crf,
        training: { tagScheme: 'bio', c2: 2, missedEntityCost: 1, epochs: 12, dense: { hidden: 64 } },
      }),
    ).toEqual({
      corpus: { tagScheme: 'bio' },
      features: { bucketBits: 16, subwords: true },
      members: { c2: 2, missedEntityCost: 1 },
    });
    // Older bundles record no recall cost (nor tag scheme): the trainer's defaults apply.
    expect(
      inheritedTrainOptions({
        crf: { features: { featureVersion: 2, bucketBits: 18, clusters: false, slots: 29 } } as never,
      }),
    ).toEqual({ features: { bucketBits: 18 } });
    // Abbreviation features carry their short-form reuse, or its absence (a version-3 base stays version 3).
    const abbreviations = {
      featureVersion: 4,
      bucketBits: 18,
      clusters: false,
      abbreviations: true,
      shortFormContext: 7,
      slots: 31,
    };
    expect(inheritedTrainOptions({ crf: { features: abbreviations } as never })).toEqual({
      features: { bucketBits: 18, abbreviations: true, shortFormContext: 7 },
    });
    expect(
      inheritedTrainOptions({
        crf: { features: { ...abbreviations, featureVersion: 3, shortFormContext: undefined } } as never,
      }),
    ).toEqual({ features: { bucketBits: 18, abbreviations: true, shortFormContext: false } });
    // A token-classification (transformer) base has no crf section: the CRF trainer's defaults apply.
    expect(inheritedTrainOptions({})).toEqual({});
  });

  it('holds out every 5th sentence', () => {
    expect(splitHeldOut([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])).toEqual({ train: [0, 1, 2, 3, 5, 6, 7, 8], dev: [4, 9] });
  });

  it('names the file and line of an entity type the base model does not know', () => {
    const sentences = [
      { tokens: ['a', 'b'], labels: ['O', 'B-DISEASE'], line: 1 },
      { tokens: ['c', 'd', 'e'], labels: ['B-TREATMENT', 'O', 'B-GENE'], line: 4 },
    ];
    expect(() => checkLabelSet('x.conll', sentences, ['DISEASE', 'TREATMENT'])).toThrow(
      "x.conll:6, column 2 (label): the entity type is not one of the base model's types [DISEASE, TREATMENT]",
    );
    expect(() => checkLabelSet('x.conll', sentences.slice(0, 1), ['DISEASE', 'TREATMENT'])).toThrow(
      /TREATMENT do not occur/,
    );
  });

  it('trains on a dataset, evaluates new and base model on the same held-out data, writes the bundle', async () => {
    const dataset = join(root, 'data.conll');
    await writeConll(dataset, generateNotes({ count: 150, seed: 99, vocabulary: 'shifted' }));
    const out = join(root, 'out', 'run-1');
    const r = await runRetrain(
      contract({ datasetUri: pathToFileURL(dataset).href, outputUri: pathToFileURL(out).href }),
      { workDir: join(root, 'work'), epochs: 2, select: 'off' },
    );
    expect(r).toMatchObject({
      outcome: 'Succeeded',
      bundleUri: pathToFileURL(out).href,
      format: 'crf',
      entityTypes: ['DISEASE', 'TREATMENT'],
      datasetDigest: sha256(await readFile(dataset)),
      metrics: { sentences: 30 },
    });
    expect(sha256(await readFile(join(out, 'ner-model.json')))).toBe(r.digest);
    expect(r.metrics?.new.micro.f1).toBeGreaterThan(0);
    expect(r.metrics?.base?.micro.f1).toBeGreaterThanOrEqual(0);
    expect(r.evaluationId).toMatch(/^run-1-[0-9a-f]{12}$/);
    const trained = (await verifyBundle(out)).manifest;
    expect(trained.crf?.features).toMatchObject({
      featureVersion: 6,
      subwords: true,
      abbreviations: true,
      shortFormContext: 4,
      gazetteer: true,
      lexicon: true,
    });
    expect(trained.training).toMatchObject({
      missedEntityCost: 0.5,
      c2: 0.25,
      tagScheme: 'bioes',
      lexicon: { inherited: true, phrases: 4, types: ['DISEASE', 'DRUG'] },
    });
    // The Job has no lexicon files: it keeps the base model's, byte for byte.
    expect(await readFile(join(out, 'lexicon.tsv'), 'utf8')).toBe(
      await readFile(join(base.dir, 'lexicon.tsv'), 'utf8'),
    );
    // And its assertion rules, byte for byte.
    expect(trained.assertions).toEqual({ language: 'nb', file: ASSERTIONS_FILE });
    expect(await readFile(join(out, ASSERTIONS_FILE), 'utf8')).toBe(
      await readFile(join(base.dir, ASSERTIONS_FILE), 'utf8'),
    );
    // A second run into the same output with another bundle is refused.
    await expect(
      runRetrain(contract({ datasetUri: pathToFileURL(dataset).href, outputUri: pathToFileURL(out).href }), {
        workDir: join(root, 'work2'),
        epochs: 1,
        select: 'off',
        seed: 5,
      }),
    ).rejects.toMatchObject({ reason: 'OutputUnavailable' });
  }, 120_000);

  it('by default chooses the setup on folds of the new data, keeping the base L2, tag scheme and lexicon', async () => {
    const dataset = join(root, 'data-select.conll');
    await writeConll(dataset, generateNotes({ count: 150, seed: 94, vocabulary: 'shifted' }));
    const out = join(root, 'out', 'run-select');
    const r = await runRetrain(
      contract({ datasetUri: pathToFileURL(dataset).href, outputUri: pathToFileURL(out).href, runId: 'run-select' }),
      { workDir: join(root, 'work-select'), epochs: 2 },
    );
    expect(r.outcome).toBe('Succeeded');
    const training = (await verifyBundle(out)).manifest.training as Record<string, unknown>;
    expect(training).toMatchObject({ c2: 0.25, tagScheme: 'bioes', lexicon: { inherited: true, phrases: 4 } });
    const selection = training['selection'] as { folds: number; chosen: Record<string, unknown>; foldF1: number };
    expect(selection.folds).toBe(3);
    // The epochs the Job was given are fixed; the rest was chosen on the new data.
    expect(selection.chosen).toMatchObject({ epochs: 2 });
    expect(training['missedEntityCost']).toBe(selection.chosen['missedEntityCost']);
    expect(selection.foldF1).toBeGreaterThan(0);
  }, 120_000);

  it('a malformed dataset fails before training with file:line', async () => {
    const dataset = join(root, 'bad.conll');
    await writeFile(dataset, 'Patient\tO\nhas\tO\ndiabetes\tB-DISEASE extra\n\n');
    const err = await runRetrain(contract({ datasetUri: dataset, outputUri: join(root, 'never') }), {
      workDir: join(root, 'work3'),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetrainError);
    expect(err).toMatchObject({
      reason: 'InvalidDataset',
      message: expect.stringContaining(`${dataset}:3, column 2 (label):`),
    });
  }, 60_000);

  it('fetches an http(s) dataset (one file, or a directory URL with train.conll and dev.conll); errors name the URL and line', async () => {
    const files: Record<string, string> = {
      '/data.conll': formatConll(generateNotes({ count: 100, seed: 98, vocabulary: 'shifted' })),
      '/split/train.conll': formatConll(generateNotes({ count: 80, seed: 97 })),
      '/split/dev.conll': formatConll(generateNotes({ count: 20, seed: 96 })),
      '/bad.conll': 'Patient\tO\nhas\tO\ndiabetes\tB-DISEASE extra\n\n',
    };
    const server = createServer((req, res) => {
      const body = files[req.url ?? ''];
      res.writeHead(body === undefined ? 404 : 200).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const one = await runRetrain(
        contract({ datasetUri: `${url}/data.conll`, outputUri: join(root, 'http-1'), runId: 'http-1' }),
        { workDir: join(root, 'work-http-1'), epochs: 1, select: 'off' },
      );
      expect(one).toMatchObject({
        outcome: 'Succeeded',
        datasetDigest: sha256(Buffer.from(files['/data.conll'] as string)),
        metrics: { sentences: 20 },
      });
      const split = await runRetrain(
        contract({ datasetUri: `${url}/split/`, outputUri: join(root, 'http-2'), runId: 'http-2' }),
        { workDir: join(root, 'work-http-2'), epochs: 1, select: 'off' },
      );
      expect(split).toMatchObject({ outcome: 'Succeeded', metrics: { sentences: 20 } });
      const bad = await runRetrain(contract({ datasetUri: `${url}/bad.conll`, outputUri: join(root, 'never') }), {
        workDir: join(root, 'work-http-3'),
      }).catch((e: unknown) => e);
      expect(bad).toMatchObject({
        reason: 'InvalidDataset',
        message: expect.stringContaining(`${url}/bad.conll:3, column 2 (label):`),
      });
      const missing = await runRetrain(contract({ datasetUri: `${url}/nope.conll`, outputUri: join(root, 'never') }), {
        workDir: join(root, 'work-http-4'),
      }).catch((e: unknown) => e);
      expect(missing).toMatchObject({ reason: 'InvalidDataset', message: expect.stringContaining('HTTP 404') });
    } finally {
      server.close();
    }
  }, 120_000);

  it('sends the model store token for an http(s) base model and a same-origin dataset, never to another origin', async () => {
    const tokenFile = join(root, 'token');
    await writeFile(tokenFile, 's3cret\n');
    const seen: Array<{ port: number; path: string; auth: string | undefined }> = [];
    const dataset = formatConll(generateNotes({ count: 50, seed: 95 }));
    const serve = (requireToken: boolean) =>
      createServer(async (req, res) => {
        const port = (req.socket.localPort ?? 0) as number;
        seen.push({ port, path: req.url ?? '', auth: req.headers.authorization });
        if (requireToken && req.headers.authorization !== 'Bearer s3cret') return void res.writeHead(401).end();
        if (req.url === '/data.conll') return void res.writeHead(200).end(dataset);
        const file = await readFile(join(base.dir, (req.url ?? '').replace('/model/', ''))).catch(() => undefined);
        res.writeHead(file ? 200 : 404).end(file);
      });
    const store = serve(true);
    const other = serve(false);
    await Promise.all([store, other].map((srv) => new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))));
    const storeUrl = `http://127.0.0.1:${(store.address() as AddressInfo).port}`;
    const otherPort = (other.address() as AddressInfo).port;
    try {
      // Plain http on loopback: the opt-in the operator passes for spec.source.allowInsecureHttp.
      const opts = { epochs: 1, select: 'off' as const, modelTokenFile: tokenFile, modelAllowInsecureHttp: true };
      const same = await runRetrain(
        contract({
          baseModelUri: `${storeUrl}/model/`,
          datasetUri: `${storeUrl}/data.conll`,
          outputUri: join(root, 'tok-1'),
          runId: 'tok-1',
        }),
        { ...opts, workDir: join(root, 'work-tok-1') },
      );
      expect(same.outcome).toBe('Succeeded');
      const elsewhere = await runRetrain(
        contract({
          baseModelUri: `${storeUrl}/model/`,
          datasetUri: `http://127.0.0.1:${otherPort}/data.conll`,
          outputUri: join(root, 'tok-2'),
          runId: 'tok-2',
        }),
        { ...opts, workDir: join(root, 'work-tok-2') },
      );
      expect(elsewhere.outcome).toBe('Succeeded');
      expect(seen.filter((r) => r.port !== otherPort).every((r) => r.auth === 'Bearer s3cret')).toBe(true);
      expect(seen.filter((r) => r.port === otherPort).map((r) => r.auth)).toEqual([undefined]);
    } finally {
      store.close();
      other.close();
    }
  }, 120_000);

  it('a wrong base model digest fails as BaseModelUnavailable', async () => {
    const err = await runRetrain(
      contract({ baseModelDigest: 'f'.repeat(64), datasetUri: '/nonexistent', outputUri: '/nonexistent' }),
      { workDir: join(root, 'work4') },
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'BaseModelUnavailable' });
  }, 60_000);
});
