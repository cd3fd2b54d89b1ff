import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnonSimulator, type AnonSimulator } from '../../simulators/anon.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { chTime, msBetween, num, runsAgainstTruth } from '../helpers/compare.js';
import { expectNoSecretsInWarehouse } from '../helpers/secrets.js';

// The contract's status table for Anon, written out independently of providers/anon.ts.
const CONTRACT: Record<string, [string, number]> = {
  PENDING: ['queued', 0],
  IN_PROGRESS: ['running', 0],
  AWAITING_USER_INPUT: ['waiting', 0],
  COMPLETED: ['succeeded', 1],
  COMPLETED_WITH_NO_ACTION_TAKEN: ['succeeded', 1],
  FAILED: ['failed', 1],
};

let simA: AnonSimulator; // the default (assumed) list shape
let simB: AnonSimulator; // another list shape: page/pageSize, renamed fields and path
let h: Harness;

async function expectWarehouseMatchesTruth(source: string, sim: AnonSimulator) {
  const truth = sim.truth();
  const { runs, truthOf } = await runsAgainstTruth(h, source, truth.runs, (r) => r.id);
  for (const row of runs) {
    const r = truthOf(row);
    const [status, terminal] = CONTRACT[r.status];
    expect({
      provider: row.provider,
      workflow_id: row.workflow_id,
      provider_status: row.provider_status,
      status: row.status,
      is_terminal: num(row.is_terminal),
      created_at: row.created_at,
      started_at: row.started_at,
      finished_at: row.finished_at,
      updated_at: row.updated_at,
      queue_ms: num(row.queue_ms),
      duration_ms: num(row.duration_ms),
      total_ms: num(row.total_ms),
      triggered_by: row.triggered_by,
      job_run_id: row.attributes.job_run_id ?? null,
      current_state: row.attributes.current_state ?? null,
    }).toEqual({
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
    });
  }
  const dup = await h.query<any>(`SELECT run_id, count() c FROM runs WHERE source = {s:String} GROUP BY run_id HAVING c > 1`, { s: source });
  expect(dup).toEqual([]);
  return runs;
}

const base = { tokenEnv: 'ANON_TOKEN', lookback: '30m', settle: '0s', backfill: '30d', rateLimit: 500 };

beforeAll(async () => {
  simA = await startAnonSimulator({ seed: 8, initialRuns: 140, runsPerHour: 30, start: Date.now() - 3_600_000 });
  simB = await startAnonSimulator({
    seed: 9,
    initialRuns: 90,
    runsPerHour: 30,
    start: Date.now() - 3_600_000,
    tokens: ['anon_test_token'],
    list: { style: 'page', path: '/runs', params: { page: 'p', pageSize: 'per_page' }, fields: { items: 'results', total: 'count' }, maxLimit: 25 },
  });
  h = await startHarness({
    sources: [
      { ...base, name: 'anon-default', provider: 'anon', baseUrl: simA.url },
      {
        ...base,
        name: 'anon-paged',
        provider: 'anon',
        baseUrl: simB.url,
        options: { list: { path: '/runs', style: 'page', pageParam: 'p', limitParam: 'per_page', limit: 25, items: 'results', total: 'count' } },
      },
    ],
    env: { ANON_TOKEN: simA.token },
  });
});

afterAll(async () => {
  await h?.close();
  await simA?.close();
  await simB?.close();
});

describe('Anon through Temporal into ClickHouse', () => {
  it('default list configuration: first sync lands exactly the simulator runs', async () => {
    const res = await h.sync('anon-default');
    const runs = await expectWarehouseMatchesTruth('anon-default', simA);
    expect(res.counts.runs_new).toBe(runs.length);
    const lists = simA.requests.filter((r) => r.path === '/api/v2/workflow-runs');
    expect(lists.length).toBeGreaterThan(1);
    expect(lists.slice(1).every((r) => typeof r.query.cursor === 'string')).toBe(true);
  });

  it('a non-default list configuration (page numbers, renamed fields and path) works too', async () => {
    const res = await h.sync('anon-paged');
    const runs = await expectWarehouseMatchesTruth('anon-paged', simB);
    expect(res.counts.runs_new).toBe(runs.length);
    const lists = simB.requests.filter((r) => r.path === '/api/v2/runs');
    expect(lists.map((r) => r.query.p)).toEqual(Array.from({ length: Math.ceil(runs.length / 25) }, (_, i) => String(i + 1)));
  });

  it('a later sync picks up changed runs by updatedAt and leaves unchanged ones alone', async () => {
    const open = await h.query<{ run_id: string }>(`SELECT run_id FROM runs WHERE source = 'anon-default' AND is_terminal = 0`);
    expect(open.length).toBeGreaterThan(0);
    // Nothing moved: updatedAt shows every change, so a run listed unchanged is not fetched;
    // only open runs the listing did not reach are polled by id, each once; nothing is written.
    simA.clearRequests();
    const idle = await h.sync('anon-default');
    expect(idle.counts.runs_new + idle.counts.runs_updated).toBe(0);
    expect(idle.counts.rows_written).toBe(0);
    const fetched = simA.requests.filter((r) => r.path.startsWith('/api/v2/workflow-runs/')).map((r) => decodeURIComponent(r.path.split('/').pop()!));
    const openIds = new Set(open.map((r) => r.run_id));
    expect(fetched.filter((id) => !openIds.has(id))).toEqual([]);
    expect(new Set(fetched).size).toBe(fetched.length);
    simA.advance(2 * 3_600_000);
    simB.advance(2 * 3_600_000);
    const a = await h.sync('anon-default');
    const b = await h.sync('anon-paged');
    expect(a.counts.runs_new).toBeGreaterThan(0);
    expect(a.counts.runs_updated).toBeGreaterThan(0);
    expect(b.counts.runs_new).toBeGreaterThan(0);
    await expectWarehouseMatchesTruth('anon-default', simA);
    await expectWarehouseMatchesTruth('anon-paged', simB);
  });

  it('a malformed list record is quarantined; no token lands in the warehouse', async () => {
    simA.advance(20 * 60_000);
    simA.faults.malformed(1, { path: /^\/api\/v2\/workflow-runs$/ });
    const res = await h.sync('anon-default');
    expect(res.counts.quarantined).toBe(1);
    await h.sync('anon-default');
    await expectWarehouseMatchesTruth('anon-default', simA);
    await expectNoSecretsInWarehouse(h, [simA.token]);
  });
});
