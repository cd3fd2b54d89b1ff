import { afterEach, describe, expect, it } from 'vitest';
import { startAnonSimulator, type AnonRun, type AnonSimulator } from '../../simulators/anon.js';
import { get, type Got } from './http.js';

const sims: AnonSimulator[] = [];
async function start(o: Parameters<typeof startAnonSimulator>[0] = {}) {
  const s = await startAnonSimulator(o);
  sims.push(s);
  return s;
}
afterEach(async () => {
  while (sims.length) await sims.pop()!.close();
});

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/;

describe('anon simulator', () => {
  it('serves the documented run fields, uuids and statuses; 401/400/404', async () => {
    const s = await start({ initialRuns: 60 });
    expect(s.url).toMatch(/\/api\/v2$/);
    const runs = s.truth().runs;
    const r = await get(`${s.url}/workflow-runs/${runs[0].id}`, s.token);
    expect(r.body).toEqual(runs[0]);
    expect(Object.keys(r.body)).toEqual(['id', 'workflowId', 'status', 'completedAt', 'createdAt', 'updatedAt', 'createdByUserId', 'jobRunId', 'currentStateName']);
    for (const x of runs) {
      for (const id of [x.id, x.workflowId, x.createdByUserId]) expect(id).toMatch(UUID_V4);
      expect(x.createdAt).toMatch(TIME);
      expect(x.updatedAt).toMatch(TIME);
      if (['COMPLETED', 'COMPLETED_WITH_NO_ACTION_TAKEN', 'FAILED'].includes(x.status)) expect(x.completedAt).toMatch(TIME);
      else expect(x.completedAt).toBeNull();
    }
    expect(new Set(runs.map((x) => x.status)).has('COMPLETED')).toBe(true);
    expect((await get(`${s.url}/workflow-runs/${runs[0].id}`)).status).toBe(401);
    expect((await get(`${s.url}/workflow-runs/not-a-uuid`, s.token)).status).toBe(400);
    expect((await get(`${s.url}/workflow-runs/3c90c3cc-0d44-4b50-8888-8dd25736052a`, s.token)).status).toBe(404);
  });

  it('ASSUMED list (cursor style): pages newest first with nextCursor, no duplicates', async () => {
    const s = await start({ initialRuns: 33 });
    const seen: AnonRun[] = [];
    let cursor: string | null = null;
    do {
      const r: Got = await get(`${s.url}/workflow-runs?limit=10${cursor ? `&cursor=${cursor}` : ''}`, s.token);
      expect(r.status).toBe(200);
      seen.push(...r.body.data);
      cursor = r.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(s.truth().runs);
    expect(new Set(seen.map((x) => x.id)).size).toBe(seen.length);
    expect((await get(`${s.url}/workflow-runs`, s.token)).body.data.length).toBe(33);
  });

  it('list shape is configurable (page style, custom names)', async () => {
    const s = await start({ initialRuns: 25, list: { style: 'page', path: '/runs', params: { page: 'p', pageSize: 'per_page' }, fields: { items: 'results' } } });
    const a = await get(`${s.url}/runs?p=1&per_page=10`, s.token);
    expect(a.body.total).toBe(25);
    expect(a.body.results.length).toBe(10);
    const c = await get(`${s.url}/runs?p=3&per_page=10`, s.token);
    expect([...a.body.results, ...(await get(`${s.url}/runs?p=2&per_page=10`, s.token)).body.results, ...c.body.results]).toEqual(s.truth().runs);
    expect((await get(`${s.url}/workflow-runs`, s.token)).status).toBe(404);
    expect(s.requests.at(-1)!.path).toBe('/api/v2/workflow-runs');
  });

  it('updatedAt moves whenever the run changes; advance() finishes runs', async () => {
    const s = await start({ initialRuns: 30 });
    const open = s.truth().runs.filter((r) => r.completedAt === null);
    expect(open.length).toBeGreaterThan(0);
    let changed = 0;
    for (let i = 0; i < 48; i++) {
      const before = new Map(s.truth().runs.map((r) => [r.id, r]));
      s.advance(30 * 60_000);
      for (const r of s.truth().runs) {
        const b = before.get(r.id);
        if (!b) continue;
        const { updatedAt: u1, ...rest1 } = b;
        const { updatedAt: u2, ...rest2 } = r;
        if (JSON.stringify(rest1) !== JSON.stringify(rest2)) {
          expect(Date.parse(u2)).toBeGreaterThan(Date.parse(u1));
          changed++;
        }
      }
    }
    expect(changed).toBeGreaterThan(0);
    const now = new Map(s.truth().runs.map((r) => [r.id, r]));
    for (const r of open) expect(now.get(r.id)!.completedAt).not.toBeNull();
  });

  it('a configured rate limit answers 429 without Retry-After; faults and malformed records', async () => {
    const s = await start({ rateLimit: { limit: 1, windowMs: 60_000 } });
    expect((await get(`${s.url}/workflow-runs`, s.token)).status).toBe(200);
    const r = await get(`${s.url}/workflow-runs`, s.token);
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBeNull();

    const t = await start({ seed: 2 });
    t.faults.add({ status: 500, times: 1 });
    expect((await get(`${t.url}/workflow-runs`, t.token)).status).toBe(500);
    t.faults.malformed(2);
    const bad = await get(`${t.url}/workflow-runs?limit=2`, t.token);
    expect(bad.body.data[0].id).toBeUndefined();
    expect(bad.body.data[1].createdAt).toBe(42);
  });

  it('is deterministic', async () => {
    const a = await start({ seed: 11 });
    const b = await start({ seed: 11 });
    a.advance(7_200_000);
    b.advance(3_600_000);
    b.advance(3_600_000);
    expect(a.truth()).toEqual(b.truth());
  });
});
