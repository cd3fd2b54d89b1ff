import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporal } from '@temporalio/proto';
import { startStraitSimulator, type StraitSimulator } from '../../simulators/strait.js';
import { startSimHarness, type Harness } from '../helpers/harness.js';
import { weeklyReport } from '../../workflows/weekly-report.js';

/**
 * Records the histories the replay test runs against. Only with
 * RUNSYNC_RECORD_HISTORIES=1: a new recording is a decision (the old histories are what
 * running workflows have), taken when a workflow change is meant to be incompatible.
 */
const DIR = join(import.meta.dirname, 'histories');

describe.runIf(process.env.RUNSYNC_RECORD_HISTORIES === '1')('record workflow histories', () => {
  let sim: StraitSimulator;
  let h: Harness;
  beforeAll(async () => {
    sim = await startStraitSimulator({ seed: 3, initialRuns: 120, runsPerHour: 0, start: Date.now() - 3_600_000 });
    h = await startSimHarness(sim, { name: 'replay', options: { projectId: 'proj_demo' } });
  });
  afterAll(async () => {
    await h?.close();
    await sim?.close();
  });

  it('a sync that continues as new, a second sync, and a weekly report', async () => {
    const save = async (name: string, workflowId: string) => {
      // Temporal's own binary encoding: read back by the same generated code, whatever JSON dialect a version writes.
      const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
      writeFileSync(join(DIR, `${name}.pb`), temporal.api.history.v1.History.encode(history).finish());
    };
    const first = `replay-first-${Date.now()}`;
    await h.sync('replay', { workflowId: first, historyLimit: 8 });
    // The last run of the chain (after continue-as-new) and the first are different histories.
    const runs: string[] = [];
    for await (const w of h.client.workflow.list({ query: `WorkflowId = '${first}'` })) runs.push(w.runId);
    expect(runs.length).toBeGreaterThan(1);
    await save('sync-source-continued', first);
    const second = `replay-second-${Date.now()}`;
    sim.advance(3_600_000);
    await h.sync('replay', { workflowId: second });
    await save('sync-source', second);
    const report = `replay-report-${Date.now()}`;
    await h.client.workflow.execute(weeklyReport, { taskQueue: h.taskQueue, workflowId: report, args: [{}] });
    await save('weekly-report', report);
  });
});
