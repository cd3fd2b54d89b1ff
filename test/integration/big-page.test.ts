/**
 * A Strait listing that ignores `limit` and answers all 20 000 runs in one page: every run
 * lands exactly once and the sync's recorded counts are what landed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStraitSimulator, type StraitSimulator } from '../../simulators/strait.js';
import { startSimHarness, type Harness } from '../helpers/harness.js';
import { compareWithTruth, describeComparison, expectedOf } from '../helpers/truth.js';

const N = 20_000;
const SOURCE = 'strait-big';
let sim: StraitSimulator;
let h: Harness;

beforeAll(async () => {
  sim = await startStraitSimulator({ seed: 20_000, initialRuns: N, runsPerHour: 0, start: Date.now() - 3_600_000 });
  h = await startSimHarness(sim, { name: SOURCE, options: { projectId: 'proj_demo' }, rateLimit: 5000, concurrency: 16 });
});

afterAll(async () => {
  await h?.close();
  await sim?.close();
});

describe('a 20 000-item page', () => {
  it('all 20 000 runs of the page (and the rest) land exactly once; runs_new and rows_written in sync_runs are what landed', async () => {
    // The first listing answer holds the newest 20 000 runs at once, whatever limit was asked;
    // its cursor leads on to the rest (retries and follow-ups make the world a little larger).
    const all = sim.truth().runs;
    expect(all.length).toBeGreaterThan(N);
    const page = all.slice(0, N);
    sim.faults.add({
      path: /^\/v1\/workflow-runs$/,
      times: 1,
      rewrite: () => JSON.stringify({ data: page, next_cursor: page[page.length - 1].created_at, has_more: true }),
    });
    const res = await h.sync(SOURCE);
    expect(sim.faults.injected.rewrite).toBe(1);
    const exp = expectedOf(sim);
    const c = await compareWithTruth(h.query, SOURCE, exp);
    expect(describeComparison(c)).toBe(describeComparison({ ...c, landed: c.expected, lost: [], duplicated: [], extra: [], mismatched: [], childrenLost: [], childrenDuplicated: [] }));
    const [sr] = await h.query<any>(`SELECT sync_id, status, runs_new, rows_written FROM sync_runs WHERE source = {s:String}`, { s: SOURCE });
    expect(sr.status).toBe('succeeded');
    expect(Number(sr.runs_new)).toBe(exp.runs.length);
    expect(res.counts.runs_new).toBe(exp.runs.length);
    // Rows written by this sync, each counted once: what the storage tables hold for it.
    const tables = ['run_versions', 'step_versions', 'event_versions', 'link_versions', 'raw_runs', 'gone_runs', 'workflow_names'];
    let landed = 0;
    let inserted = 0;
    for (const t of tables) {
      const [a] = await h.query<any>(`SELECT count() AS n FROM ${t} FINAL WHERE source = {s:String}`, { s: SOURCE });
      const [b] = await h.query<any>(`SELECT count() AS n FROM ${t} WHERE source = {s:String}`, { s: SOURCE });
      landed += Number(a.n);
      inserted += Number(b.n);
    }
    const [q] = await h.query<any>(`SELECT count() AS n FROM quarantine WHERE source = {s:String}`, { s: SOURCE });
    landed += Number(q.n);
    inserted += Number(q.n);
    expect({ rows_written: Number(sr.rows_written), inserted }).toEqual({ rows_written: landed, inserted: landed });
    // The next sync is an ordinary one: it adds what the provider added since (retries of
    // failed runs appear as new runs), and the warehouse again equals the truth.
    sim.advance(10 * 60_000);
    const next = await h.sync(SOURCE);
    const later = expectedOf(sim);
    expect(next.counts.runs_new).toBe(later.runs.length - exp.runs.length);
    const again = await compareWithTruth(h.query, SOURCE, later);
    expect(describeComparison(again)).toBe(describeComparison({ ...again, landed: again.expected, lost: [], duplicated: [], extra: [], mismatched: [], childrenLost: [], childrenDuplicated: [] }));
  }, 600_000);
});
