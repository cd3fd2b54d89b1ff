import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // One process per test file: chDB allows one data directory per process.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: files in parallel beyond that only make them slower.
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts'],
    // Temporal's worker logs every failed workflow at WARN; tests provoke failures on purpose.
    env: { RUNSYNC_TEMPORAL_LOG: 'ERROR', RUNSYNC_LOG_LEVEL: 'warn' },
    // Unit tests need neither Temporal nor chDB: the Temporal dev server starts only when a
    // file of the other project runs (a project's global setup runs only for its own files),
    // and unit files share one module graph per worker instead of importing it again each.
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], isolate: false } },
      { extends: true, test: { name: 'engines', include: ['test/**/*.test.ts'], exclude: ['test/unit/**'], globalSetup: ['test/global-setup.ts'] } },
    ],
  },
});
