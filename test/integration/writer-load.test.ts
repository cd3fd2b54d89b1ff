/**
 * The write path under load, end to end: Tracecat pages of 1 000 executions, each with its
 * history, fetched 16 at a time, so the writer's buffer fills and is flushed while runs are
 * still adding rows. Every run row and event row lands exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracecatSimulator, type TracecatSimulator } from '../../simulators/tracecat.js';
import { startSimHarness, type Harness } from '../helpers/harness.js';
import { compareWithTruth, describeComparison, expectedOf } from '../helpers/truth.js';

const SOURCE = 'tracecat-load';
let sim: TracecatSimulator;
let h: Harness;

beforeAll(async () => {
  sim = await startTracecatSimulator({ seed: 1616, initialRuns: 3_000, runsPerHour: 0, start: Date.now() - 3_600_000 });
  h = await startSimHarness(sim, { name: SOURCE, options: { workspaceId: sim.workspaceId, limit: 1000 }, rateLimit: 5000, concurrency: 16 });
});

afterAll(async () => {
  await h?.close();
  await sim?.close();
});

describe('writer under load', () => {
  it('3 000 executions, pages of 1 000, concurrency 16: every run and event row landed exactly once; the counts are what landed', async () => {
    const res = await h.sync(SOURCE);
    const exp = expectedOf(sim);
    const c = await compareWithTruth(h.query, SOURCE, exp);
    expect(describeComparison(c)).toBe(describeComparison({ ...c, landed: c.expected, lost: [], duplicated: [], extra: [], mismatched: [], childrenLost: [], childrenDuplicated: [] }));
    expect(res.counts.runs_new).toBe(exp.runs.length);
    // Each run was written once by this one sync: more stored rows than runs means a batch went in twice.
    const [r] = await h.query<any>(`SELECT count() AS n, uniqExact(run_id) AS u FROM run_versions WHERE source = {s:String}`, { s: SOURCE });
    expect({ rows: Number(r.n), runs: Number(r.u) }).toEqual({ rows: exp.runs.length, runs: exp.runs.length });
    const [sr] = await h.query<any>(`SELECT runs_new FROM sync_runs WHERE source = {s:String}`, { s: SOURCE });
    expect(Number(sr.runs_new)).toBe(exp.runs.length);
  }, 400_000);
});
