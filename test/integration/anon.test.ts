import { expect, it } from 'vitest';
import { startAnonSimulator, type AnonSimulator } from '../../simulators/anon.js';
import { chTime, msBetween } from '../helpers/compare.js';
import { describeProviderSync, type ProviderSync } from '../helpers/provider-sync.js';
import { expectNoSecretsInWarehouse } from '../helpers/secrets.js';
import { listedStatus } from '../helpers/truth.js';

type Sims = { a: AnonSimulator; b: AnonSimulator };

async function expectWarehouseMatchesTruth(p: ProviderSync<Sims>, source: string, sim: AnonSimulator) {
  const truth = sim.truth();
  const runs = await p.expectRuns(
    truth.runs,
    (r) => r.id,
    (r) => {
      const [status, terminal] = listedStatus('anon', r.status);
      return {
        provider: 'anon',
        workflow_id: r.workflowId,
        provider_status: r.status,
        status,
        is_terminal: terminal,
        created_at: chTime(r.createdAt),
        started_at: null,
        finished_at: chTime(r.completedAt),
        updated_at: chTime(r.updatedAt),
        queue_ms: null,
        duration_ms: null,
        total_ms: msBetween(r.createdAt, r.completedAt),
        triggered_by: r.createdByUserId,
        job_run_id: r.jobRunId,
        current_state: r.currentStateName,
      };
    },
    { source, derived: { job_run_id: (row) => row.attributes.job_run_id ?? null, current_state: (row) => row.attributes.current_state ?? null } },
  );
  await p.expectNoDuplicateRuns(source);
  return runs;
}

const base = { tokenEnv: 'ANON_TOKEN', lookback: '30m', settle: '0s', backfill: '30d', rateLimit: 500 };

describeProviderSync(
  'Anon through Temporal into ClickHouse',
  {
    simulators: async (): Promise<Sims> => ({
      // The default (assumed) list shape.
      a: await startAnonSimulator({ seed: 8, initialRuns: 140, runsPerHour: 30, start: Date.now() - 3_600_000 }),
      // Another list shape: page/pageSize, renamed fields and path.
      b: await startAnonSimulator({
        seed: 9,
        initialRuns: 90,
        runsPerHour: 30,
        start: Date.now() - 3_600_000,
        tokens: ['anon_test_token'],
        list: { style: 'page', path: '/runs', params: { page: 'p', pageSize: 'per_page' }, fields: { items: 'results', total: 'count' }, maxLimit: 25 },
      }),
    }),
    sources: ({ a, b }) => ({
      sources: [
        { ...base, name: 'anon-default', provider: 'anon', baseUrl: a.url },
        {
          ...base,
          name: 'anon-paged',
          provider: 'anon',
          baseUrl: b.url,
          options: { list: { path: '/runs', style: 'page', pageParam: 'p', limitParam: 'per_page', limit: 25, items: 'results', total: 'count' } },
        },
      ],
      env: { ANON_TOKEN: a.token },
    }),
  },
  (p) => {
    it('default list configuration: first sync lands exactly the simulator runs', async () => {
      const res = await p.sync('anon-default');
      const runs = await expectWarehouseMatchesTruth(p, 'anon-default', p.sim.a);
      expect(res.counts.runs_new).toBe(runs.length);
      const lists = p.sim.a.requests.filter((r) => r.path === '/api/v2/workflow-runs');
      expect(lists.length).toBeGreaterThan(1);
      expect(lists.slice(1).every((r) => typeof r.query.cursor === 'string')).toBe(true);
    });

    it('a non-default list configuration (page numbers, renamed fields and path) works too', async () => {
      const res = await p.sync('anon-paged');
      const runs = await expectWarehouseMatchesTruth(p, 'anon-paged', p.sim.b);
      expect(res.counts.runs_new).toBe(runs.length);
      const lists = p.sim.b.requests.filter((r) => r.path === '/api/v2/runs');
      expect(lists.map((r) => r.query.p)).toEqual(Array.from({ length: Math.ceil(runs.length / 25) }, (_, i) => String(i + 1)));
    });

    it('a later sync picks up changed runs by updatedAt and leaves unchanged ones alone', async () => {
      const open = await p.h.query<{ run_id: string }>(`SELECT run_id FROM runs WHERE source = 'anon-default' AND is_terminal = 0`);
      expect(open.length).toBeGreaterThan(0);
      // Nothing moved: updatedAt shows every change, so a run listed unchanged is not fetched;
      // only open runs the listing did not reach are polled by id, each once; nothing is written.
      p.sim.a.clearRequests();
      const idle = await p.sync('anon-default');
      expect(idle.counts.runs_new + idle.counts.runs_updated).toBe(0);
      expect(idle.counts.rows_written).toBe(0);
      const fetched = p.sim.a.requests.filter((r) => r.path.startsWith('/api/v2/workflow-runs/')).map((r) => decodeURIComponent(r.path.split('/').pop()!));
      const openIds = new Set(open.map((r) => r.run_id));
      expect(fetched.filter((id) => !openIds.has(id))).toEqual([]);
      expect(new Set(fetched).size).toBe(fetched.length);
      p.sim.a.advance(2 * 3_600_000);
      p.sim.b.advance(2 * 3_600_000);
      const a = await p.sync('anon-default');
      const b = await p.sync('anon-paged');
      expect(a.counts.runs_new).toBeGreaterThan(0);
      expect(a.counts.runs_updated).toBeGreaterThan(0);
      expect(b.counts.runs_new).toBeGreaterThan(0);
      await expectWarehouseMatchesTruth(p, 'anon-default', p.sim.a);
      await expectWarehouseMatchesTruth(p, 'anon-paged', p.sim.b);
    });

    it('a malformed list record is quarantined; no token lands in the warehouse', async () => {
      p.sim.a.advance(20 * 60_000);
      p.sim.a.faults.malformed(1, { path: /^\/api\/v2\/workflow-runs$/ });
      const res = await p.sync('anon-default');
      expect(res.counts.quarantined).toBe(1);
      await p.sync('anon-default');
      await expectWarehouseMatchesTruth(p, 'anon-default', p.sim.a);
      await expectNoSecretsInWarehouse(p.h, [p.sim.a.token]);
    });
  },
);
