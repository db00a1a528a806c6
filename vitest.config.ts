import { defineConfig } from 'vitest/config';

// Tests under test/integration and test/e2e run against the real local cluster (test/cluster), which
// the `cluster` project starts once in its global setup; unit tests never pay for it.
// `vitest run` (npm test) runs both projects; `--project unit` runs only the fast ones.
const clusterTests = ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'];

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
