/**
 * `ner-ops delete-bundles` against a real directory standing in for the mounted claims ($NEROPS_PVC_ROOT):
 * what it deletes, what it refuses (and then deletes nothing), and that a second run is a success.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import deleteBundlesCommand, { deleteBundles } from './delete-bundles.js';
import { decodeDeleteBundlesResult } from '../../contracts/bundle-cleanup.js';

let root: string;
const runs = () => join(root, 'models', 'runs');

/** A bundle directory with a manifest, as `ner-ops retrain` leaves it. */
async function bundle(...path: string[]): Promise<string> {
  const dir = join(root, ...path);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'ner-model.json'), '{}');
  await writeFile(join(dir, 'model.onnx'), 'x');
  return dir;
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'nerops-delete-bundles-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const within = 'pvc://models/runs';

describe('deleteBundles', () => {
  it('deletes the listed bundles inside the prefix and leaves their neighbours', async () => {
    const [a, b, kept] = await Promise.all([
      bundle('models', 'runs', 'r1'),
      bundle('models', 'runs', 'r2'),
      bundle('models', 'runs', 'r3'),
    ]);
    const r = await deleteBundles({
      within,
      bundles: ['pvc://models/runs/r1', 'pvc://models/runs/r2/'],
      keep: ['pvc://models/runs/r3'],
      pvcRoot: root,
    });
    expect(r).toEqual({ resultVersion: 1, outcome: 'Succeeded', deleted: 2, alreadyGone: 0, refused: 0 });
    expect([existsSync(a), existsSync(b), existsSync(join(kept, 'ner-model.json'))]).toEqual([false, false, true]);
  });

  it('is idempotent: bundles already gone (or a prefix never written) count as done', async () => {
    await bundle('models', 'runs', 'r1');
    const req = { within, bundles: ['pvc://models/runs/r1', 'pvc://models/runs/r9'], keep: [], pvcRoot: root };
    expect(await deleteBundles(req)).toMatchObject({ outcome: 'Succeeded', deleted: 1, alreadyGone: 1 });
    expect(await deleteBundles(req)).toMatchObject({ outcome: 'Succeeded', deleted: 0, alreadyGone: 2 });
    expect(await deleteBundles({ ...req, within: 'pvc://other/runs', bundles: ['pvc://other/runs/r1'] })).toMatchObject(
      { outcome: 'Succeeded', deleted: 0, alreadyGone: 1 },
    );
  });

  it.each([
    ['outside the prefix', 'pvc://models/base/1.0.0', [], 'OutsideOutput'],
    ['the prefix itself', 'pvc://models/runs', [], 'OutsideOutput'],
    ['another claim', 'pvc://datasets/runs/r1', [], 'OutsideOutput'],
    ['a parent reference', 'pvc://models/runs/../base', [], 'NotPvc'],
    ['another scheme', 'file:///tmp/runs/r1', [], 'NotPvc'],
    ['still referenced', 'pvc://models/runs/r1', ['pvc://models/runs/r1'], 'Referenced'],
    ['containing a referenced location', 'pvc://models/runs/r1', ['pvc://models/runs/r1/sub'], 'Referenced'],
    // A model referencing the whole prefix holds every bundle in it.
    ['inside a referenced location', 'pvc://models/runs/r1', ['pvc://models/runs'], 'Referenced', 2],
  ] as Array<[string, string, string[], string, number?]>)(
    'refuses a bundle %s and then deletes nothing',
    async (_what, refused, keep, reason, count = 1) => {
      const ok = await bundle('models', 'runs', 'r2');
      await bundle('models', 'base', '1.0.0');
      const r = await deleteBundles({ within, bundles: ['pvc://models/runs/r2', refused], keep, pvcRoot: root });
      expect(r).toMatchObject({ outcome: 'Refused', deleted: 0, refused: count, reason });
      expect(existsSync(join(ok, 'ner-model.json'))).toBe(true);
      expect(existsSync(join(root, 'models', 'base', '1.0.0', 'ner-model.json'))).toBe(true);
    },
  );

  it('refuses a bundle a symbolic link leads out of the prefix, and removes a link bundle without its target', async () => {
    const outside = await bundle('models', 'base', '1.0.0');
    await mkdir(runs(), { recursive: true });
    await symlink(join(root, 'models', 'base'), join(runs(), 'escape'));
    const r = await deleteBundles({ within, bundles: ['pvc://models/runs/escape/1.0.0'], keep: [], pvcRoot: root });
    expect(r).toMatchObject({ outcome: 'Refused', refused: 1, reason: 'OutsideOutput' });
    expect(existsSync(join(outside, 'model.onnx'))).toBe(true);

    await symlink(outside, join(runs(), 'link'));
    const l = await deleteBundles({ within, bundles: ['pvc://models/runs/link'], keep: [], pvcRoot: root });
    expect(l).toMatchObject({ outcome: 'Succeeded', deleted: 1 });
    expect([existsSync(join(runs(), 'link')), existsSync(join(outside, 'model.onnx'))]).toEqual([false, true]);
  });
});

describe('ner-ops delete-bundles', () => {
  it('reads its flags and NEROPS_PVC_ROOT, writes the counts to the termination log, exits by outcome', async () => {
    await bundle('models', 'runs', 'r1');
    const log = join(root, 'termination-log');
    const saved = process.env.NEROPS_PVC_ROOT;
    process.env.NEROPS_PVC_ROOT = root;
    try {
      const ok = await deleteBundlesCommand([
        '--within',
        within,
        '--bundle',
        'pvc://models/runs/r1',
        '--bundle',
        'pvc://models/runs/r2',
        '--keep',
        'pvc://models/runs/r3',
        '--termination-log',
        log,
      ]);
      expect(ok).toBe(0);
      const text = await readFile(log, 'utf8');
      expect(decodeDeleteBundlesResult(text)).toEqual({
        resultVersion: 1,
        outcome: 'Succeeded',
        deleted: 1,
        alreadyGone: 1,
        refused: 0,
      });
      // Counts only: no location in the result.
      expect(text).not.toContain('pvc://');
      expect(text).not.toContain(root);
      const refused = await deleteBundlesCommand([
        '--within',
        within,
        '--bundle',
        'pvc://models/x',
        '--termination-log',
        log,
      ]);
      expect(refused).toBe(3);
      expect(await deleteBundlesCommand(['--bundle', 'pvc://models/runs/r1', '--termination-log', log])).toBe(2);
    } finally {
      if (saved === undefined) delete process.env.NEROPS_PVC_ROOT;
      else process.env.NEROPS_PVC_ROOT = saved;
    }
  });
});
