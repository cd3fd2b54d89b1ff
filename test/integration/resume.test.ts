import { describe, expect, it } from 'vitest';
import { startStraitSimulator } from '../../simulators/strait.js';
import { startHarness } from '../helpers/harness.js';
import { num } from '../helpers/compare.js';

// Its own file: chDB allows one data directory per process.
describe('resuming from heartbeats', () => {
  it('a listing activity that fails mid-way is retried from its last heartbeat, not from page one', async () => {
    const sim2 = await startStraitSimulator({ seed: 8, initialRuns: 250, runsPerHour: 0, start: Date.now() - 3_600_000 });
    const h2 = await startHarness({
      sources: [{ name: 'resume', provider: 'strait', baseUrl: sim2.url, tokenEnv: 'T', settle: '0s', rateLimit: 1000, maxRetries: 0, options: { projectId: 'proj_demo' } }],
      env: { T: sim2.token },
    });
    try {
      // Page one answers, page two fails once; the HTTP client may not retry (maxRetries 0), so the activity fails.
      sim2.faults.add({ path: /^\/v1\/workflow-runs$/, status: 500, times: 1, after: 1 });
      const res = await h2.sync('resume');
      const lists = sim2.requests.filter((r) => r.path === '/v1/workflow-runs');
      const firstPage = lists.filter((r) => !r.query.cursor);
      expect(lists.map((r) => r.status)).toEqual([200, 500, 200, 200]);
      expect(firstPage.length).toBe(1);
      // Counts of the failed attempt are carried over: every run counted once.
      expect(res.counts.runs_new).toBe(sim2.truth().runs.length);
      const [c] = await h2.query<any>(`SELECT count() c FROM runs`);
      expect(num(c.c)).toBe(sim2.truth().runs.length);
    } finally {
      await h2.close();
      await sim2.close();
    }
  });
});
