/** `npm run images` lists every image of the rendered chart (checked on the committed rendering, manifests/nerops.yaml). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../local-cluster/paths.js';
import { imagesOf } from './images.js';

describe('imagesOf', () => {
  it('finds the one nerops image in the default install', () => {
    const text = readFileSync(join(repoRoot, 'manifests', 'nerops.yaml'), 'utf8');
    const version = /appVersion: "([^"]+)"/.exec(readFileSync(join(repoRoot, 'charts/nerops/Chart.yaml'), 'utf8'))?.[1];
    expect(imagesOf(text)).toEqual([`nerops:${version}`]);
  });

  it('lists containers, init containers and the image the operator runs, once each', () => {
    const text = `
kind: Deployment
spec:
  template:
    spec:
      initContainers: [{ name: init, image: "mirror.example/tools:1" }]
      containers:
        - name: operator
          image: mirror.example/nerops:2@sha256:${'a'.repeat(64)}
          env:
            - { name: NEROPS_IMAGE, value: "mirror.example/nerops:2-servers" }
            - { name: OTHER, value: "not-an-image" }
---
kind: Pod
spec:
  containers: [{ name: test, image: "mirror.example/tools:1" }]
`;
    expect(imagesOf(text)).toEqual([
      'mirror.example/nerops:2-servers',
      `mirror.example/nerops:2@sha256:${'a'.repeat(64)}`,
      'mirror.example/tools:1',
    ]);
  });
});
