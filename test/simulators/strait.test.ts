import { afterEach, describe, expect, it } from 'vitest';
import { startStraitSimulator, type StraitRun, type StraitSimulator } from '../../simulators/strait.js';
import { get } from './http.js';

const sims: StraitSimulator[] = [];
async function start(o: Parameters<typeof startStraitSimulator>[0] = {}) {
  const s = await startStraitSimulator(o);
  sims.push(s);
  return s;
}
afterEach(async () => {
  while (sims.length) await sims.pop()!.close();
});

const listUrl = (s: StraitSimulator, q: Record<string, string | number> = {}) =>
  `${s.url}/v1/workflow-runs?${new URLSearchParams({ project_id: 'proj_demo', ...Object.fromEntries(Object.entries(q).map(([k, v]) => [k, String(v)])) })}`;

/** created_at + 1 ns, keeping 9 fraction digits. */
function plusOneNs(ts: string): string {
  const m = /^(.*)\.(\d{9})Z$/.exec(ts)!;
  const ns = BigInt(Date.parse(m[1] + 'Z')) * 1_000_000_000n / 1000n + BigInt(m[2]) + 1n;
  const sec = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return new Date(Number(sec) * 1000).toISOString().slice(0, 19) + '.' + frac + 'Z';
}

describe('strait simulator', () => {
  it('refuses missing and wrong tokens with 401 {"error":"unauthorized"}', async () => {
    const s = await start();
    const a = await get(listUrl(s));
    expect(a.status).toBe(401);
    expect(a.body).toEqual({ error: 'unauthorized' });
    const b = await get(listUrl(s), 'strait_wrong');
    expect(b.status).toBe(401);
    const c = await get(listUrl(s), s.token);
    expect(c.status).toBe(200);
    expect(c.headers.get('x-ratelimit-limit')).toBe('100000'); // default limit, headers on every answer
    expect(s.requests.map((r) => r.status)).toEqual([401, 401, 200]);
    expect(s.requests[2].query.project_id).toBe('proj_demo');
  });

  it('validates project_id and the status/tag_key combination', async () => {
    const s = await start();
    expect((await get(`${s.url}/v1/workflow-runs`, s.token)).status).toBe(400);
    expect((await get(listUrl(s, { status: 'failed', tag_key: 'env', tag_value: 'prod' }), s.token)).status).toBe(400);
    expect((await get(listUrl(s, { status: 'nope' }), s.token)).status).toBe(400);
    const ok = await get(listUrl(s, { tag_key: 'env', tag_value: 'prod' }), s.token);
    expect(ok.status).toBe(200);
    for (const r of ok.body.data as StraitRun[]) expect(r.tags?.env).toBe('prod');
  });

  it('pages newest first through every run, no duplicates, equal to truth', async () => {
    const s = await start({ initialRuns: 57 });
    const seen: StraitRun[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 20; i++) {
      const r = await get(listUrl(s, { limit: 10, ...(cursor ? { cursor } : {}) }), s.token);
      expect(r.status).toBe(200);
      seen.push(...r.body.data);
      if (!r.body.has_more) {
        expect(r.body.next_cursor).toBeUndefined();
        break;
      }
      cursor = r.body.next_cursor;
      expect(cursor).toBe(r.body.data[r.body.data.length - 1].created_at);
    }
    const truth = s.truth();
    expect(new Set(seen.map((r) => r.id)).size).toBe(seen.length);
    expect(seen).toEqual(truth.runs);
    expect(truth.runs.length).toBeGreaterThanOrEqual(57);
    for (const r of seen) expect(r.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    // default 50, capped at 100
    expect((await get(listUrl(s), s.token)).body.data.length).toBe(50);
    expect((await get(listUrl(s, { limit: 1000 }), s.token)).body.data.length).toBeLessThanOrEqual(100);
  });

  it('server next_cursor loses runs sharing created_at at a page edge; last created_at + 1ns and dedupe gets all', async () => {
    const s = await start({ initialRuns: 0, runsPerHour: 0 });
    const now = s.clock.now();
    for (let i = 4; i >= 1; i--) s.addRuns(1, { createdAt: now - 3_600_000 - i * 1000 }); // 4 older, distinct
    const tie = s.addRuns(4, { createdAt: now - 1_800_000 }); // 4 sharing one created_at
    s.addRuns(1, { createdAt: now - 60_000 });
    s.addRuns(1, { createdAt: now - 30_000 }); // 2 newer
    const all = s.truth().runs.map((r) => r.id);
    expect(all.length).toBe(10);

    async function walk(nextCursor: (page: StraitRun[], server: string) => string) {
      const got = new Map<string, StraitRun>();
      let cursor: string | undefined;
      let calls = 0;
      for (;;) {
        const r = await get(listUrl(s, { limit: 5, ...(cursor ? { cursor } : {}) }), s.token);
        calls++;
        for (const run of r.body.data as StraitRun[]) got.set(run.id, run);
        if (!r.body.has_more) break;
        cursor = nextCursor(r.body.data, r.body.next_cursor);
      }
      return { ids: [...got.keys()], calls };
    }
    const naive = await walk((_p, server) => server);
    const lost = all.filter((id) => !naive.ids.includes(id));
    expect(lost.length).toBe(1); // page 1 = 2 newer + 3 of the 4 tied runs; the 4th is never served
    for (const id of lost) expect(tie).toContain(id);

    const safe = await walk((page) => plusOneNs(page[page.length - 1].created_at));
    expect(new Set(safe.ids)).toEqual(new Set(all));
  });

  it('serves detail and steps (created_at ASC, paged) exactly as truth, 404 for unknown ids', async () => {
    const s = await start({ initialRuns: 20 });
    const truth = s.truth();
    const run = truth.runs.find((r) => truth.steps[r.id].length >= 3)!;
    const d = await get(`${s.url}/v1/workflow-runs/${run.id}`, s.token);
    expect(d.body).toEqual(run);
    const first = await get(`${s.url}/v1/workflow-runs/${run.id}/steps?limit=2`, s.token);
    expect(first.body.has_more).toBe(true);
    const rest = await get(`${s.url}/v1/workflow-runs/${run.id}/steps?limit=100&cursor=${encodeURIComponent(first.body.next_cursor)}`, s.token);
    expect([...first.body.data, ...rest.body.data]).toEqual(truth.steps[run.id]);
    const ts = truth.steps[run.id].map((x) => x.created_at);
    expect([...ts].sort()).toEqual(ts);
    const nf = await get(`${s.url}/v1/workflow-runs/nope`, s.token);
    expect(nf.status).toBe(404);
    expect(nf.body).toEqual({ error: 'workflow run not found' });
  });

  it('answers 429 with Retry-After and sets X-RateLimit headers', async () => {
    const s = await start({ rateLimit: { limit: 3, windowMs: 60_000 } });
    const rem: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await get(listUrl(s), s.token);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-limit')).toBe('3');
      rem.push(r.headers.get('x-ratelimit-remaining')!);
    }
    expect(rem).toEqual(['2', '1', '0']);
    const r = await get(listUrl(s), s.token);
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(r.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it('injects faults and malformed records', async () => {
    const s = await start();
    s.faults.add({ status: 503, times: 2, path: /\/v1\/workflow-runs$/ });
    expect((await get(listUrl(s), s.token)).status).toBe(503);
    expect((await get(listUrl(s), s.token)).status).toBe(503);
    const ok = await get(listUrl(s), s.token);
    expect(ok.status).toBe(200);
    s.faults.add({ status: 429, retryAfterSeconds: 7, times: 1 });
    const limited = await get(listUrl(s), s.token);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');

    s.faults.malformed(2);
    const bad = await get(listUrl(s, { limit: 3 }), s.token);
    expect(bad.body.data[0].id).toBeUndefined();
    expect(bad.body.data[1].created_at).toBe('not-a-date');
    expect(bad.body.data[2]).toEqual(s.truth().runs[2]);
    expect(s.faults.malformedLog.map((m) => m.id)).toEqual(s.truth().runs.slice(0, 2).map((r) => r.id));
  });

  it('is deterministic for a seed', async () => {
    const a = await start({ seed: 7 });
    const b = await start({ seed: 7 });
    const c = await start({ seed: 8 });
    expect(a.truth()).toEqual(b.truth());
    expect(c.truth()).not.toEqual(a.truth());
    a.advance(3_600_000);
    for (let i = 0; i < 60; i++) b.advance(60_000);
    expect(a.truth()).toEqual(b.truth());
  });

  it('advance() finishes running runs and creates new ones', async () => {
    const s = await start({ initialRuns: 30, runsPerHour: 20 });
    const before = s.truth();
    const running = before.runs.filter((r) => !r.finished_at);
    expect(running.length).toBeGreaterThan(0);
    s.advance(2 * 86_400_000);
    const after = s.truth();
    const byId = new Map(after.runs.map((r) => [r.id, r]));
    for (const r of running) {
      const now = byId.get(r.id)!;
      expect(now.finished_at).toBeDefined();
      expect(['completed', 'failed', 'timed_out', 'canceled', 'compensated', 'compensation_failed']).toContain(now.status);
    }
    expect(after.runs.length).toBeGreaterThan(before.runs.length + 10);
  });

  it('lets a terminal failed run change: compensate, and retries carry retry_of_run_id', async () => {
    const s = await start({ initialRuns: 200, runsPerHour: 0 });
    const failed = s.truth().runs.find((r) => r.status === 'failed')!;
    s.compensate(failed.id);
    const mid = await get(`${s.url}/v1/workflow-runs/${failed.id}`, s.token);
    expect(mid.body.status).toBe('compensating');
    s.advance(61_000);
    const end = await get(`${s.url}/v1/workflow-runs/${failed.id}`, s.token);
    expect(end.body.status).toBe('compensated');

    const runs = s.truth().runs;
    const retry = runs.find((r) => r.retry_of_run_id);
    expect(retry).toBeDefined();
    const orig = runs.find((r) => r.id === retry!.retry_of_run_id)!;
    expect(['failed', 'timed_out', 'compensating', 'compensated', 'compensation_failed']).toContain(orig.status);
    expect(runs.some((r) => r.status === 'compensated' || r.status === 'compensation_failed')).toBe(true);

    // An open run to cancel exists in this seed's history; without one the check would be skipped silently.
    const running = runs.find((r) => r.status === 'running' || r.status === 'pending' || r.status === 'paused');
    expect(running, 'an open run in the history').toBeDefined();
    s.setStatus(running!.id, 'canceled');
    const c = await get(`${s.url}/v1/workflow-runs/${running!.id}`, s.token);
    expect(c.body.status).toBe('canceled');
    expect(c.body.finished_at).toBeDefined();
  });
});
