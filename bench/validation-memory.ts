/**
 * Validation Job memory (issue 21, "Bounded Jobs"): peak RSS of `ner-ops validate` evaluating a small trained
 * bundle on a synthetic CoNLL dataset of about `--mb` megabytes. The goal is under 512 MiB for 20 MB.
 *
 *   npm run bench:validation-memory -- [--mb 20] [--cli dist/cli/ner-ops.js] [--no-profile]
 *
 * `--cli` runs another build of the CLI (e.g. an older checkout's dist) for a before/after comparison.
 * `--no-profile` removes the bundle's drift baseline, so validation also measures one on the dataset (a
 * second pass). Peak RSS is the child's maximum resident set size from `/usr/bin/time -v`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { MANIFEST_FILE } from '../contracts/bundle-manifest.js';
import { canonicalJson, sha256 } from '../engine/bundle/bundle.js';
import { formatConll } from '../engine/corpus/conll.js';
import { trainSmallBundle } from '../testing/fixtures.js';
import { generateNotes } from '../trainer/synthetic.js';

const { values: v } = parseArgs({
  options: {
    mb: { type: 'string', default: '20' },
    cli: { type: 'string' },
    'no-profile': { type: 'boolean', default: false },
  },
});
const targetBytes = Number(v.mb) * 1024 * 1024;
const cli = resolve(v.cli ?? join(fileURLToPath(new URL('.', import.meta.url)), '..', 'cli', 'ner-ops.js'));

/** Without its drift baseline, validation measures one on the dataset: re-pin the manifest without profile.json. */
async function dropProfile(dir: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')) as { files: Record<string, string> };
  delete manifest.files['profile.json'];
  const text = canonicalJson(manifest);
  await writeFile(join(dir, MANIFEST_FILE), text);
  return sha256(text);
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'nerops-bench-validation-'));
  const bundle = await trainSmallBundle({ seed: 7, epochs: 2, count: 200 });
  try {
    const digest = v['no-profile'] ? await dropProfile(bundle.dir) : bundle.digest;
    const dataset = join(work, 'dataset.conll');
    await writeFile(dataset, '');
    let size = 0;
    let seed = 1;
    while (size < targetBytes) {
      const text = formatConll(generateNotes({ count: 2000, seed: seed++ }));
      await appendFile(dataset, text);
      size += Buffer.byteLength(text);
    }
    const tokens = (await readFile(dataset, 'utf8')).split('\n').filter((l) => l.trim() !== '').length;
    const args = ['-v', process.execPath, cli, 'validate', bundle.dir, '--digest', digest, '--dataset', dataset];
    args.push('--termination-log', join(work, 'result.json'));
    const started = performance.now();
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = spawn('/usr/bin/time', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('close', (c) => done({ code: c, stderr: err }));
    });
    const seconds = (performance.now() - started) / 1000;
    const peakKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? NaN);
    const result = JSON.parse(await readFile(join(work, 'result.json'), 'utf8')) as {
      outcome: string;
      metrics?: { micro: { f1: number }; sentences: number };
    };
    console.log(
      JSON.stringify(
        {
          cli,
          datasetMiB: Math.round(((await stat(dataset)).size / 1024 / 1024) * 10) / 10,
          tokens,
          sentences: result.metrics?.sentences,
          profileMeasured: v['no-profile'],
          exitCode: code,
          outcome: result.outcome,
          microF1: result.metrics?.micro.f1,
          peakRssMiB: Math.round((peakKb / 1024) * 10) / 10,
          seconds: Math.round(seconds * 10) / 10,
          goalMiB: 512,
        },
        null,
        1,
      ),
    );
  } finally {
    await bundle.remove();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
