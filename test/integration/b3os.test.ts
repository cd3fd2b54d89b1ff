import { expect, it } from 'vitest';
import { startB3osSimulator, type B3osSimulator } from '../../simulators/b3os.js';
import { chTime, msBetween, num } from '../helpers/compare.js';
import { describeProviderSync, oneSource, type ProviderSync } from '../helpers/provider-sync.js';
import { expectNoSecretsInWarehouse } from '../helpers/secrets.js';
import { listedStatus } from '../helpers/truth.js';

// Node states as the contract reads them, written out independently of providers/b3os.ts.
const NODE: Record<string, string> = { pending: 'queued', running: 'running', waiting: 'waiting', success: 'succeeded', failure: 'failed', cancelled: 'cancelled', skipped: 'cancelled' };

const SOURCE = 'b3os-main';

async function expectWarehouseMatchesTruth({ sim, h, expectRuns, expectNoDuplicateRuns }: ProviderSync<B3osSimulator>) {
  const truth = sim.truth();
  const runs = await expectRuns(truth.runs, (r) => r.id, (r) => {
    const [status, terminal] = listedStatus('b3os', r.status);
    const failedNode = Object.values(r.executionState).find((n) => n.error);
    return {
      provider: 'b3os',
      workflow_id: r.workflowId,
      workflow_name: truth.workflows.find((w) => w.id === r.workflowId)!.name,
      workflow_version: String(r.workflowVersion),
      provider_status: r.status,
      status,
      is_terminal: terminal,
      created_at: null,
      started_at: chTime(r.startedAt),
      finished_at: chTime(r.finishedAt),
      duration_ms: msBetween(r.startedAt, r.finishedAt),
      total_ms: null,
      trigger: r.triggerSource,
      triggered_by: r.triggeredBy,
      retry_of_run_id: r.sourceRunId ?? '',
      cost: r.totalCu,
      is_test: r.isSimulation || r.isDustTest ? 1 : 0,
      error: failedNode?.error ?? '',
    };
  });
  const steps = await h.query<any>(`SELECT * FROM steps WHERE source = {s:String}`, { s: SOURCE });
  const expected = truth.runs.flatMap((r) => Object.entries(r.executionState).map(([node, n]) => ({ run_id: r.id, node, n })));
  expect(steps.length).toBe(expected.length);
  const byKey = new Map(steps.map((s) => [`${s.run_id}|${s.step_id}`, s]));
  for (const { run_id, node, n } of expected) {
    const s = byKey.get(`${run_id}|${node}`);
    expect(s, `${run_id} node ${node}`).toBeDefined();
    expect({ step_ref: s.step_ref, provider_status: s.provider_status, status: s.status, started_at: s.started_at, finished_at: s.finished_at, error: s.error }).toEqual({
      step_ref: node,
      provider_status: n.status,
      status: NODE[n.status],
      started_at: chTime(n.startedAt),
      finished_at: chTime(n.finishedAt),
      error: n.error ?? '',
    });
  }
  await expectNoDuplicateRuns();
  return { runs, truth };
}

describeProviderSync(
  'B3OS through Temporal into ClickHouse',
  {
    simulators: () => startB3osSimulator({ seed: 3, initialRuns: 420, runsPerHour: 30, start: Date.now() - 3_600_000 }),
    sources: (sim) => oneSource(sim, { name: SOURCE, options: { orgId: 'org_demo' } }),
  },
  (p) => {
    const detailCalls = () => p.sim.requests.filter((r) => r.path.startsWith('/v1/runs/'));
    const runListCalls = () => p.sim.requests.filter((r) => /^\/v1\/workflows\/[^/]+\/runs$/.test(r.path));

    it('first sync lands exactly the simulator runs and node states, field by field', async () => {
      const res = await p.sync();
      const { runs } = await expectWarehouseMatchesTruth(p);
      expect(res.counts.runs_new).toBe(runs.length);
      expect(detailCalls().length).toBe(runs.length);
      // Several workflows with more than a page of runs each: offset paging was exercised.
      expect(runListCalls().some((r) => r.query.offset && r.query.offset !== '0')).toBe(true);
    });

    it('offset pages shifted by arriving runs: overlap and dedupe, every run fetched once, none lost', async () => {
      p.sim.advance(10 * 60_000);
      p.sim.clearRequests();
      // New runs land at the top right before several list calls: the pages after them shift down.
      let seen = 0;
      let shifts = 0;
      p.sim.insertRunsOnNextListCall(7);
      const timer = setInterval(() => {
        const n = runListCalls().length;
        if (n > seen && shifts < 6) {
          seen = n;
          shifts++;
          p.sim.insertRunsOnNextListCall(7);
        }
      }, 2);
      let res;
      try {
        // Every listed run is due for a re-fetch, so a run seen twice at a page edge would be fetched twice.
        res = await p.withSource({ settle: '30d' }, () => p.sync());
      } finally {
        clearInterval(timer);
      }
      expect(shifts).toBeGreaterThan(2);
      const fetched = detailCalls().map((r) => r.path);
      expect(fetched.length).toBeGreaterThan(300);
      expect(new Set(fetched).size).toBe(fetched.length);
      expect(res.counts.runs_new + res.counts.runs_updated + res.counts.runs_polled).toBe(fetched.length);
      // Runs that arrived mid-listing are picked up by the next sync; then nothing is missing.
      await p.sync();
      await expectWarehouseMatchesTruth(p);
    });

    it('a later sync picks up runs that finished and new ones', async () => {
      const open = await p.h.query<any>(`SELECT count() c FROM runs WHERE is_terminal = 0`);
      expect(num(open[0].c)).toBeGreaterThan(0);
      p.sim.advance(2 * 3_600_000);
      const res = await p.sync();
      expect(res.counts.runs_new).toBeGreaterThan(0);
      expect(res.counts.runs_updated).toBeGreaterThan(0);
      await expectWarehouseMatchesTruth(p);
    });

    it('a sync with nothing changed at the provider writes no rows (workflow names included)', async () => {
      const before = await p.h.query<any>('SELECT count() c FROM workflow_names');
      const res = await p.sync();
      expect(res.counts.rows_written).toBe(0);
      expect(await p.h.query<any>('SELECT count() c FROM workflow_names')).toEqual(before);
      expect(num(before[0].c)).toBeGreaterThan(0);
    });

    it('a non-200 envelope code is an error even on HTTP 200; 429 with Retry-After is waited out', async () => {
      p.sim.advance(15 * 60_000);
      p.sim.faults.add({ path: /^\/v1\/runs\//, status: 200, times: 2, body: JSON.stringify({ code: 500, data: null, message: 'internal error', requestId: 'req_x' }) });
      p.sim.faults.add({ path: /^\/v1\/workflows$/, status: 429, retryAfterSeconds: 1, times: 1 });
      const res = await p.sync();
      expect(p.sim.faults.pending().faults).toBe(0);
      expect(res.counts.retries).toBeGreaterThanOrEqual(3);
      expect(res.counts.quarantined).toBe(0);
      await expectWarehouseMatchesTruth(p);
      await expectNoSecretsInWarehouse(p.h, [p.sim.token]);
    });

    it("one workflow's failing run list does not stop the others, and holds the watermark", async () => {
      const [before] = await p.h.query<any>(`SELECT watermark FROM sync_state FINAL`);
      p.sim.advance(30 * 60_000);
      const bad = p.sim.truth().workflows[0].id;
      p.sim.faults.add({ path: new RegExp(`^/v1/workflows/${bad}/runs$`), status: 400, times: 1, body: JSON.stringify({ code: 400, data: null, message: 'bad request', requestId: 'r' }) });
      const res = await p.sync();
      expect(res.counts.quarantined).toBe(1);
      const [q] = await p.h.query<any>(`SELECT record_key, reason FROM quarantine WHERE severity = 'error'`);
      expect(q.record_key).toBe(bad);
      expect(q.reason).toMatch(/could not be listed: .*HTTP 400/);
      const [after] = await p.h.query<any>(`SELECT watermark FROM sync_state FINAL`);
      expect(after.watermark).toBe(before.watermark);
      // Every other workflow's runs are in; the next sync completes the picture.
      const others = p.sim.truth().runs.filter((r) => r.workflowId !== bad).map((r) => r.id);
      const have = new Set((await p.h.query<{ run_id: string }>(`SELECT run_id FROM runs`)).map((r) => r.run_id));
      expect(others.filter((id) => !have.has(id))).toEqual([]);
      await p.sync();
      await expectWarehouseMatchesTruth(p);
    });
  },
);
