import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RateColumns } from '../../schema/tables.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWarehouse, type Warehouse } from '../../warehouse/client.js';
import { migrate } from '../../warehouse/migrate.js';
import { toCh } from '../../core/time.js';
import { buildFixtures, insertFixtures, latest, W47, DAY, type Fixtures, type FxRun } from './fixtures.js';

/*
 * Expected numbers are computed here, in TypeScript, from the fixture rows; the
 * views must match them exactly. The percentile definition is ClickHouse's
 * `quantiles` below 8192 values (and quantilesExactInclusive at any size):
 * sort, h = level * (n - 1) + 1, interpolate between the (floor h)th and next value.
 */
function percentile(values: number[], level: number): number | null {
  if (values.length === 0) return null;
  const a = [...values].sort((x, y) => x - y);
  const h = level * (a.length - 1) + 1;
  const n = Math.floor(h);
  if (n >= a.length) return a[a.length - 1];
  if (n < 1) return a[0];
  return a[n - 1] + (h - n) * (a[n] - a[n - 1]);
}

const TERMINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'continued']);
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const monday = (ms: number) => {
  const d = new Date(ms);
  const back = (d.getUTCDay() + 6) % 7;
  return utcDay(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - back * DAY);
};

/** What a view row should hold, worked out here from the fixture rows. */
type Expected = RateColumns;

function expectedBuckets<R extends { source: string; status: string; finished_at: number | null; duration_ms: number | null }>(
  rows: R[],
  bucketOf: (r: R) => string,
  groupOf: (r: R) => string[],
  meta: (r: R) => { provider: string; workflow_name: string },
): Map<string, Expected & { bucket: string }> {
  const out = new Map<string, Expected & { bucket: string; durations: number[] }>();
  for (const r of rows) {
    if (!TERMINAL.has(r.status) || r.finished_at === null) continue;
    const bucket = bucketOf(r);
    const key = [bucket, ...groupOf(r)].join('|');
    let e = out.get(key);
    if (!e) {
      const [source, workflow_id] = groupOf(r);
      const m = meta(r);
      e = { bucket, source, workflow_id, provider: m.provider, workflow_name: m.workflow_name, runs: 0, succeeded: 0, failed: 0, timed_out: 0, cancelled: 0, continued: 0, failure_rate: null, p50_duration_ms: null, p95_duration_ms: null, durations: [] };
      out.set(key, e);
    }
    e.runs++;
    (e as unknown as Record<string, number>)[r.status]++;
    if (r.duration_ms !== null) e.durations.push(r.duration_ms);
  }
  for (const e of out.values()) {
    const denom = e.succeeded + e.failed + e.timed_out;
    e.failure_rate = denom === 0 ? null : (e.failed + e.timed_out) / denom;
    e.p50_duration_ms = percentile(e.durations, 0.5);
    e.p95_duration_ms = percentile(e.durations, 0.95);
    delete (e as Partial<typeof e>).durations;
  }
  return out;
}

/** The rate columns of the contract (the views carry more, tested in retries.test.ts). */
const RATE = 'source, workflow_id, provider, workflow_name, runs, succeeded, failed, timed_out, cancelled, continued, failure_rate, p50_duration_ms, p95_duration_ms';

let dir: string;
let wh: Warehouse;
let fx: Fixtures;
let finalRuns: FxRun[];

async function rows<T>(query: string): Promise<T[]> {
  return (await wh.client.query({ query, format: 'JSONEachRow' })).json<T>();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-'));
  wh = await openWarehouse({ dataDir: dir });
  await migrate(wh.client);
  fx = buildFixtures();
  await insertFixtures(wh.client, fx);
  finalRuns = latest(fx.runs, (r) => `${r.source}|${r.run_id}`).filter((r) => r.is_test === 0);
});

afterAll(async () => {
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('failure_rates_daily', () => {
  it('matches rates and percentiles computed independently from the fixture rows', async () => {
    const expected = expectedBuckets(finalRuns, (r) => utcDay(r.finished_at!), (r) => [r.source, r.workflow_id], (r) => r);
    const got = await rows<Expected & { day: string }>(`SELECT day, ${RATE} FROM failure_rates_daily WHERE workflow_id != 'wf-comp-live' ORDER BY day, source, workflow_id`);
    const want = [...expected.values()]
      .map(({ bucket, ...e }) => ({ day: bucket, ...e }))
      .sort((a, b) => (a.day + a.source + a.workflow_id < b.day + b.source + b.workflow_id ? -1 : 1));
    expect(got.length).toBeGreaterThan(50);
    expect(got).toEqual(want);
  });

  it('counts a run on the day it finished, not the day it started', async () => {
    const r = await rows<{ day: string; failed: number }>(`SELECT day, failed FROM failure_rates_daily WHERE workflow_id = 'wf-midnight'`);
    expect(r).toEqual([{ day: utcDay(W47 + 2 * DAY), failed: 1 }]);
  });

  it('counts a run that changed outcome after it was counted once, in its final state', async () => {
    // running → failed (Thursday 23:58) → compensating → compensated (Friday 00:03)
    const r = await rows<{ day: string; runs: number; failed: number }>(`SELECT day, runs, failed FROM failure_rates_daily WHERE workflow_id = 'wf-comp'`);
    expect(r).toEqual([{ day: utcDay(W47 + 4 * DAY), runs: 1, failed: 1 }]);
    const flip = await rows<{ n: number }>(`SELECT toUInt32(count()) AS n FROM runs WHERE run_id = 'flip-1' AND status = 'succeeded'`);
    expect(flip).toEqual([{ n: 1 }]);
  });

  it('follows a run through its versions, inserted one by one, and never counts it twice', async () => {
    const base = { source: 'strait-prod', run_id: 'comp-live', provider: 'strait', workflow_id: 'wf-comp-live', workflow_name: 'Payout live', is_test: 0, is_terminal: 1 };
    const at = (d: number, h: number, m: number) => toCh(W47 + d * DAY + h * 3_600_000 + m * 60_000);
    const view = () => rows<{ day: string; runs: number; succeeded: number; failed: number }>(
      `SELECT day, runs, succeeded, failed FROM failure_rates_daily WHERE workflow_id = 'wf-comp-live' ORDER BY day`,
    );
    const write = (v: Record<string, unknown>) => wh.client.insert({ table: 'run_versions', format: 'JSONEachRow', values: [{ ...base, started_at: at(3, 23, 1), synced_at: at(5, 0, 0), first_seen_at: at(3, 23, 0), ...v }] });
    await write({ status: 'running', provider_status: 'running', is_terminal: 0, finished_at: null, version: 1 });
    expect(await view()).toEqual([]);
    await write({ status: 'failed', provider_status: 'failed', finished_at: at(3, 23, 58), duration_ms: 57 * 60_000, version: 2 });
    expect(await view()).toEqual([{ day: utcDay(W47 + 3 * DAY), runs: 1, succeeded: 0, failed: 1 }]);
    await write({ status: 'running', provider_status: 'compensating', is_terminal: 0, finished_at: null, version: 3 });
    expect(await view()).toEqual([]);
    await write({ status: 'failed', provider_status: 'compensated', finished_at: at(4, 0, 3), duration_ms: 62 * 60_000, version: 4 });
    expect(await view()).toEqual([{ day: utcDay(W47 + 4 * DAY), runs: 1, succeeded: 0, failed: 1 }]);
    // An older version arriving late changes nothing.
    await write({ status: 'succeeded', provider_status: 'completed', finished_at: at(3, 23, 30), duration_ms: 29 * 60_000, version: 2 });
    expect(await view()).toEqual([{ day: utcDay(W47 + 4 * DAY), runs: 1, succeeded: 0, failed: 1 }]);
    const weekly = await rows<{ runs: number }>(`SELECT runs FROM failure_rates_weekly WHERE workflow_id = 'wf-comp-live'`);
    expect(weekly).toEqual([{ runs: 1 }]);
    const versions = await rows<{ n: number }>(`SELECT toUInt32(count()) AS n FROM run_versions WHERE run_id = 'comp-live'`);
    expect(versions[0].n).toBeGreaterThan(1);
  });

  it('gives NULL rates where no run succeeded, failed or timed out, and NULL percentiles without durations', async () => {
    const cancelled = await rows<Expected>(`SELECT * FROM failure_rates_daily WHERE workflow_id = 'tc-cancelled'`);
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0]).toMatchObject({ runs: 2, cancelled: 2, failure_rate: null, p50_duration_ms: 360_000, p95_duration_ms: 360_000 });
    const continued = await rows<Expected>(`SELECT * FROM failure_rates_daily WHERE workflow_id = 'tc-continued'`);
    expect(continued[0]).toMatchObject({ runs: 1, continued: 1, failure_rate: null, p50_duration_ms: null, p95_duration_ms: null });
  });

  it('has no bucket for a workflow with no terminal runs', async () => {
    // The workflow is in the warehouse (so its absence from the view means something)…
    expect(await rows(`SELECT run_id FROM runs WHERE workflow_id = 'tc-open'`)).not.toEqual([]);
    // …and no bucket of the view holds it.
    expect(await rows(`SELECT * FROM failure_rates_daily WHERE workflow_id = 'tc-open'`)).toEqual([]);
  });

  it('leaves is_test runs out', async () => {
    expect(await rows(`SELECT * FROM failure_rates_daily WHERE workflow_id = 'b3-dust'`)).toEqual([]);
    const swap = await rows<{ failed: number }>(`SELECT sum(failed) AS failed FROM failure_rates_daily WHERE workflow_id = 'b3-swap' AND day = '${utcDay(W47 + 2 * DAY)}'`);
    const real = finalRuns.filter((r) => r.workflow_id === 'b3-swap' && r.status === 'failed' && r.finished_at !== null && utcDay(r.finished_at) === utcDay(W47 + 2 * DAY)).length;
    expect(Number(swap[0].failed)).toBe(real);
  });
});

describe('failure_rates_weekly', () => {
  it('matches the independent computation; week is the Monday (UTC)', async () => {
    const expected = expectedBuckets(finalRuns, (r) => monday(r.finished_at!), (r) => [r.source, r.workflow_id], (r) => r);
    const got = await rows<Expected & { week: string }>(`SELECT week, ${RATE} FROM failure_rates_weekly WHERE workflow_id != 'wf-comp-live' ORDER BY week, source, workflow_id`);
    const want = [...expected.values()]
      .map(({ bucket, ...e }) => ({ week: bucket, ...e }))
      .sort((a, b) => (a.week + a.source + a.workflow_id < b.week + b.source + b.workflow_id ? -1 : 1));
    expect(got).toEqual(want);
    expect(got.every((g) => new Date(g.week + 'T00:00:00Z').getUTCDay() === 1)).toBe(true);
  });
});

describe('step_failure_rates_daily', () => {
  it('matches the independent computation per step_ref', async () => {
    const runOf = new Map(latest(fx.runs, (r) => `${r.source}|${r.run_id}`).map((r) => [`${r.source}|${r.run_id}`, r]));
    const steps = latest(fx.steps, (s) => `${s.source}|${s.run_id}|${s.step_id}`)
      // Steps of test runs, and steps whose run is unknown, are not counted.
      .filter((s) => runOf.get(`${s.source}|${s.run_id}`)?.is_test === 0)
      .map((s) => ({ ...s, workflow_id: runOf.get(`${s.source}|${s.run_id}`)!.workflow_id, workflow_name: runOf.get(`${s.source}|${s.run_id}`)!.workflow_name }));
    const expected = expectedBuckets(steps, (s) => utcDay(s.finished_at!), (s) => [s.source, s.workflow_id, s.step_ref], (s) => s);
    const got = await rows<Expected & { day: string; step_ref: string }>(
      `SELECT day, source, workflow_id, step_ref, provider, workflow_name, runs, succeeded, failed, timed_out, cancelled, continued, failure_rate, p50_duration_ms, p95_duration_ms
       FROM step_failure_rates_daily ORDER BY day, source, workflow_id, step_ref`,
    );
    const want = [...expected.entries()]
      .map(([key, { bucket, source, workflow_id, ...e }]) => ({ day: bucket, source, workflow_id, step_ref: key.split('|')[3], ...e }))
      .sort((a, b) => (a.day + a.source + a.workflow_id + a.step_ref < b.day + b.source + b.workflow_id + b.step_ref ? -1 : 1));
    expect(got.length).toBeGreaterThan(20);
    expect(got).toEqual(want);
  });

  it('does not count a step whose run is missing (no empty workflow_id, no default is_test)', async () => {
    expect(fx.steps.some((s) => s.run_id === 'orphan-run')).toBe(true);
    expect(await rows(`SELECT * FROM step_failure_rates_daily WHERE step_ref = 'orphan-step' OR workflow_id = ''`)).toEqual([]);
  });
});

describe('sync_health', () => {
  it('reports freshness, open runs, quarantined records and the last sync failure per source', async () => {
    const got = await rows<Record<string, unknown>>(`SELECT * FROM sync_health ORDER BY source`);
    expect(got.map((g) => g.source)).toEqual(['b3', 'strait-prod', 'tc']);
    const tc = got.find((g) => g.source === 'tc')!;
    expect(tc).toMatchObject({ provider: 'tracecat', last_sync_status: 'succeeded', quarantined_1d: 1, warnings_1d: 1, sync_failures_1d: 1, sync_failures_7d: 1, last_error: 'HTTP 503 from /api/runs' });
    const open = latest(fx.runs, (r) => `${r.source}|${r.run_id}`).filter((r) => r.source === 'tc' && r.is_terminal === 0).length;
    expect(tc.open_runs).toBe(open);
    const b3 = got.find((g) => g.source === 'b3')!;
    expect(Number(b3.freshness_s)).toBeGreaterThan(2 * 86_400 - 3_600);
    expect(Number(got.find((g) => g.source === 'strait-prod')!.freshness_s)).toBeLessThan(3_600);
    expect(b3.last_error).toBe('');
    expect(b3.last_error_at).toBeNull();
  });
});

describe('percentile definition', () => {
  it('quantiles (below 8192 values) and quantilesExactInclusive agree with the definition used here', async () => {
    const values = [10, 20, 30, 40, 55, 1000, 3];
    const r = await rows<{ a: number[]; b: number[] }>(
      `SELECT quantiles(0.5, 0.95)(x) AS a, quantilesExactInclusive(0.5, 0.95)(x) AS b FROM (SELECT arrayJoin([${values.join(',')}]) AS x)`,
    );
    expect(r[0].a).toEqual([percentile(values, 0.5), percentile(values, 0.95)]);
    expect(r[0].b).toEqual(r[0].a);
  });
});
