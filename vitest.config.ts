import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // One process per test file: chDB allows one data directory per process.
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: files in parallel beyond that only make them slower.
    maxWorkers: 2,
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    // Temporal's worker logs every failed workflow at WARN; tests provoke failures on purpose.
    env: { RUNSYNC_TEMPORAL_LOG: 'ERROR', RUNSYNC_LOG_LEVEL: 'warn' },
  },
});
