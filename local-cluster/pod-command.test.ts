import type { V1Container } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { containerEnv, expandVars, localCommand, mapContainerPaths } from './pod-command.js';

const paths = { nodeBin: '/usr/bin/node', nerOpsCli: '/repo/dist/cli/ner-ops.js' };

describe('localCommand', () => {
  it.each<[string, Partial<V1Container>, ReturnType<typeof localCommand>]>([
    [
      'image entrypoint (no command)',
      { args: ['serve', '--port', '8080'] },
      { command: '/usr/bin/node', args: ['/repo/dist/cli/ner-ops.js', 'serve', '--port', '8080'] },
    ],
    [
      'explicit ner-ops',
      { command: ['ner-ops'], args: ['train'] },
      { command: '/usr/bin/node', args: ['/repo/dist/cli/ner-ops.js', 'train'] },
    ],
    [
      'absolute ner-ops path',
      { command: ['/usr/local/bin/ner-ops', 'serve'] },
      { command: '/usr/bin/node', args: ['/repo/dist/cli/ner-ops.js', 'serve'] },
    ],
    [
      'node as-is',
      { command: ['node', 'fixture.mjs'], args: ['x'] },
      { command: '/usr/bin/node', args: ['fixture.mjs', 'x'] },
    ],
    [
      '$(VAR) expansion',
      { args: ['serve', '--host=$(POD_IP)', '$$(POD_IP)'] },
      { command: '/usr/bin/node', args: ['/repo/dist/cli/ner-ops.js', 'serve', '--host=127.0.0.9', '$(POD_IP)'] },
    ],
    [
      'anything else',
      { command: ['sh', '-c', 'true'] },
      { error: "process nodes run 'ner-ops ...' or 'node ...' commands only, got 'sh'" },
    ],
  ])('%s', (_name, container, expected) => {
    expect(localCommand({ name: 'c', ...container }, { POD_IP: '127.0.0.9' }, paths)).toEqual(expected);
  });
});

describe('expandVars', () => {
  it('leaves unknown references as written', () => {
    expect(expandVars('$(NOPE)-$(A)', { A: 'a' })).toBe('$(NOPE)-a');
  });
});

describe('containerEnv', () => {
  it('applies base, envFrom, then env in order, resolving fieldRef and $(VAR)', async () => {
    const env = await containerEnv(
      {
        name: 'c',
        envFrom: [{ prefix: 'CM_', configMapRef: { name: 'cm' } }],
        env: [
          { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'URL', value: 'http://$(POD_IP):8080' },
          { name: 'SECRET', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
        ],
      },
      { POD_IP: '127.0.0.5' },
      (path) => (path === 'metadata.name' ? 'pod-a' : undefined),
      async () => 'from-secret',
      async () => ({ MODE: 'fast' }),
    );
    expect(env).toEqual({
      POD_IP: '127.0.0.5',
      CM_MODE: 'fast',
      NAME: 'pod-a',
      URL: 'http://127.0.0.5:8080',
      SECRET: 'from-secret',
    });
  });
});

describe('mapContainerPaths', () => {
  const mappings = [
    { containerPath: '/models', hostPath: '/state/pod/volumes/models' },
    { containerPath: '/models/cache', hostPath: '/state/pod/volumes/cache' },
    { containerPath: '/dev/termination-log', hostPath: '/state/pod/c/termination-log' },
  ];
  it.each([
    ['/models/bundle', '/state/pod/volumes/models/bundle'],
    ['/models', '/state/pod/volumes/models'],
    ['/models/cache/x', '/state/pod/volumes/cache/x'],
    ['--to=/models/bundle', '--to=/state/pod/volumes/models/bundle'],
    ['file:///models/bundle', 'file:///state/pod/volumes/models/bundle'],
    ['/dev/termination-log', '/state/pod/c/termination-log'],
    ['/modelsX/y', '/modelsX/y'],
    ['serve', 'serve'],
    ['http://x/models', 'http://x/models'],
  ])('%s → %s', (value, expected) => {
    expect(mapContainerPaths(value, mappings)).toBe(expected);
  });
  it('rewrites args of the local command', () => {
    expect(
      localCommand({ name: 'c', args: ['fetch-model', 'file:///src', '--to', '/models/b'] }, {}, paths, mappings),
    ).toEqual({
      command: '/usr/bin/node',
      args: ['/repo/dist/cli/ner-ops.js', 'fetch-model', 'file:///src', '--to', '/state/pod/volumes/models/b'],
    });
  });
});
