import { syncSource } from '../../workflows/sync-source.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStraitSimulator, type StraitSimulator } from '../../simulators/strait.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import type { RunRow, StepRow } from '../../warehouse/rows.js';
import { RowWriter } from '../../warehouse/writer.js';
import { nextVersion } from '../../warehouse/version.js';
import { chTime, num } from '../helpers/compare.js';

let sim: StraitSimulator;
let h: Harness;
const SOURCE = 'wm';

const state = async () => (await h.query<any>(`SELECT watermark FROM sync_state FINAL WHERE source = {s:String}`, { s: SOURCE }))[0]?.watermark ?? null;

beforeAll(async () => {
  sim = await startStraitSimulator({ seed: 31, initialRuns: 30, runsPerHour: 0, start: Date.now() - 3_600_000 });
  h = await startHarness({
    sources: [{ name: SOURCE, provider: 'strait', baseUrl: sim.url, tokenEnv: 'T', settle: '0s', rateLimit: 1000, maxRetries: 1, options: { projectId: 'proj_demo' } }],
    env: { T: sim.token },
  });
  await h.sync(SOURCE);
});

afterAll(async () => {
  await h?.close();
  await sim?.close();
});

describe('what may move the watermark', () => {
  it('a run failing for a transient reason (5xx after retries) holds it below that run', async () => {
    const before = await state();
    const now = sim.clock.now();
    const [older, newer] = [sim.addRuns(1, { createdAt: now - 60_000 })[0], sim.addRuns(1, { createdAt: now - 30_000 })[0]];
    sim.faults.add({ path: new RegExp(`^/v1/workflow-runs/${older}/steps$`), status: 503, times: 2 });
    const res = await h.sync(SOURCE);
    expect(res.counts.runs_failed).toBe(1);
    const wm = await state();
    const olderAt = chTime(sim.truth().runs.find((r) => r.id === older)!.created_at)!;
    expect(wm < olderAt).toBe(true);
    expect(wm >= before).toBe(true);
    const [sr] = await h.query<any>(`SELECT runs_failed FROM sync_runs ORDER BY started_at DESC LIMIT 1`);
    expect(num(sr.runs_failed)).toBe(1);
    // Listed again next time and landed; the watermark then moves past both.
    await h.sync(SOURCE);
    expect((await h.query<any>(`SELECT run_id FROM runs WHERE run_id IN {ids:Array(String)}`, { ids: [older, newer] })).length).toBe(2);
    expect(await state()).toBe(chTime(sim.truth().runs.find((r) => r.id === newer)!.created_at));
  });

  it('a run failing for good (a 4xx) is quarantined and does not pin the watermark', async () => {
    const run = sim.addRuns(1, { createdAt: sim.clock.now() - 10_000 })[0];
    sim.faults.add({ path: new RegExp(`^/v1/workflow-runs/${run}/steps$`), status: 422, times: 1 });
    const res = await h.sync(SOURCE);
    expect(res.counts.runs_failed).toBe(1);
    expect(await state()).toBe(chTime(sim.truth().runs.find((r) => r.id === run)!.created_at));
    const [q] = await h.query<any>(`SELECT reason FROM quarantine WHERE record_key = {k:String}`, { k: run });
    expect(q.reason).toMatch(/HTTP 422/);
  });
});

describe('writes', () => {
  it("a run row never lands when its steps' insert failed (the run is fetched again)", async () => {
    const w = new RowWriter(h.warehouse.client);
    const base = { source: 'order', run_id: 'r1', provider: 'strait', synced_at: '2026-11-20 00:00:00.000', version: nextVersion() };
    // Buffered run first, steps after: the flush still sends the run row last.
    // Deliberately malformed rows: the types say what a row is, the test writes what it is not.
    await w.add('run_versions', { ...base, workflow_id: 'w', status: 'succeeded', fingerprint: 'f', first_seen_at: base.synced_at, sync_id: 'x' } as unknown as RunRow);
    await w.add('step_versions', { ...base, step_id: 's1', attempt: 'not a number' } as unknown as StepRow);
    await expect(w.flush()).rejects.toThrow(/step_versions/);
    const [c] = await h.query<any>(`SELECT count() c FROM run_versions WHERE source = 'order'`);
    expect(num(c.c)).toBe(0);
  });
});

describe('versions', () => {
  it("a row written by a worker whose clock ran ahead does not shadow later writes of the same run", async () => {
    const [row] = await h.query<any>(`SELECT * FROM run_versions FINAL WHERE source = {s:String} AND is_terminal = 1 LIMIT 1`, { s: SOURCE });
    const ahead = Date.now() * 1000 + 3_600_000_000_000; // about six weeks ahead
    await h.warehouse.client.insert({ table: 'run_versions', values: [{ ...row, provider_status: 'stale-from-the-future', fingerprint: 'stale', version: ahead }], format: 'JSONEachRow' });
    await h.sync(SOURCE);
    const [after] = await h.query<any>(`SELECT provider_status, version FROM run_versions FINAL WHERE source = {s:String} AND run_id = {id:String}`, { s: SOURCE, id: row.run_id });
    expect(after.provider_status).toBe(row.provider_status);
    expect(Number(after.version)).toBe(ahead + 1);
  });
});

describe('cancellation', () => {
  it('a cancelled sync is recorded as cancelled, never left running', async () => {
    sim.faults.add({ path: /^\/v1\/workflow-runs$/, delayMs: 4_000, times: 1 });
    const handle = await h.client.workflow.start(syncSource, { taskQueue: h.taskQueue, workflowId: `cancel-${Date.now()}`, args: [{ source: SOURCE }] });
    await sleep(1_500);
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow();
    let rec: any;
    for (let i = 0; i < 40 && rec?.status !== 'cancelled'; i++) {
      await sleep(250);
      [rec] = await h.query<any>(`SELECT status, error FROM sync_runs WHERE sync_id = {id:String}`, { id: handle.workflowId });
    }
    expect(rec).toEqual({ status: 'cancelled', error: 'the sync was cancelled' });
  });
});
