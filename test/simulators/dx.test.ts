import { afterEach, describe, expect, it } from 'vitest';
import { startDxSimulator, type DxSimulator } from '../../simulators/dx.js';
import { get } from './http.js';

const sims: DxSimulator[] = [];
async function start(o: Parameters<typeof startDxSimulator>[0] = {}) {
  const s = await startDxSimulator(o);
  sims.push(s);
  return s;
}
afterEach(async () => {
  while (sims.length) await sims.pop()!.close();
});

const info = (s: DxSimulator, id: string, token: string | null = s.token) =>
  get(`${s.url}/workflowRuns.info?id=${encodeURIComponent(id)}`, token);

describe('dx simulator', () => {
  it('answers errors as HTTP 200 ok:false: not_authed, invalid_auth, not_found', async () => {
    const s = await start();
    const id = s.truth().runIds[0];
    expect((await info(s, id, null)).body).toEqual({ ok: false, error: 'not_authed' });
    const bad = await info(s, id, 'nope');
    expect(bad.status).toBe(200);
    expect(bad.body).toEqual({ ok: false, error: 'invalid_auth' });
    expect((await info(s, 'zzzzzzzzzzzz')).body).toEqual({ ok: false, error: 'not_found' });
  });

  it('serves workflow_run in the seed shape, equal to truth', async () => {
    const s = await start({ initialRuns: 40 });
    const t = s.truth();
    const done = t.runs.find((r) => r.status === 'SUCCEEDED' && r.workflow.identifier === 'provision-single-tenant-instance')!;
    const r = await info(s, done.id);
    expect(r.body.ok).toBe(true);
    expect(r.body.workflow_run).toEqual(done);
    expect(Object.keys(done)).toEqual(['id', 'status', 'started_at', 'completed_at', 'data', 'links', 'http_state', 'workflow', 'entity', 'events', 'triggered_by_user']);
    expect(done.started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const types = done.events.map((e) => e.type);
    expect(types[0]).toBe('ADD_LINK');
    expect(types.at(-1)).toBe('CHANGE_STATUS');
    expect(done.events.at(-1)!.data).toEqual({ status: 'SUCCEEDED' });
    expect(done.links.length).toBe(2);
    expect(done.http_state.request.body).toContain(done.id);
    expect(new Set(t.runs.map((x) => x.status))).toEqual(new Set(['SUCCEEDED', 'FAILED', 'RUNNING']));
  });

  it('some runs carry real-looking secrets in http_state.request.headers, listed in truth().secrets', async () => {
    const s = await start({ initialRuns: 40 });
    const t = s.truth();
    expect(t.secrets.length).toBeGreaterThan(0);
    const json = JSON.stringify(t.runs);
    for (const secret of t.secrets) {
      expect(secret).toMatch(/^(dxsecret_[0-9a-f]{32}|Bearer ghp_[A-Za-z0-9]{36})$/);
      expect(json).toContain(secret);
    }
    const withSecret = t.runs.find((r) => Object.values(r.http_state.request.headers).some((v) => t.secrets.includes(v)))!;
    expect((await info(s, withSecret.id)).body.workflow_run.http_state.request.headers).toEqual(withSecret.http_state.request.headers);
  });

  it('trigger() and drainNewRunIds() hand out run ids; advance() finishes RUNNING runs', async () => {
    const s = await start({ initialRuns: 10, runsPerHour: 6 });
    const first = s.drainNewRunIds();
    expect(first).toEqual(s.truth().runIds);
    const ids = s.trigger(3);
    expect(s.drainNewRunIds()).toEqual(ids);
    const r = await info(s, ids[0]);
    expect(r.body.workflow_run.status).toBe('RUNNING');
    expect(r.body.workflow_run.completed_at).toBeNull();
    s.advance(86_400_000);
    for (const id of ids) expect(['SUCCEEDED', 'FAILED']).toContain((await info(s, id)).body.workflow_run.status);
    expect(s.drainNewRunIds().length).toBeGreaterThan(50);
  });

  it('ok:false internal_error hook, HTTP faults, malformed records', async () => {
    const s = await start();
    const id = s.truth().runIds[0];
    s.failNext(1);
    const f = await info(s, id);
    expect(f.status).toBe(200);
    expect(f.body).toEqual({ ok: false, error: 'internal_error' });
    s.faults.add({ status: 502, times: 1 });
    expect((await info(s, id)).status).toBe(502);
    s.faults.malformed(1);
    expect((await info(s, id)).body.workflow_run.id).toBeUndefined();
    expect((await info(s, id)).body.workflow_run.id).toBe(id);
  });

  it('rate limit: 1000/min per account by default; a configured one answers 429 without Retry-After', async () => {
    const d = await start();
    expect(d.faults.rateLimit).toEqual({ limit: 1000, windowMs: 60_000, mode: 'sliding' });
    const s = await start({ tokens: ['t1', 't2'], rateLimit: { limit: 2, windowMs: 60_000 } });
    const id = s.truth().runIds[0];
    expect((await info(s, id, 't1')).body.ok).toBe(true);
    expect((await info(s, id, 't2')).body.ok).toBe(true);
    const r = await info(s, id, 't1');
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBeNull();
  });

  it('is deterministic', async () => {
    const a = await start({ seed: 9 });
    const b = await start({ seed: 9 });
    a.advance(5_000_000);
    b.advance(5_000_000);
    expect(a.truth()).toEqual(b.truth());
  });
});
