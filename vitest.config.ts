import { defineConfig } from 'vitest/config';

// Tests that need the real local cluster (local-cluster) live in test/integration/cluster*.test.ts,
// test/integration/k8s/ and test/e2e/; the `cluster` project starts the cluster once in its global
// setup. Other integration tests (engine, server) run real processes and ONNX sessions but no cluster.
// The `real` project (test/real/) runs on the real profile: a kubelet running the project's image in
// containers, the operator installed by the Helm chart (npm run e2e:real).
// `vitest run` (npm test) runs every project; `--project unit` runs only the ones without a cluster.
const clusterTests = [
  'test/integration/cluster*.test.ts',
  'test/integration/k8s/**/*.test.ts',
  'test/e2e/**/*.test.ts',
];
const realTests = ['test/real/**/*.test.ts'];

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
          include: [
            '{contracts,cli,engine,trainer,server,operator,local-cluster,bench,scripts}/**/*.test.ts',
            'test/**/*.test.ts',
          ],
          exclude: ['**/node_modules/**', 'dist/**', ...clusterTests, ...realTests],
        },
      },
      {
        extends: true,
        test: {
          name: 'cluster',
          include: clusterTests,
          globalSetup: ['local-cluster/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'real',
          include: realTests,
          globalSetup: ['local-cluster/global-setup.ts'],
          // One node on two cores: scenarios run one file at a time.
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
