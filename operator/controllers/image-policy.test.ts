import { describe, expect, it } from 'vitest';
import { imageRefusal, parseImageReference, parseRegistryList, parseRegistryPrefix } from './image-policy.js';

describe('parseImageReference', () => {
  it('normalises as container runtimes do: docker.io/library, index.docker.io, tag and digest', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseImageReference('nerops:dev')).toEqual({ domain: 'docker.io', path: 'library/nerops', tag: 'dev' });
    expect(parseImageReference('acme/ner')).toEqual({ domain: 'docker.io', path: 'acme/ner' });
    expect(parseImageReference('index.docker.io/acme/ner:1')).toEqual({
      domain: 'docker.io',
      path: 'acme/ner',
      tag: '1',
    });
    expect(parseImageReference(`GHCR.io/acme/ner@${digest}`)).toEqual({ domain: 'ghcr.io', path: 'acme/ner', digest });
    expect(parseImageReference('localhost:5000/ner:1')).toEqual({ domain: 'localhost:5000', path: 'ner', tag: '1' });
    expect(parseImageReference('localhost/ner')).toEqual({ domain: 'localhost', path: 'ner' });
  });

  it('refuses what a runtime would not read as written', () => {
    for (const bad of [
      '',
      'Nerops',
      'ghcr.io/acme/../x',
      'ghcr.io//x',
      'a b',
      'ghcr.io/x@sha256:short',
      'x:tag!',
      'ghcr.io/',
    ])
      expect(parseImageReference(bad), bad).toBeUndefined();
  });
});

describe('parseRegistryPrefix', () => {
  it('reads registries, repositories and Docker Hub names', () => {
    expect(parseRegistryPrefix('ghcr.io')).toEqual({ domain: 'ghcr.io', path: '' });
    expect(parseRegistryPrefix('registry.local:5000')).toEqual({ domain: 'registry.local:5000', path: '' });
    expect(parseRegistryPrefix('ghcr.io/acme/')).toEqual({ domain: 'ghcr.io', path: 'acme' });
    expect(parseRegistryPrefix('nerops')).toEqual({ domain: 'docker.io', path: 'library/nerops' });
    expect(parseRegistryPrefix('docker.io/nerops')).toEqual({ domain: 'docker.io', path: 'library/nerops' });
    expect(parseRegistryPrefix('docker.io/acme/')).toEqual({ domain: 'docker.io', path: 'acme' });
  });

  it('refuses tags, digests and malformed prefixes (a flag error names the entry)', () => {
    for (const bad of ['ghcr.io/acme/ner:1', `ghcr.io/ner@sha256:${'a'.repeat(64)}`, 'ghcr.io/Acme', 'a..b/x'])
      expect(() => parseRegistryPrefix(bad), bad).toThrow(/is not a registry or repository prefix/);
    expect(() => parseRegistryList('ghcr.io, bad:tag/x:1')).toThrow(/bad:tag/);
    expect(parseRegistryList(' ghcr.io/acme ,registry.local:5000 ')).toEqual(['ghcr.io/acme', 'registry.local:5000']);
    expect(parseRegistryList(undefined)).toEqual([]);
  });
});

describe('imageRefusal', () => {
  const own = 'nerops:dev';

  it('an empty list allows only the operator image repository (any tag or digest), not its registry', () => {
    const policy = { allowedImageRegistries: [], ownImage: own };
    expect(imageRefusal('nerops:dev', policy)).toBeUndefined();
    expect(imageRefusal('docker.io/library/nerops:0.1.0', policy)).toBeUndefined();
    expect(imageRefusal(`nerops@sha256:${'b'.repeat(64)}`, policy)).toBeUndefined();
    expect(imageRefusal('busybox', policy)).toMatch(
      /^image 'busybox' is not from an allowed registry \(allowed: docker.io\/library\/nerops;/,
    );
    expect(imageRefusal('nerops-evil:dev', policy)).toBeDefined();
    expect(imageRefusal('ghcr.io/x/nerops:dev', policy)).toBeDefined();
  });

  it('matches whole path segments of normalised references, never substrings', () => {
    const policy = { allowedImageRegistries: ['ghcr.io/acme', 'registry.local:5000'], ownImage: own };
    expect(imageRefusal('ghcr.io/acme/ner:1', policy)).toBeUndefined();
    expect(imageRefusal('ghcr.io/acme/team/ner:1', policy)).toBeUndefined();
    expect(imageRefusal('registry.local:5000/anything:1', policy)).toBeUndefined();
    expect(imageRefusal('ghcr.io/acme-evil/ner:1', policy)).toBeDefined();
    expect(imageRefusal('ghcr.io.evil.com/acme/ner:1', policy)).toBeDefined();
    expect(imageRefusal('evil.com/ghcr.io/acme/ner:1', policy)).toBeDefined();
    expect(imageRefusal('registry.local:5001/anything:1', policy)).toBeDefined();
    expect(imageRefusal('acme/ner:1', policy)).toBeDefined(); // docker.io/acme, not ghcr.io/acme
    expect(imageRefusal('GHCR.io/acme/ner:1', policy)).toBeUndefined(); // host names are case-insensitive
  });

  it('a Docker Hub namespace is allowed with a trailing slash; a bare name is a library repository', () => {
    expect(imageRefusal('acme/ner', { allowedImageRegistries: ['docker.io/acme/'], ownImage: own })).toBeUndefined();
    expect(imageRefusal('busybox:1', { allowedImageRegistries: ['busybox'], ownImage: own })).toBeUndefined();
    expect(imageRefusal('acme/busybox', { allowedImageRegistries: ['busybox'], ownImage: own })).toBeDefined();
  });

  it('an invalid reference is refused whatever the list', () => {
    expect(imageRefusal('ghcr.io/acme/../x', { allowedImageRegistries: ['ghcr.io'], ownImage: own })).toMatch(
      /not a valid image reference/,
    );
  });
});
