import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';

/**
 * Recorded histories of every workflow, replayed against the current workflow code: a
 * change that would break determinism for workflows already running fails here.
 * (Record new ones with RUNSYNC_RECORD_HISTORIES=1 npx vitest run test/replay/record.test.ts.)
 */
const require = createRequire(import.meta.url);
const DIR = join(import.meta.dirname, 'histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.pb'));

describe('replay of recorded workflow histories', () => {
  it('has histories of each workflow', () => {
    expect(files.some((f) => f.startsWith('sync-source'))).toBe(true);
    expect(files.some((f) => f.startsWith('weekly-report'))).toBe(true);
  });

  it.each(files)('%s replays on the current workflow code', async (file) => {
    const history = temporal.api.history.v1.History.decode(readFileSync(join(DIR, file)));
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows/index.ts'), replayName: file }, history);
  });
});
