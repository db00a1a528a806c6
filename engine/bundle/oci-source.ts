/**
 * Bundles as OCI artifacts (ORAS style): an image manifest with `artifactType`
 * {@link BUNDLE_ARTIFACT_TYPE}, the empty config, and one layer per bundle file named by its
 * `org.opencontainers.image.title` annotation (the path relative to the bundle directory). `oras pull` of such
 * an artifact writes the bundle directory as it was pushed, and `oras push` of a bundle directory's files
 * with that artifact type makes one nerops can fetch.
 *
 * A pull is digest-pinned: the URI carries the manifest digest, the manifest bytes are checked against it,
 * each blob against its descriptor, and `ner-model.json` against the NerModel's bundle digest before any
 * other file is downloaded.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MANIFEST_FILE } from '../../contracts/bundle-manifest.js';
import { type FetchBudget, ModelSourceError } from './fetch-budget.js';
import { fileBody, formatOciUri, type OciReference, parseOciUri, RegistryClient } from './oci-registry.js';

export const BUNDLE_ARTIFACT_TYPE = 'application/vnd.nerops.bundle.v1+json';
export const BUNDLE_FILE_MEDIA_TYPE = 'application/vnd.nerops.bundle.file.v1';
export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const EMPTY_CONFIG = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
} as const;
const TITLE = 'org.opencontainers.image.title';
/** Manifest annotation carrying the bundle digest (sha256 of ner-model.json), for humans and tooling. */
export const BUNDLE_DIGEST_ANNOTATION = 'io.nerops.bundle.digest';

export interface OciAccess {
  dockerConfig?: unknown;
  ca?: Buffer | undefined;
  plainHttp?: boolean | undefined;
  allowInsecureHttp?: boolean | undefined;
  timeoutMs: number;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/**
 * Pull the bundle at `uri` (which must name the manifest digest) into `dest`. `listFiles` turns the bundle
 * manifest into the files to fetch (model-source's `manifestFiles`, which refuses unsafe paths).
 */
export async function pullOciBundle(
  uri: string,
  dest: string,
  access: OciAccess,
  budget: FetchBudget,
  bundleDigest: string | undefined,
  listFiles: (manifest: unknown) => string[],
): Promise<void> {
  const ref = parseOciUri(uri);
  if (!ref.digest)
    throw new ModelSourceError(
      `${uri.slice(0, 300)} is not digest-pinned: add @sha256:<manifest digest> (ner-ops package --push prints it)`,
    );
  const client = new RegistryClient(ref, { ...access, signal: budget.signal }, 'pull');
  const raw = await client.getManifest(ref.digest, [OCI_MANIFEST_MEDIA_TYPE]);
  let manifest: { artifactType?: string; config?: Descriptor; layers?: Descriptor[] };
  try {
    manifest = JSON.parse(raw.toString('utf8')) as typeof manifest;
  } catch (err) {
    throw new ModelSourceError(`the OCI manifest of ${formatOciUri(ref)} is not JSON`, { cause: err });
  }
  const type = manifest.artifactType ?? manifest.config?.mediaType;
  if (type !== BUNDLE_ARTIFACT_TYPE)
    throw new ModelSourceError(
      `${formatOciUri(ref)} is not a nerops bundle: artifactType ${JSON.stringify(String(type).slice(0, 100))}, expected ${BUNDLE_ARTIFACT_TYPE}`,
    );
  const byTitle = new Map<string, Descriptor>();
  for (const layer of manifest.layers ?? []) {
    const title = layer.annotations?.[TITLE];
    if (typeof title === 'string' && typeof layer.digest === 'string') byTitle.set(title, layer);
  }
  const layerOf = (name: string): Descriptor => {
    const d = byTitle.get(name);
    if (!d) throw new ModelSourceError(`${formatOciUri(ref)} has no layer titled ${JSON.stringify(name)}`);
    return d;
  };
  await mkdir(dest, { recursive: true });
  const manifestLayer = layerOf(MANIFEST_FILE);
  const manifestPath = join(dest, MANIFEST_FILE);
  await client.getBlob(manifestLayer.digest, manifestLayer.size, manifestPath, budget, `fetching ${MANIFEST_FILE}`);
  const manifestBytes = await readFile(manifestPath);
  if (bundleDigest) {
    const actual = createHash('sha256').update(manifestBytes).digest('hex');
    if (actual !== bundleDigest.toLowerCase())
      throw new ModelSourceError(
        `bundle digest mismatch for ${formatOciUri(ref)}: expected ${bundleDigest}, got ${actual}`,
      );
  }
  let bundleManifest: unknown;
  try {
    bundleManifest = JSON.parse(manifestBytes.toString('utf8'));
  } catch (err) {
    throw new ModelSourceError(`${MANIFEST_FILE} from ${formatOciUri(ref)} is not valid JSON`, { cause: err });
  }
  for (const name of listFiles(bundleManifest)) {
    if (name === MANIFEST_FILE) continue;
    const layer = layerOf(name);
    const target = join(dest, name);
    await mkdir(dirname(target), { recursive: true });
    await client.getBlob(layer.digest, layer.size, target, budget, `fetching ${name}`);
  }
}

/**
 * Push the bundle in `dir` (its `ner-model.json` and every file it lists) to `uri` (`oci://registry/repo:tag`;
 * a digest in it is ignored). Returns the digest-pinned URI to put in a NerModel.
 */
export async function pushOciBundle(
  uri: string,
  dir: string,
  access: OciAccess,
  listFiles: (manifest: unknown) => string[],
): Promise<{ uri: string; manifestDigest: string; bundleDigest: string }> {
  const parsed = parseOciUri(uri);
  const ref: OciReference = { registry: parsed.registry, repository: parsed.repository, tag: parsed.tag ?? 'latest' };
  const client = new RegistryClient(ref, access, 'pull,push');
  const manifestBytes = await readFile(join(dir, MANIFEST_FILE));
  const bundleDigest = createHash('sha256').update(manifestBytes).digest('hex');
  const names = [
    MANIFEST_FILE,
    ...listFiles(JSON.parse(manifestBytes.toString('utf8'))).filter((n) => n !== MANIFEST_FILE),
  ];
  const layers: Descriptor[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const digest = `sha256:${createHash('sha256')
      .update(await readFile(path))
      .digest('hex')}`;
    const size = (await stat(path)).size;
    await client.pushBlob(digest, size, fileBody(path));
    layers.push({ mediaType: BUNDLE_FILE_MEDIA_TYPE, digest, size, annotations: { [TITLE]: name } });
  }
  await client.pushBlob(EMPTY_CONFIG.digest, EMPTY_CONFIG.size, () => Buffer.from('{}'));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      artifactType: BUNDLE_ARTIFACT_TYPE,
      config: EMPTY_CONFIG,
      layers,
      annotations: { [BUNDLE_DIGEST_ANNOTATION]: bundleDigest },
    }),
  );
  const manifestDigest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  await client.putManifest(ref.tag as string, OCI_MANIFEST_MEDIA_TYPE, manifest);
  return { uri: formatOciUri({ ...ref, digest: manifestDigest }), manifestDigest, bundleDigest };
}
