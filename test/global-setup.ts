import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDevServer, type DevServer } from '../runtime/temporal-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    /** A namespace of its own, for a test that runs a whole deployment (schedules included) beside the others. */
    temporalOwnNamespace: string;
  }
}

let server: DevServer | null = null;
let dir = '';

/** Registered at the server's start (with RUNSYNC_TEST_TEMPORAL_ADDRESS, it must exist there). */
const OWN_NAMESPACE = 'runsync-test-own';

/**
 * One real Temporal dev server for the whole run; each test file uses its own task queue.
 * Workflow and schedule ids are per namespace: a test that runs a whole deployment beside
 * the others (the demo's source names, its schedules) takes a namespace of its own.
 */
export async function setup(project: TestProject): Promise<void> {
  if (!existsSync('/usr/bin/chromium')) process.stderr.write('Chromium not found at /usr/bin/chromium: the report and dashboard browser checks are skipped (install it with `bash .ci/install-chromium.sh`)\n');
  if (process.env.RUNSYNC_TEST_TEMPORAL_ADDRESS) {
    project.provide('temporalAddress', process.env.RUNSYNC_TEST_TEMPORAL_ADDRESS);
    project.provide('temporalOwnNamespace', process.env.RUNSYNC_TEST_TEMPORAL_OWN_NAMESPACE ?? OWN_NAMESPACE);
    return;
  }
  dir = mkdtempSync(join(tmpdir(), 'runsync-temporal-'));
  server = await startDevServer({ dataDir: dir, extraNamespaces: [OWN_NAMESPACE], log: (m) => process.stderr.write(m + '\n') });
  project.provide('temporalAddress', server.address);
  project.provide('temporalOwnNamespace', OWN_NAMESPACE);
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
