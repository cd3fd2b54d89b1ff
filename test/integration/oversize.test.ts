/**
 * Bounded answers: a source with `maxResponseBytes` refuses a larger answer with a clear
 * error naming the endpoint, keeps its watermark, and syncs normally once answers are sane.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStraitSimulator, type StraitSimulator } from '../../simulators/strait.js';
import { startSimHarness, type Harness } from '../helpers/harness.js';
import { compareWithTruth, describeComparison, expectedOf } from '../helpers/truth.js';

const SOURCE = 'strait-oversize';
const CAP = 1_000_000;
let sim: StraitSimulator;
let h: Harness;

beforeAll(async () => {
  sim = await startStraitSimulator({ seed: 64, initialRuns: 80, runsPerHour: 30, start: Date.now() - 3_600_000 });
});

afterAll(async () => {
  await h?.close();
  await sim?.close();
});

describe('an answer larger than maxResponseBytes', () => {
  it('is refused with an error naming the endpoint and the cap; memory stays bounded; the next sync lands everything', async () => {
    // Built here, not in a hook: a config without `maxResponseBytes` must fail this test, not skip it.
    h = await startSimHarness(sim, { name: SOURCE, options: { projectId: 'proj_demo' }, maxResponseBytes: CAP, maxRetries: 2 });
    await h.sync(SOURCE);
    const [before] = await h.query<any>(`SELECT toString(watermark) AS w FROM sync_state FINAL WHERE source = {s:String}`, { s: SOURCE });
    sim.advance(10 * 60_000);
    // 300 MB, streamed: reading it whole would show in the process's memory.
    sim.faults.add({ path: /^\/v1\/workflow-runs$/, bodyBytes: 300_000_000, times: 100 });
    const rss0 = process.memoryUsage().rss;
    const message = await h.syncFailure(SOURCE);
    const grew = process.memoryUsage().rss - rss0;
    sim.faults.clear();
    expect(message).toContain('GET /v1/workflow-runs');
    expect(message).toMatch(/byte|MB|size|large/i);
    expect(grew, `RSS grew by ${Math.round(grew / 1e6)} MB`).toBeLessThan(150_000_000);
    const [after] = await h.query<any>(`SELECT toString(watermark) AS w FROM sync_state FINAL WHERE source = {s:String}`, { s: SOURCE });
    expect(after.w).toBe(before.w);
    await h.sync(SOURCE);
    const c = await compareWithTruth(h.query, SOURCE, expectedOf(sim));
    expect(describeComparison(c)).toBe(describeComparison({ ...c, landed: c.expected, lost: [], duplicated: [], extra: [], mismatched: [], childrenLost: [], childrenDuplicated: [] }));
  }, 300_000);
});
