import { afterEach, describe, expect, it } from 'vitest';
import { startB3osSimulator, type B3osRun, type B3osSimulator } from '../../simulators/b3os.js';
import { get } from './http.js';

const sims: B3osSimulator[] = [];
async function start(o: Parameters<typeof startB3osSimulator>[0] = {}) {
  const s = await startB3osSimulator(o);
  sims.push(s);
  return s;
}
afterEach(async () => {
  while (sims.length) await sims.pop()!.close();
});

const summary = (d: any): B3osRun => {
  const { executionState: _e, workflowDefinition: _w, propValues: _p, ...rest } = d;
  return rest;
};

describe('b3os simulator', () => {
  it('wraps every answer, errors included, in {code, data, message, requestId}', async () => {
    const s = await start();
    const a = await get(`${s.url}/v1/workflows`);
    expect(a.status).toBe(401);
    expect(a.body).toMatchObject({ code: 401, data: null, message: 'unauthorized' });
    expect(typeof a.body.requestId).toBe('string');
    const w = await get(`${s.url}/v1/workflows`, s.token);
    expect(w.body.code).toBe(200);
    expect(w.body.data.items).toEqual(s.truth().workflows);
    expect(w.body.data).toMatchObject({ hasMore: false, limit: 20, offset: 0 });
    const nf = await get(`${s.url}/v1/workflows/nope/runs`, s.token);
    expect(nf.status).toBe(404);
    expect(nf.body.code).toBe(404);
  });

  it('pages runs by offset, newest startedAt first, equal to truth when nothing moves', async () => {
    const s = await start({ initialRuns: 60 });
    const truth = s.truth();
    for (const wf of truth.workflows) {
      const seen: B3osRun[] = [];
      for (let offset = 0; ; offset += 7) {
        const r = await get(`${s.url}/v1/workflows/${wf.id}/runs?limit=7&offset=${offset}`, s.token);
        seen.push(...r.body.data.items);
        if (!r.body.data.hasMore) break;
      }
      expect(seen).toEqual(truth.runs.filter((x) => x.workflowId === wf.id).map(summary));
    }
    const wf = truth.workflows[0];
    expect((await get(`${s.url}/v1/workflows/${wf.id}/runs?limit=500`, s.token)).body.data.limit).toBe(100);
    const failed = await get(`${s.url}/v1/workflows/${wf.id}/runs?status=failure&limit=100`, s.token);
    for (const r of failed.body.data.items) expect(r.status).toBe('failure');
  });

  it('offset paging shifts when runs arrive between pages: duplicates and missed runs', async () => {
    const s = await start({ initialRuns: 40, runsPerHour: 0 });
    const wf = s.truth().workflows[0];
    const p1 = await get(`${s.url}/v1/workflows/${wf.id}/runs?limit=5&offset=0`, s.token);
    s.insertRunsOnNextListCall(2);
    const p2 = await get(`${s.url}/v1/workflows/${wf.id}/runs?limit=5&offset=5`, s.token);
    const ids1 = p1.body.data.items.map((r: B3osRun) => r.id);
    const ids2 = p2.body.data.items.map((r: B3osRun) => r.id);
    const dups = ids2.filter((id: string) => ids1.includes(id));
    expect(dups).toEqual(ids1.slice(3)); // the last two of page 1 come again
    const newest = s.truth().runs.filter((r) => r.workflowId === wf.id).slice(0, 2).map((r) => r.id);
    for (const id of newest) expect([...ids1, ...ids2]).not.toContain(id); // the new runs are never seen
  });

  it('serves run detail; summary=true drops the large fields', async () => {
    const s = await start({ initialRuns: 20 });
    const run = s.truth().runs[5];
    const full = await get(`${s.url}/v1/runs/${run.id}`, s.token);
    expect(full.body.data).toEqual(run);
    expect(Object.keys(run.executionState).length).toBeGreaterThan(0);
    const short = await get(`${s.url}/v1/runs/${run.id}?summary=true`, s.token);
    expect(short.body.data).toEqual(summary(run));
    expect((await get(`${s.url}/v1/runs/nope`, s.token)).body.code).toBe(404);
  });

  it('limits per organisation with 429 + Retry-After', async () => {
    const s = await start({ tokens: ['b3sk_a', 'b3sk_b'], rateLimit: { limit: 2, windowMs: 60_000 } });
    expect((await get(`${s.url}/v1/workflows`, 'b3sk_a')).status).toBe(200);
    expect((await get(`${s.url}/v1/workflows`, 'b3sk_b', { 'X-Org-ID': 'org_demo' })).status).toBe(200);
    const r = await get(`${s.url}/v1/workflows`, 'b3sk_b');
    expect(r.status).toBe(429);
    expect(r.body.code).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('injects faults and malformed items', async () => {
    const s = await start();
    const wf = s.truth().workflows[1];
    s.faults.add({ status: 500, times: 1, path: /\/runs$/ });
    expect((await get(`${s.url}/v1/workflows/${wf.id}/runs`, s.token)).body.code).toBe(500);
    s.faults.malformed(1);
    const r = await get(`${s.url}/v1/workflows/${wf.id}/runs`, s.token);
    expect(r.body.data.items[0].id).toBeUndefined();
  });

  it('is deterministic, has test/simulation runs, and advance() finishes running runs', async () => {
    const a = await start({ seed: 5, initialRuns: 120 });
    const b = await start({ seed: 5, initialRuns: 120 });
    expect(a.truth()).toEqual(b.truth());
    const t = a.truth();
    expect(t.runs.some((r) => r.isSimulation)).toBe(true);
    expect(t.runs.some((r) => r.isDustTest)).toBe(true);
    const running = t.runs.filter((r) => r.finishedAt === null);
    expect(running.length).toBeGreaterThan(0);
    a.advance(86_400_000);
    const after = new Map(a.truth().runs.map((r) => [r.id, r]));
    for (const r of running) {
      expect(['success', 'failure', 'cancelled', 'partial']).toContain(after.get(r.id)!.status);
      expect(after.get(r.id)!.totalCu).toBeGreaterThanOrEqual(r.totalCu);
    }
  });
});
