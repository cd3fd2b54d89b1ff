/**
 * The write path under load, end to end: many runs fetched 16 at a time, every run row
 * landed exactly once (rows added while an insert is awaited must not be dropped).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStraitSimulator, type StraitSimulator } from '../../simulators/strait.js';
import { startSimHarness, type Harness } from '../helpers/harness.js';
import { compareWithTruth, describeComparison, expectedOf } from '../helpers/truth.js';

const SOURCE = 'strait-load';
let sim: StraitSimulator;
let h: Harness;

beforeAll(async () => {
  sim = await startStraitSimulator({ seed: 1616, initialRuns: 3_000, runsPerHour: 0, start: Date.now() - 3_600_000 });
  h = await startSimHarness(sim, { name: SOURCE, options: { projectId: 'proj_demo' }, rateLimit: 5000, concurrency: 16 });
});

afterAll(async () => {
  await h?.close();
  await sim?.close();
});

describe('writer under load', () => {
  it('3 000 runs at concurrency 16: every run row and step row landed exactly once; the counts are what landed', async () => {
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
