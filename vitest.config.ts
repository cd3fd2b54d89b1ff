import { defineConfig } from 'vitest/config';

/** What both projects share. (maxWorkers stays at the root, so `--maxWorkers` on the command line applies to both.) */
const common = {
  // One process per test file: chDB allows one data directory per process.
  pool: 'forks' as const,
  testTimeout: 120_000,
  hookTimeout: 120_000,
  // Temporal's worker logs every failed workflow at WARN; tests provoke failures on purpose.
  env: { RUNSYNC_TEMPORAL_LOG: 'ERROR', RUNSYNC_LOG_LEVEL: 'warn' },
};

export default defineConfig({
  test: {
    // Two cores: files in parallel beyond that only make them slower.
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts'],
    // Unit tests need neither Temporal nor chDB: the Temporal dev server starts only when a
    // file of the other project runs (a project's global setup runs only for its own files),
    // and unit files share one module graph per worker instead of importing it again each.
    projects: [
      { test: { ...common, name: 'unit', include: ['test/unit/**/*.test.ts'], isolate: false } },
      { test: { ...common, name: 'engines', include: ['test/**/*.test.ts'], exclude: ['test/unit/**'], globalSetup: ['test/global-setup.ts'] } },
    ],
  },
});
