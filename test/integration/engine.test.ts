import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStraitSimulator, type StraitSimulator } from '../../simulators/strait.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { RowWriter } from '../../warehouse/writer.js';
import { nextVersion } from '../../warehouse/version.js';
import { num } from '../helpers/compare.js';
import { existsSync, readFileSync } from 'node:fs';
import { weekOf } from '../../report/week.js';

let sim: StraitSimulator;
let h: Harness;

beforeAll(async () => {
  sim = await startStraitSimulator({ seed: 5, initialRuns: 260, runsPerHour: 0, start: Date.now() - 3_600_000 });
  h = await startHarness({
    sources: [{ name: 'backfill', provider: 'strait', baseUrl: sim.url, tokenEnv: 'T', settle: '0s', rateLimit: 1000, options: { projectId: 'proj_demo' } }],
    env: { T: sim.token },
    // One page per activity call, so a backfill spans many calls and histories.
    budget: { maxPages: 1, maxMs: 60_000 },
  });
});

afterAll(async () => {
  await h?.close();
  await sim?.close();
});

describe('sync mechanics', () => {
  it('a long backfill continues as new and ends with the same result', async () => {
    const workflowId = `backfill-${Date.now()}`;
    const res = await h.sync('backfill', { historyLimit: 10, workflowId });
    const truth = sim.truth();
    expect(res.counts.runs_new).toBe(truth.runs.length);
    expect(res.counts.pages).toBe(3);
    // The chain: more than one run under the same workflow id, the last one completed.
    const runs: string[] = [];
    for await (const w of h.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(w.status.name);
    expect(runs.length).toBeGreaterThan(1);
    expect(runs.filter((s) => s === 'CONTINUED_AS_NEW').length).toBe(runs.length - 1);
    const [c] = await h.query<any>(`SELECT count() c, uniqExact(run_id) u FROM runs`);
    expect(num(c.c)).toBe(truth.runs.length);
    expect(num(c.u)).toBe(truth.runs.length);
    // One sync record, under the chain's workflow id.
    const syncs = await h.query<any>(`SELECT sync_id, status, runs_new FROM sync_runs`);
    expect(syncs).toEqual([{ sync_id: workflowId, status: 'succeeded', runs_new: truth.runs.length }]);
  });

  it('workflow histories carry ids, cursors and counts only: no rows, no token', async () => {
    const workflowId = `payload-${Date.now()}`;
    sim.advance(3_600_000);
    await h.sync('backfill', { workflowId });
    const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
    const text = JSON.stringify(history, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : typeof v === 'bigint' ? String(v) : v));
    expect(text).not.toContain(sim.token);
    const truth = sim.truth();
    // No run payload travelled: neither workflow ids of runs nor their errors appear.
    for (const r of truth.runs.slice(0, 50)) {
      expect(text).not.toContain(r.workflow_id + '"');
      if (r.error) expect(text).not.toContain(r.error);
    }
  });

  it('no per-statement setting leaks into the chDB session (inserts are never silently dropped)', async () => {
    const client = h.warehouse.client;
    const w = new RowWriter(client, 2);
    const base = { source: 'leak', provider: 'strait', label: '', icon: '', added_at: null, synced_at: '2026-01-01 00:00:00.000' };
    for (let i = 0; i < 5; i++) await w.add('link_versions', { ...base, run_id: 'r', url: `https://x/${i}`, version: nextVersion() });
    await w.flush();
    const [n] = await h.query<any>(`SELECT count() c FROM link_versions WHERE source = 'leak'`);
    expect(num(n.c)).toBe(5);
    const changed = await h.query<any>(`SELECT name, value FROM system.settings WHERE changed AND name IN ('insert_deduplication_token', 'readonly', 'insert_deduplicate')`);
    expect(changed).toEqual([]);
  });

  it('the weekly report workflow stores both formats in the warehouse and the data directory', async () => {
    const week = weekOf(Date.now());
    const res = (await h.client.workflow.execute('weeklyReport', { taskQueue: h.taskQueue, workflowId: `report-${Date.now()}`, args: [{ week: week.label }] })) as { week: string; paths: string[] };
    expect(res.week).toBe(week.label);
    expect(res.paths.length).toBe(2);
    for (const p of res.paths) expect(existsSync(p)).toBe(true);
    const rows = await h.query<any>(`SELECT format, body FROM reports FINAL WHERE week = {w:Date} ORDER BY format`, { w: week.monday });
    expect(rows.map((r) => r.format)).toEqual(['html', 'md']);
    const md = rows[1].body as string;
    expect(md).toBe(readFileSync(res.paths.find((p) => p.endsWith('.md'))!, 'utf8'));
    // The report's run count for the source is the warehouse's count of runs finished that week (test runs excluded).
    const [n] = await h.query<any>(
      `SELECT count() c FROM runs WHERE is_terminal = 1 AND is_test = 0 AND toMonday(finished_at) = {w:Date}`,
      { w: week.monday },
    );
    expect(md).toMatch(new RegExp(`\\| backfill \\| ${num(n.c)} \\|`));
    expect(rows[0].body).toMatch(/<svg/);
  });

  it('a full sync lists the whole backfill window again, whatever the watermark', async () => {
    sim.clearRequests();
    await h.sync('backfill');
    const incremental = sim.requests.filter((r) => r.path === '/v1/workflow-runs').length;
    sim.clearRequests();
    const res = await h.sync('backfill', { full: true });
    const full = sim.requests.filter((r) => r.path === '/v1/workflow-runs').length;
    expect(incremental).toBe(1);
    expect(full).toBe(Math.ceil(sim.truth().runs.length / 100));
    expect(res.counts.runs_new).toBe(0);
  });
});
