import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStraitSimulator, type StraitSimulator } from '../../simulators/strait.js';
import { startSimHarness, type Harness } from '../helpers/harness.js';
import { applySchedules, SYNC_SCHEDULE_PREFIX } from '../../runtime/schedules.js';
import { startSourceSync, syncOnce } from '../../runtime/run-sync.js';
import { syncWorkflowId } from '../../workflows/ids.js';
import { fromCh } from '../../core/time.js';

/**
 * One source never has two syncs in flight, whoever starts them: CLI starts (several at
 * once, as from two processes) and the source's schedule firing meanwhile. Checked where
 * it matters, in sync_runs: the syncs' intervals never overlap.
 */
let sim: StraitSimulator;
let h: Harness;
const source = `one-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  sim = await startStraitSimulator({ seed: 5, initialRuns: 120, runsPerHour: 0, start: Date.now() - 3_600_000 });
  // Slow enough (rateLimit) that a sync lasts a few seconds and the starts below meet it in flight.
  h = await startSimHarness(sim, { name: source, options: { projectId: 'proj_demo' }, rateLimit: 60, schedule: '0 0 1 1 *' });
});

afterAll(async () => {
  await h?.client.schedule.getHandle(SYNC_SCHEDULE_PREFIX + source).delete().catch(() => undefined);
  await h?.close();
  await sim?.close();
});

describe('one sync in flight per source', () => {
  it('CLI starts and schedule ticks at the same time run one sync after another, never two at once', async () => {
    await applySchedules(h.client, h.config, h.taskQueue);
    const schedule = h.client.schedule.getHandle(SYNC_SCHEDULE_PREFIX + source);
    const runIds: string[][] = [];
    for (let round = 0; round < 2; round++) {
      const ids: string[] = [];
      runIds.push(ids);
      const cli = Array.from({ length: 3 }, async () => {
        const { handle } = await startSourceSync(h.client, source, h.taskQueue);
        ids.push((await handle.describe()).runId);
        await handle.result();
      });
      // The schedule fires while the CLI's sync runs (and again once it may have finished).
      await new Promise((r) => setTimeout(r, 300));
      await schedule.trigger();
      await Promise.all(cli);
      await schedule.trigger();
      await new Promise((r) => setTimeout(r, 1_500));
    }
    // Wait until nothing of this source runs any more.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const running = [];
      for await (const w of h.client.workflow.list({ query: `TaskQueue = "${h.taskQueue}" AND ExecutionStatus = "Running"` })) running.push(w.workflowId);
      if (running.length === 0) break;
      if (Date.now() > deadline) throw new Error(`still running: ${running.join(', ')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    // Three simultaneous CLI starts per round: one sync, which the other two joined.
    for (const ids of runIds) expect(new Set(ids).size).toBe(1);

    const syncs = await h.query<{ sync_id: string; started_at: string; finished_at: string | null; status: string }>(
      `SELECT sync_id, started_at, finished_at, status FROM sync_runs WHERE source = {s:String} ORDER BY started_at`,
      { s: source },
    );
    expect(syncs.length).toBeGreaterThanOrEqual(2);
    for (const s of syncs) {
      expect(s.status).toBe('succeeded');
      expect(s.finished_at).not.toBeNull();
    }
    for (let i = 1; i < syncs.length; i++) {
      const prevEnd = fromCh(syncs[i - 1].finished_at)!;
      const start = fromCh(syncs[i].started_at)!;
      expect(start, `${syncs[i].sync_id} started before ${syncs[i - 1].sync_id} finished`).toBeGreaterThanOrEqual(prevEnd);
    }
    // Every sync id is its own (a tick's or a CLI start's), so sync_runs keeps each sync.
    expect(new Set(syncs.map((s) => s.sync_id)).size).toBe(syncs.length);
  });

  it("does not join a sync of the same source name in flight on another task queue (another deployment's): it says so and lands nothing", async () => {
    // Another deployment in the same namespace, with a source of the same name: its sync is in
    // flight on its own task queue (no worker polls it here, so it stays in flight).
    const foreignQueue = `other-deployment-${randomUUID().slice(0, 8)}`;
    const foreign = await h.client.workflow.start('syncSource', { taskQueue: foreignQueue, workflowId: syncWorkflowId(source), args: [{ source }] });
    try {
      await expect(startSourceSync(h.client, source, h.taskQueue)).rejects.toThrow(
        `a sync of source "${source}" is in flight on task queue "${foreignQueue}", not this deployment's "${h.taskQueue}"`,
      );
      const [outcome] = await syncOnce(h.client, h.config, h.taskQueue, [source], { progress: false });
      expect(outcome.ok).toBe(false);
      expect(outcome.error).toMatch(/give each deployment a namespace of its own$/);
      expect((await foreign.describe()).status.name).toBe('RUNNING');
    } finally {
      await foreign.terminate('test over');
    }
  });
});
