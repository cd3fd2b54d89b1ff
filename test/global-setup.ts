import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDevServer, type DevServer } from '../runtime/temporal-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
  }
}

let server: DevServer | null = null;
let dir = '';

/** One real Temporal dev server for the whole run; each test file uses its own task queue. */
export async function setup(project: TestProject): Promise<void> {
  if (!existsSync('/usr/bin/chromium')) process.stderr.write('Chromium not found at /usr/bin/chromium: the report and dashboard browser checks are skipped (install it with `bash .ci/install-chromium.sh`)\n');
  if (process.env.RUNSYNC_TEST_TEMPORAL_ADDRESS) {
    project.provide('temporalAddress', process.env.RUNSYNC_TEST_TEMPORAL_ADDRESS);
    return;
  }
  dir = mkdtempSync(join(tmpdir(), 'runsync-temporal-'));
  server = await startDevServer({ dataDir: dir, log: (m) => process.stderr.write(m + '\n') });
  project.provide('temporalAddress', server.address);
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
