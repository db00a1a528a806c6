import { defineConfig } from 'vitest/config';

// Tests that need the real local cluster (test/cluster) live in test/integration/cluster*.test.ts,
// test/integration/k8s/ and test/e2e/; the `cluster` project starts the cluster once in its global
// setup. Other integration tests (engine, server) run real processes and ONNX sessions but no cluster.
// `vitest run` (npm test) runs both projects; `--project unit` runs only the ones without a cluster.
const clusterTests = ['test/integration/cluster*.test.ts', 'test/integration/k8s/**/*.test.ts', 'test/e2e/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          // Unit tests sit next to the code; integration and e2e tests live under test/.
          include: ['{cli,engine,trainer,server,operator,bench,scripts}/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/node_modules/**', 'dist/**', ...clusterTests],
        },
      },
      {
        extends: true,
        test: {
          name: 'cluster',
          include: clusterTests,
          globalSetup: ['test/cluster/global-setup.ts'],
        },
      },
    ],
  },
});
