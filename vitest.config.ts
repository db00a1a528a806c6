import { defineConfig } from 'vitest/config';

// Four projects, named for what their tests need:
// - unit: pure and fast; sits next to the code (`*.test.ts`).
// - integration: trained models, ONNX sessions, spawned servers and CLI processes, no cluster
//   (`*.integration.test.ts` next to the code, and test/integration/*.test.ts).
// - cluster: the local cluster of process nodes, started once by the global setup
//   (test/integration/cluster*.test.ts, test/integration/k8s/, test/e2e/).
// - real: the real node (or kind), the project's image in containers, the operator installed by the
//   Helm chart (test/real/; npm run e2e:real).
// npm test runs all four; npm run test:unit only the first.
const clusterTests = [
  'test/integration/cluster*.test.ts',
  'test/integration/k8s/**/*.test.ts',
  'test/e2e/**/*.test.ts',
];
const realTests = ['test/real/**/*.test.ts'];
const integrationTests = ['**/*.integration.test.ts', 'test/integration/*.test.ts'];
const ignored = ['**/node_modules/**', 'dist/**'];

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
          include: [
            '{contracts,cli,engine,trainer,server,loadgen,operator,local-cluster,testing,bench,scripts}/**/*.test.ts',
            'test/**/*.test.ts',
          ],
          exclude: [...ignored, ...integrationTests, ...clusterTests, ...realTests],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: integrationTests,
          exclude: [...ignored, ...clusterTests, ...realTests],
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
