import { expect, it } from 'vitest';
import { startStraitSimulator, type StraitSimulator, type StraitRun } from '../../simulators/strait.js';
import { chTime, msBetween, num } from '../helpers/compare.js';
import { describeProviderSync, oneSource, type ProviderSync } from '../helpers/provider-sync.js';
import { expectNoSecretsInWarehouse } from '../helpers/secrets.js';
import { listedStatus } from '../helpers/truth.js';

const SOURCE = 'strait-main';

async function expectWarehouseMatchesTruth({ sim, h, expectRuns }: ProviderSync<StraitSimulator>) {
  const truth = sim.truth();
  const runs = await expectRuns<StraitRun>(truth.runs, (r) => r.id, (r) => {
    const [status, terminal] = listedStatus('strait', r.status);
    return {
      provider: 'strait',
      workflow_id: r.workflow_id,
      workflow_version: String(r.workflow_version),
      provider_status: r.status,
      status,
      is_terminal: terminal,
      created_at: chTime(r.created_at),
      started_at: chTime(r.started_at),
      finished_at: chTime(r.finished_at),
      error: r.error ?? '',
      retry_of_run_id: r.retry_of_run_id ?? '',
      parent_run_id: r.parent_workflow_run_id ?? '',
      queue_ms: msBetween(r.created_at, r.started_at),
      duration_ms: msBetween(r.started_at, r.finished_at),
      total_ms: msBetween(r.created_at, r.finished_at),
    };
  });
  const steps = await h.query<any>(`SELECT * FROM steps WHERE source = {s:String}`, { s: SOURCE });
  const expectedSteps = Object.values(truth.steps).flat();
  expect(steps.length).toBe(expectedSteps.length);
  const stepById = new Map(steps.map((s) => [s.step_id, s]));
  for (const s of expectedSteps) {
    const row = stepById.get(s.id);
    expect(row, `step ${s.id} of run ${s.workflow_run_id}`).toBeDefined();
    expect({ run_id: row.run_id, step_ref: row.step_ref, attempt: num(row.attempt), provider_status: row.provider_status, started_at: row.started_at, finished_at: row.finished_at, error: row.error }).toEqual({
      run_id: s.workflow_run_id,
      step_ref: s.step_ref,
      attempt: s.attempt,
      provider_status: s.status,
      started_at: chTime(s.started_at),
      finished_at: chTime(s.finished_at),
      error: s.error ?? '',
    });
  }
  return { runs, steps, truth };
}

describeProviderSync(
  'Strait through Temporal into ClickHouse',
  {
    // Simulated time runs close to the wall clock so windows based on "now" line up.
    simulators: () => startStraitSimulator({ seed: 11, initialRuns: 230, runsPerHour: 30, start: Date.now() - 3_600_000 }),
    sources: (sim) => oneSource(sim, { name: SOURCE, options: { projectId: 'proj_demo' } }),
  },
  (p) => {
    const listCalls = () => p.sim.requests.filter((r) => r.path === '/v1/workflow-runs');
    const stepCalls = () => p.sim.requests.filter((r) => /^\/v1\/workflow-runs\/[^/]+\/steps$/.test(r.path));
    const detailCalls = () => p.sim.requests.filter((r) => /^\/v1\/workflow-runs\/[^/]+$/.test(r.path));

    it('first sync lands exactly the simulator runs and steps, field by field', async () => {
      const res = await p.sync();
      const { runs } = await expectWarehouseMatchesTruth(p);
      expect(res.counts.runs_new).toBe(runs.length);
      expect(listCalls().length).toBe(Math.ceil(runs.length / 100) + (runs.length % 100 === 0 ? 1 : 0));
      const [sr] = await p.h.query<any>(`SELECT * FROM sync_runs WHERE source = {s:String}`, { s: SOURCE });
      expect(sr.status).toBe('succeeded');
      expect(num(sr.runs_new)).toBe(runs.length);
      const [state] = await p.h.query<any>(`SELECT watermark FROM sync_state FINAL WHERE source = {s:String}`, { s: SOURCE });
      expect(state.watermark).toBe(chTime(p.sim.truth().runs[0].created_at));
    });

    it('a second sync with nothing new writes no duplicates and makes only the calls it needs', async () => {
      const open = await p.h.query<{ run_id: string }>(`SELECT run_id FROM runs WHERE source = {s:String} AND is_terminal = 0`, { s: SOURCE });
      p.sim.clearRequests();
      const res = await p.sync();
      expect(res.counts.runs_new).toBe(0);
      expect(res.counts.runs_updated).toBe(0);
      // Nothing changed: no row is written again.
      expect(res.counts.rows_written).toBe(0);
      // One list page reaches below the window; open runs are re-read (their steps); nothing else.
      expect(listCalls().length).toBe(1);
      expect(stepCalls().length).toBe(open.length);
      expect(detailCalls().length).toBe(0);
      expect(p.sim.requests.length).toBe(1 + open.length);
      const dup = await p.h.query<any>(`SELECT run_id, count() c FROM runs GROUP BY run_id HAVING c > 1`);
      expect(dup).toEqual([]);
      await expectWarehouseMatchesTruth(p);
    });

    it('runs that finish between syncs are updated, new runs are added', async () => {
      const before = await p.h.query<{ run_id: string }>(`SELECT run_id FROM runs WHERE is_terminal = 0`);
      expect(before.length).toBeGreaterThan(0);
      p.sim.advance(3 * 3_600_000);
      const res = await p.sync();
      expect(res.counts.runs_new).toBeGreaterThan(0);
      expect(res.counts.runs_updated).toBeGreaterThan(0);
      await expectWarehouseMatchesTruth(p);
    });

    it('a run that changes after it was terminal (compensation) is updated', async () => {
      const truth = p.sim.truth();
      // A failed run, finished, older than the listing window: only re-polling can see it change.
      const target = truth.runs.find((r) => r.status === 'failed' && Date.parse(r.created_at) < p.sim.clock.now() - 2 * 3_600_000)!;
      expect(target).toBeDefined();
      // Keep it within the settle window so it is re-polled, as a real deployment's default (1h) would.
      const [row] = await p.h.query<any>(`SELECT finished_at FROM runs WHERE run_id = {id:String}`, { id: target.id });
      expect(row.finished_at).not.toBeNull();
      await p.withSource({ settle: '30d' }, async () => {
        p.sim.compensate(target.id);
        p.sim.advance(120_000);
        expect(p.sim.truth().runs.find((r) => r.id === target.id)!.status).toMatch(/^compensat/);
        await p.sync();
      });
      const [after] = await p.h.query<any>(`SELECT provider_status, status FROM runs WHERE run_id = {id:String}`, { id: target.id });
      expect(after.provider_status).toBe(p.sim.truth().runs.find((r) => r.id === target.id)!.status);
      expect(after.status).toBe('failed');
      await expectWarehouseMatchesTruth(p);
    });

    it('survives a 429 burst and a few 500s with nothing lost', async () => {
      p.sim.advance(30 * 60_000);
      p.sim.faults.add({ path: /^\/v1\/workflow-runs$/, status: 429, retryAfterSeconds: 1, times: 3 });
      p.sim.faults.add({ path: /\/steps$/, status: 500, times: 3 });
      p.sim.faults.add({ path: /\/steps$/, status: 503, times: 1 });
      const res = await p.sync();
      expect(p.sim.faults.pending().faults).toBe(0);
      expect(res.counts.rate_limited).toBeGreaterThanOrEqual(3);
      expect(res.counts.retries).toBeGreaterThanOrEqual(7);
      await expectWarehouseMatchesTruth(p);
      const [sr] = await p.h.query<any>(`SELECT retries, rate_limited FROM sync_runs WHERE sync_id = (SELECT argMax(sync_id, started_at) FROM sync_runs)`);
      expect(num(sr.rate_limited)).toBeGreaterThanOrEqual(3);
    });

    it('a record failing validation lands in quarantine and the rest of the page lands', async () => {
      p.sim.advance(20 * 60_000);
      p.sim.faults.malformed(1, { path: /^\/v1\/workflow-runs$/ });
      const res = await p.sync();
      expect(p.sim.faults.malformedLog.length).toBe(1);
      const bad = p.sim.faults.malformedLog[0];
      expect(res.counts.quarantined).toBe(1);
      const q = await p.h.query<any>(`SELECT * FROM quarantine WHERE severity = 'error'`);
      expect(q.length).toBe(1);
      expect(q[0].endpoint).toBe('GET /v1/workflow-runs');
      expect(q[0].reason).toMatch(/invalid list item: \w+/);
      expect(q[0].source).toBe(SOURCE);
      // Every other run of the page is there; the corrupted one is fetched correctly next time.
      const truthIds = p.sim.truth().runs.map((r) => r.id);
      const have = new Set((await p.h.query<{ run_id: string }>(`SELECT run_id FROM runs`)).map((r) => r.run_id));
      const missing = truthIds.filter((id) => !have.has(id));
      expect(missing.every((id) => id === bad.id)).toBe(true);
      await p.sync();
      await expectWarehouseMatchesTruth(p);
    });

    it('keeps runs that share created_at across a page edge', async () => {
      const now = p.sim.clock.now();
      // 100 newer runs push a group of 6 runs with one exact timestamp across the 100-item page edge.
      const tie = p.sim.addRuns(6, { createdAt: now - 60_000 });
      for (let i = 0; i < 97; i++) p.sim.addRuns(1, { createdAt: now - 50_000 + i * 100 });
      const res = await p.sync();
      expect(res.counts.runs_new).toBeGreaterThanOrEqual(103);
      const have = new Set((await p.h.query<{ run_id: string }>(`SELECT run_id FROM runs`)).map((r) => r.run_id));
      for (const id of tie) expect(have.has(id), `run ${id} sharing created_at`).toBe(true);
      await expectWarehouseMatchesTruth(p);
    });

    it('a wrong token fails that source with a clear error and writes no cursor', async () => {
      const [before] = await p.h.query<any>(`SELECT watermark, last_sync_id FROM sync_state FINAL`);
      p.sim.advance(10 * 60_000);
      const message = await p.withEnv({ STRAIT_TOKEN: 'strait_wrong_token_value' }, () => p.syncFailure());
      expect(message).toMatch(/HTTP 401/);
      expect(message).toMatch(/token was refused/);
      expect(message).not.toContain('strait_wrong_token_value');
      const [after] = await p.h.query<any>(`SELECT watermark, last_sync_id FROM sync_state FINAL`);
      expect(after).toEqual(before);
      const [last] = await p.h.query<any>(`SELECT status, error FROM sync_runs ORDER BY started_at DESC LIMIT 1`);
      expect(last.status).toBe('failed');
      expect(last.error).toMatch(/401/);
      await expectNoSecretsInWarehouse(p.h, [p.sim.token, 'strait_wrong_token_value']);
    });
  },
);
