/**
 * The images a real node runs, as archives for `ctr images import`: no registry can be reached, so
 * every image the node needs is made on this machine and loaded into the node's containerd.
 *
 * - the pod sandbox (`registry.k8s.io/pause`), one static binary built from kubernetes' pause.c;
 * - CoreDNS, one static binary from the Go module proxy;
 * - the project's image (`nerops:dev`), built from the Dockerfile by `npm run image:build`.
 *
 * The first two are `docker import`ed from their binary; all three are `docker save`d once per image
 * id into `<cache>/images/`, so a cluster start costs an import, not a save.
 *
 * Docker is started when none answers (scripts/dockerd.sh; it keeps running afterwards, and `.ci/run`
 * stops it), and outside CI a missing project image is built (scripts/build-image.sh), as missing
 * binaries are: a fresh clone's `npm test` needs nothing else. Under CI a missing image is an error,
 * because `.ci/run` builds it first and a gap there is a CI bug.
 */
import { mkdtemp, rm, copyFile, access, mkdir, readdir, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheRoot } from './binaries.js';
import { run } from './host-commands.js';
import { repoRoot } from './paths.js';
import { PAUSE_IMAGE } from './real-node-config.js';

/** The image every project pod runs (operator, servers, Jobs); `npm run image:build` makes it (`$NEROPS_TEST_IMAGE` overrides). */
export const PROJECT_IMAGE = process.env.NEROPS_TEST_IMAGE ?? 'nerops:dev';
export const COREDNS_IMAGE = 'nerops.local/coredns:dev';

/** Docker's CLI: Debian's 20.10 client, not a newer one elsewhere on PATH that expects BuildKit. */
export const DOCKER = process.env.NEROPS_DOCKER ?? '/usr/bin/docker';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function imageId(ref: string): Promise<string | undefined> {
  try {
    return (await run(DOCKER, ['image', 'inspect', '--format', '{{.Id}}', ref])).trim();
  } catch {
    return undefined;
  }
}

/** `docker import` of one static binary as an image whose entrypoint it is. */
async function importBinary(ref: string, binary: string, name: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'nerops-image-'));
  try {
    await copyFile(binary, join(dir, name));
    await run('tar', ['-C', dir, '-cf', join(dir, 'rootfs.tar'), name]);
    await run(DOCKER, [
      'import',
      '--change',
      `ENTRYPOINT ["/${name}"]`,
      '--change',
      'USER 65532:65532',
      join(dir, 'rootfs.tar'),
      ref,
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The archive of `ref` for its current image id, saved when missing. */
async function archive(ref: string, id: string): Promise<string> {
  const dir = join(cacheRoot(), 'images');
  await mkdir(dir, { recursive: true });
  const prefix = `${ref.replace(/[^a-zA-Z0-9.-]/g, '_')}-`;
  const file = join(dir, `${prefix}${id.replace(/^sha256:/, '').slice(0, 16)}.tar`);
  if (await exists(file)) return file;
  await run(DOCKER, ['save', '-o', `${file}.tmp`, ref], { timeoutMs: 300_000 });
  await rename(`${file}.tmp`, file);
  // A ref names one image id: archives of its earlier ids are never imported again, and each is
  // hundreds of MB that every image rebuild would otherwise add to the cache. (A reader that has one
  // open keeps reading it after the unlink.)
  for (const old of await readdir(dir))
    if (old.startsWith(prefix) && old.endsWith('.tar') && join(dir, old) !== file)
      await rm(join(dir, old), { force: true });
  return file;
}

/** Archives of the pause, CoreDNS and project images, making the first two from their binaries. */
export async function nodeImageArchives(
  bins: { pause: string; coredns: string },
  log: (line: string) => void = () => undefined,
): Promise<string[]> {
  await run('bash', [join(repoRoot, 'scripts', 'dockerd.sh'), 'start'], { timeoutMs: 60_000 });
  if (!(await imageId(PROJECT_IMAGE)) && process.env.CI !== 'true' && !process.env.NEROPS_TEST_IMAGE) {
    log(`local-cluster: building the project image ${PROJECT_IMAGE} (scripts/build-image.sh; minutes, once)`);
    // auto: the CAs this host's administrator added (a TLS-inspecting proxy) reach the build stages only.
    await run('bash', [join(repoRoot, 'scripts', 'build-image.sh')], {
      timeoutMs: 1_800_000,
      env: { NEROPS_EXTRA_CA: process.env.NEROPS_EXTRA_CA ?? 'auto' },
    });
  }
  // The pause binary must be PID 1 and needs no user; CoreDNS runs as 65532 on an unprivileged port.
  if (!(await imageId(PAUSE_IMAGE))) await importBinary(PAUSE_IMAGE, bins.pause, 'pause');
  if (!(await imageId(COREDNS_IMAGE))) await importBinary(COREDNS_IMAGE, bins.coredns, 'coredns');
  const out: string[] = [];
  for (const ref of [PAUSE_IMAGE, COREDNS_IMAGE, PROJECT_IMAGE]) {
    const id = await imageId(ref);
    if (!id) throw new Error(`local-cluster: no image ${ref} in Docker; build it with \`npm run image:build\``);
    out.push(await archive(ref, id));
  }
  return out;
}
