import { afterEach, describe, expect, it } from 'vitest';
import { startTracecatSimulator, type TracecatSimulator, type TracecatExecution } from '../../simulators/tracecat.js';
import { get, type Got } from './http.js';

const sims: TracecatSimulator[] = [];
async function start(o: Parameters<typeof startTracecatSimulator>[0] = {}) {
  const s = await startTracecatSimulator(o);
  sims.push(s);
  return s;
}
afterEach(async () => {
  while (sims.length) await sims.pop()!.close();
});

function searchUrl(s: TracecatSimulator, q: [string, string | number][] = []) {
  const p = new URLSearchParams([['workspace_id', s.workspaceId], ...q.map(([k, v]) => [k, String(v)] as [string, string])]);
  return `${s.url}/workflow-executions/search?${p}`;
}
const detailUrl = (s: TracecatSimulator, id: string, suffix = '') =>
  `${s.url}/workflow-executions/${encodeURIComponent(id)}${suffix}?workspace_id=${s.workspaceId}`;

async function walk(s: TracecatSimulator, q: [string, string | number][]) {
  const items: TracecatExecution[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 100; i++) {
    const r: Got = await get(searchUrl(s, [...q, ...(cursor ? [['cursor', cursor] as [string, string]] : [])]), s.token);
    expect(r.status).toBe(200);
    items.push(...r.body.items);
    if (!r.body.has_more) break;
    cursor = r.body.next_cursor;
  }
  return items;
}

describe('tracecat simulator', () => {
  it('requires a tc_ key and workspace_id', async () => {
    const s = await start();
    expect((await get(searchUrl(s))).status).toBe(401);
    expect((await get(searchUrl(s), 'tc_bad')).body).toEqual({ detail: 'Could not validate credentials' });
    expect((await get(`${s.url}/workflow-executions/search`, s.token)).status).toBe(422);
    expect((await get(searchUrl(s), s.token)).status).toBe(200);
  });

  it('pages newest start first with an opaque cursor, no duplicates, equal to truth', async () => {
    const s = await start({ initialRuns: 45 });
    const items = await walk(s, [['limit', 7]]);
    const truth = s.truth();
    const key = (x: TracecatExecution) => `${x.id}#${x.run_id}`;
    expect(new Set(items.map(key)).size).toBe(items.length);
    expect(items).toEqual(truth.executions.map(({ events: _e, interaction_states: _i, ...rest }) => rest));
    const starts = items.map((x) => Date.parse(x.start_time));
    expect([...starts].sort((a, b) => b - a)).toEqual(starts);
    expect(items[0].start_time).toMatch(/\+00:00$/);
    const first = await get(searchUrl(s), s.token);
    expect(first.body.items.length).toBe(20); // default limit
    expect(first.body.has_previous).toBe(false);
    expect(first.body.prev_cursor).toBeNull();
    // prev_cursor of page 2 leads back to page 1
    const p2 = await get(searchUrl(s, [['cursor', first.body.next_cursor]]), s.token);
    expect(p2.body.has_previous).toBe(true);
    const back = await get(searchUrl(s, [['cursor', p2.body.prev_cursor]]), s.token);
    expect(back.body.items).toEqual(first.body.items);
    expect((await get(searchUrl(s, [['limit', 1001]]), s.token)).status).toBe(422);
  });

  it('answers 400 when filters change under a cursor', async () => {
    const s = await start({ initialRuns: 40 });
    const r = await get(searchUrl(s, [['limit', 5], ['status', 'COMPLETED']]), s.token);
    expect(r.body.has_more).toBe(true);
    const same = await get(searchUrl(s, [['limit', 10], ['status', 'COMPLETED'], ['cursor', r.body.next_cursor]]), s.token);
    expect(same.status).toBe(200); // limit may change
    const changed = await get(searchUrl(s, [['status', 'FAILED'], ['cursor', r.body.next_cursor]]), s.token);
    expect(changed.status).toBe(400);
    expect(changed.body.detail).toMatch(/filters/);
    expect((await get(searchUrl(s, [['cursor', 'garbage!']]), s.token)).status).toBe(400);
  });

  it('filters by repeatable status and close_time_from', async () => {
    const s = await start({ initialRuns: 60 });
    const items = await walk(s, [['status', 'FAILED'], ['status', 'TIMED_OUT'], ['limit', 100]]);
    expect(items.length).toBeGreaterThan(0);
    for (const x of items) expect(['FAILED', 'TIMED_OUT']).toContain(x.status);
    const from = new Date(s.clock.now() - 86_400_000).toISOString();
    const recent = await walk(s, [['close_time_from', from], ['limit', 100]]);
    for (const x of recent) expect(Date.parse(x.close_time!)).toBeGreaterThanOrEqual(Date.parse(from));
    const running = await walk(s, [['status', 'RUNNING']]);
    for (const x of running) expect(x.close_time).toBeNull();
  });

  it('serves detail with Temporal events and /compact for ids with : and /', async () => {
    const s = await start({ initialRuns: 60 });
    const truth = s.truth();
    const slash = truth.executions.find((e) => e.id.includes('/'))!;
    const colon = truth.executions.find((e) => e.id.includes(':') && e.status === 'COMPLETED')!;
    for (const e of [slash, colon]) {
      const d = await get(detailUrl(s, e.id), s.token);
      expect(d.status).toBe(200);
      expect(d.body).toEqual(e);
      const c = await get(detailUrl(s, e.id, '/compact'), s.token);
      expect(c.body).toEqual(truth.compact[e.run_id]);
    }
    const types = colon.events.map((e) => e.event_type);
    expect(types[0]).toBe('WORKFLOW_EXECUTION_STARTED');
    expect(types[types.length - 1]).toBe('WORKFLOW_EXECUTION_COMPLETED');
    expect(types).toContain('ACTIVITY_TASK_COMPLETED');
    expect(colon.history_length).toBe(colon.events.length);
    const failed = truth.executions.find((e) => e.status === 'FAILED')!;
    expect(failed.events.some((e) => e.failure?.message)).toBe(true);
    expect((await get(detailUrl(s, 'wf-nope:exec-nope'), s.token)).status).toBe(404);
  });

  it('reset makes a second run under the same id; detail returns the latest', async () => {
    const s = await start({ initialRuns: 20, runsPerHour: 0 });
    const running = s.truth().executions.find((e) => e.status === 'RUNNING')!;
    const newRunId = s.reset(running.id);
    expect(newRunId).not.toBe(running.run_id);
    const both = (await walk(s, [['limit', 100]])).filter((x) => x.id === running.id);
    expect(both.map((x) => x.run_id).sort()).toEqual([running.run_id, newRunId].sort());
    expect(both.find((x) => x.run_id === running.run_id)!.status).toBe('TERMINATED');
    const d = await get(detailUrl(s, running.id), s.token);
    expect(d.body.run_id).toBe(newRunId);
    expect(d.body.status).toBe('RUNNING');
    s.advance(86_400_000);
    const after = await get(detailUrl(s, running.id), s.token);
    expect(after.body.status).not.toBe('RUNNING');
  });

  it('drops closed executions after retention', async () => {
    const s = await start({ initialRuns: 30, runsPerHour: 0, retentionDays: 1 });
    const before = s.truth().executions.length;
    s.advance(5 * 86_400_000);
    expect(s.truth().executions.length).toBeLessThan(before);
    expect((await walk(s, [['limit', 100]])).length).toBe(s.truth().executions.length);
  });

  it('rate limit answers plain-text 429 without Retry-After; faults inject', async () => {
    const s = await start({ rateLimit: { limit: 2, windowMs: 60_000 } });
    await get(searchUrl(s), s.token);
    await get(searchUrl(s), s.token);
    const r = await get(searchUrl(s), s.token);
    expect(r.status).toBe(429);
    expect(r.text).toBe('Too Many Requests');
    expect(r.headers.get('retry-after')).toBeNull();
    expect(r.headers.get('content-type')).toMatch(/text\/plain/);

    const t = await start();
    t.faults.add({ status: 502, times: 1 });
    expect((await get(searchUrl(t), t.token)).status).toBe(502);
    t.faults.malformed(1);
    const bad = await get(searchUrl(t), t.token);
    expect(bad.body.items[0].run_id).toBeUndefined();
  });

  it('is deterministic and advance() closes running executions', async () => {
    const a = await start({ seed: 3 });
    const b = await start({ seed: 3 });
    expect(a.truth()).toEqual(b.truth());
    const running = a.truth().executions.filter((e) => e.status === 'RUNNING');
    expect(running.length).toBeGreaterThan(0);
    a.advance(86_400_000);
    const after = new Map(a.truth().executions.map((e) => [e.run_id, e]));
    for (const r of running) expect(after.get(r.run_id)!.close_time).not.toBeNull();
  });
});
