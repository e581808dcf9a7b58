import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file starts its own embedded Postgres (~250 MB); two workers fit two cores.
    pool: 'forks',
    maxWorkers: 2,
    sequence: { concurrent: false },
  },
});
