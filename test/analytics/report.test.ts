import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWarehouse, type Warehouse } from '../../warehouse/client.js';
import { migrate } from '../../warehouse/migrate.js';
import { generateReport, parseIsoWeek, storeReport, weekOf, lastCompleteWeek } from '../../report/index.js';
import { main } from '../../cli/main.js';
import { sourceStatus } from '../../runtime/status.js';
import { buildFixtures, insertFixtures, latest, W47, W46, DAY, NOW, type Fixtures } from './fixtures.js';

let dir: string;
let wh: Warehouse;
let fx: Fixtures;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-'));
  wh = await openWarehouse({ dataDir: dir });
  await migrate(wh.client);
  fx = buildFixtures();
  await insertFixtures(wh.client, fx);
});

afterAll(async () => {
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** ClickHouse's quantilesExactInclusive: linear interpolation at level * (n - 1). */
function percentile(values: number[], level: number): number | null {
  if (values.length === 0) return null;
  const a = [...values].sort((x, y) => x - y);
  const h = level * (a.length - 1);
  const lo = Math.floor(h);
  return lo + 1 >= a.length ? a[a.length - 1] : a[lo] + (h - lo) * (a[lo + 1] - a[lo]);
}

/** Counted from the fixture rows, not from SQL: terminal runs that finished in [start, end). */
function expectedSpan(start: number, end: number) {
  const runs = latest(fx.runs, (r) => `${r.source}|${r.run_id}`).filter(
    (r) => r.is_test === 0 && r.is_terminal === 1 && r.finished_at !== null && r.finished_at >= start && r.finished_at < end,
  );
  const s = runs.filter((r) => r.status === 'succeeded').length;
  const f = runs.filter((r) => r.status === 'failed' || r.status === 'timed_out').length;
  const durations = runs.flatMap((r) => (r.duration_ms === null ? [] : [r.duration_ms]));
  return { runs: runs.length, rate: s + f === 0 ? null : f / (s + f), p50: percentile(durations, 0.5), p95: percentile(durations, 0.95) };
}
const expectedWeek = (start: number) => expectedSpan(start, start + 7 * DAY);

/** Per (source, workflow): terminal runs and failures in [start, end), from the fixture rows. */
function workflowsIn(start: number, end: number) {
  const m = new Map<string, { runs: number; failures: number }>();
  for (const r of latest(fx.runs, (r) => `${r.source}|${r.run_id}`)) {
    if (r.is_test || !r.is_terminal || r.finished_at === null || r.finished_at < start || r.finished_at >= end) continue;
    const e = m.get(r.workflow_id) ?? { runs: 0, failures: 0 };
    e.runs++;
    if (r.status === 'failed' || r.status === 'timed_out') e.failures++;
    m.set(r.workflow_id, e);
  }
  return m;
}

describe('ISO weeks', () => {
  it('parses and names weeks, Monday-based in UTC', () => {
    expect(parseIsoWeek('2026-W47')).toMatchObject({ label: '2026-W47', monday: '2026-11-16', start: W47 });
    expect(weekOf(W47 + 6 * DAY + 86_399_999).label).toBe('2026-W47');
    expect(parseIsoWeek('2021-W01').monday).toBe('2021-01-04');
    expect(weekOf(Date.UTC(2021, 0, 3)).label).toBe('2020-W53');
    expect(() => parseIsoWeek('2026-W54')).toThrow(/no week 54/);
    expect(() => parseIsoWeek('last week')).toThrow(/ISO week/);
    expect(lastCompleteWeek(W47 + 7 * DAY + 3_600_000).label).toBe('2026-W47');
  });
});

describe('weekly report', () => {
  it('summarises the week against the one before, from the fixture ground truth', async () => {
    const { data } = await generateReport(wh.client, { week: parseIsoWeek('2026-W47'), now: NOW, format: 'md' });
    expect(data.inProgress).toBe(false);
    const now = expectedWeek(W47);
    const before = expectedWeek(W46);
    expect(data.overall.runs).toBe(now.runs);
    expect(data.overall.failure_rate).toBe(now.rate);
    expect(data.overall.prev_failure_rate).toBe(before.rate);
    expect(data.overall.prev_runs).toBe(before.runs);
    expect(data.overall.p95_duration_ms).toBe(now.p95);
    expect(data.overall.prev_p95_duration_ms).toBe(before.p95);
    expect(data.perSource.map((s) => s.source)).toEqual(['b3', 'strait-prod', 'tc']);
    expect(data.perSource.reduce((a, s) => a + s.runs, 0)).toBe(now.runs);
    expect(data.flaky.map((f) => f.workflow_id)).toContain('wf-flaky');
    expect(data.newFailures.map((f) => f.workflow_id)).toContain('wf-new-fail');
    expect(data.newFailures.map((f) => f.workflow_id)).not.toContain('wf-flaky');
    expect(data.mostFailing[0].failures).toBeGreaterThanOrEqual(data.mostFailing[data.mostFailing.length - 1].failures);
    expect(data.slowest[0].run_id).toBe('comp-1');
    expect(data.slowest.some((r) => r.url.startsWith('https://runs.example.test/'))).toBe(true);
    expect(data.stepHotSpots.map((s) => s.step_ref)).toContain('e2e');
    // Test runs never show up.
    expect(data.mostFailing.map((w) => w.workflow_id)).not.toContain('b3-dust');
  });

  it('limits to the sources asked for', async () => {
    const { data } = await generateReport(wh.client, { week: parseIsoWeek('2026-W47'), now: NOW, sources: ['tc'], format: 'md' });
    expect(data.perSource.map((s) => s.source)).toEqual(['tc']);
    expect(data.overall.runs).toBe(data.perSource[0].runs);
    expect(new Set(data.mostFailing.map((w) => w.source))).toEqual(new Set(['tc']));
    const w46 = await generateReport(wh.client, { week: parseIsoWeek('2026-W46'), now: NOW, sources: ['tc'], format: 'md' });
    expect(w46.data.syncHealth.map((h) => h.source)).toEqual(['tc']);
  });

  it('renders Markdown with every section', async () => {
    const { body } = await generateReport(wh.client, { week: parseIsoWeek('2026-W47'), now: NOW, format: 'md' });
    for (const h of ['# Reliability report 2026-W47\n', '## Summary', '## Workflows that failed most', '## New failures', '## New workflows', '## Flaky workflows', '## Slowest runs', '## Step hot spots', '## Sync health in 2026-W47'])
      expect(body).toContain(h);
    expect(body).toContain('| **all sources** |');
    expect(body).toMatch(/\[tc-tc-long-\d+\]\(https:\/\/runs\.example\.test\//);
    expect(body).not.toContain('in progress');
  });

  it('renders self-contained HTML with SVG charts', async () => {
    const { body } = await generateReport(wh.client, { week: parseIsoWeek('2026-W47'), now: NOW, format: 'html' });
    expect(body.startsWith('<!doctype html>')).toBe(true);
    const charts = body.match(/<figure class="chart" data-chart="[a-z-]+"><svg[^>]*>/g) ?? [];
    expect(charts).toHaveLength(3);
    // Lines and boxes were drawn, not just empty axes.
    expect(body).toMatch(/<path[^>]*d="M[\d.]+,[\d.]+L/);
    expect(body).not.toMatch(/<script|<link rel="stylesheet"|src="http/);
    mkdirSync('test-output', { recursive: true });
    writeFileSync(join('test-output', 'report-2026-W47.html'), body);
  });

  it('stores the report in the reports table and the data dir, replacing a regenerated one', async () => {
    const week = parseIsoWeek('2026-W47');
    for (let i = 0; i < 2; i++) {
      const { data, body } = await generateReport(wh.client, { week, now: NOW, format: 'md' });
      const path = await storeReport(wh.client, dir, data, 'md', body);
      expect(path).toBe(join(dir, 'reports', 'reliability-2026-W47.md'));
      expect(readFileSync(path, 'utf8')).toBe(body);
    }
    const rows = await (await wh.client.query({ query: `SELECT week, source, format, summary FROM reports FINAL`, format: 'JSONEachRow' })).json<{ week: string; summary: string }>();
    expect(rows).toHaveLength(1);
    expect(rows[0].week).toBe('2026-11-16');
    expect(JSON.parse(rows[0].summary)).toMatchObject({ week: '2026-W47', in_progress: false, runs: expectedWeek(W47).runs });
  });

  it('says a week in progress is partial and compares it with the same span of the week before', async () => {
    // Sunday 22 Nov 2026 14:00 UTC: six days and fourteen hours into W47.
    const now = W47 + 6 * DAY + 14 * 3_600_000;
    const week = parseIsoWeek('2026-W47');
    const { data, body } = await generateReport(wh.client, { week, now, format: 'md' });
    expect(data).toMatchObject({ inProgress: true, until: now, previousUntil: W46 + 6 * DAY + 14 * 3_600_000 });
    const cur = expectedSpan(W47, now);
    const before = expectedSpan(W46, W46 + 6 * DAY + 14 * 3_600_000);
    // The fixture has runs after the cut in both weeks, so this differs from whole weeks.
    expect(before.runs).toBeLessThan(expectedWeek(W46).runs);
    expect(cur.runs).toBeLessThan(expectedWeek(W47).runs);
    expect(data.overall).toMatchObject({ runs: cur.runs, failure_rate: cur.rate, prev_runs: before.runs, prev_failure_rate: before.rate, p50_duration_ms: cur.p50, p95_duration_ms: cur.p95, prev_p50_duration_ms: before.p50, prev_p95_duration_ms: before.p95 });
    expect(body).toContain('# Reliability report 2026-W47 (in progress, to Sun 22 Nov 14:00 UTC)\n');
    expect(body).toContain('compared with 2026-W46 up to the same point (Mon 09 Nov 00:00 UTC to Sun 15 Nov 14:00 UTC)');
    expect(body).toContain('| vs same span last week |');
    // The week in progress also shows how fresh the data is now.
    expect(body).toContain('b3: last good sync 2 days ago');
    expect(data.syncHealth.find((h) => h.source === 'b3')?.live?.freshness_s).toBeGreaterThan(2 * 86_400 - 3_600);
    const html = await generateReport(wh.client, { week, now, format: 'html' });
    expect(html.body).toContain('<title>Reliability report 2026-W47 (in progress, to Sun 22 Nov 14:00 UTC)</title>');
    expect(html.body).toContain('<h1>Reliability report 2026-W47 (in progress, to Sun 22 Nov 14:00 UTC)</h1>');
    expect(html.body).toContain('id="partial-week"');
  });

  it('shows the sync health of a past week from that week, with the time of its last error', async () => {
    const { data, body } = await generateReport(wh.client, { week: parseIsoWeek('2026-W46'), now: NOW, format: 'md' });
    const inWeek = <T extends { source: string }>(rows: T[], at: (r: T) => number) => rows.filter((r) => at(r) >= W46 && at(r) < W46 + 7 * DAY);
    const syncs = inWeek(latest(fx.syncRuns, (r) => `${r.source}|${r.sync_id}`), (r) => r.started_at);
    const quarantined = inWeek(fx.quarantine, (q) => q.received_at);
    expect(data.syncHealth.map((h) => h.source)).toEqual([...new Set([...syncs, ...quarantined].map((r) => r.source))].sort());
    for (const h of data.syncHealth) {
      const mine = syncs.filter((r) => r.source === h.source);
      const failed = mine.filter((r) => r.status === 'failed').sort((a, b) => a.started_at - b.started_at);
      expect(h).toMatchObject({
        syncs: mine.length,
        sync_failures: failed.length,
        quarantined: quarantined.filter((q) => q.source === h.source && q.severity === 'error').length,
        warnings: quarantined.filter((q) => q.source === h.source && q.severity !== 'error').length,
        last_error: failed.at(-1)?.error ?? '',
        live: null,
      });
    }
    const tc = data.syncHealth.find((h) => h.source === 'tc')!;
    expect(tc).toMatchObject({ syncs: 4, sync_failures: 2, quarantined: 2, warnings: 1, last_error: 'timeout after 30 s', last_error_at: '2026-11-13 09:00:00.000' });
    expect(body).toContain('| tc | 4 | 2 | 2 | 1 | timeout after 30 s | Fri 13 Nov 09:00 UTC |');
    expect(body).toContain('> **Completeness:** tc: 2 failed syncs this week, 2 records quarantined this week.');
    // Nothing from today: not the latest error, not the current freshness.
    expect(body).not.toContain('HTTP 503');
    expect(body).not.toContain('old error from W45');
    expect(body).not.toContain('last good sync');
  });

  it('counts as new failures only workflows that ran the week before without failing; lists new workflows apart', async () => {
    const { data, body } = await generateReport(wh.client, { week: parseIsoWeek('2026-W47'), now: NOW, format: 'md' });
    const before = workflowsIn(W46, W47);
    const ids = data.newFailures.map((w) => w.workflow_id);
    expect(ids).toContain('wf-new-fail');
    for (const w of data.newFailures) expect(before.get(w.workflow_id)).toMatchObject({ failures: 0, runs: expect.any(Number) });
    expect(data.newFailures.every((w) => before.get(w.workflow_id)!.runs > 0)).toBe(true);
    // First seen this week: failing, but new workflows rather than new failures.
    for (const id of ['wf-fresh', 'wf-midnight', 'wf-comp']) {
      expect(ids).not.toContain(id);
      expect(data.newWorkflows.map((w) => w.workflow_id)).toContain(id);
    }
    // Ran two weeks ago, not last week: neither.
    expect(ids).not.toContain('wf-monthly');
    expect(data.newWorkflows.map((w) => w.workflow_id)).not.toContain('wf-monthly');
    expect(data.mostFailing.map((w) => w.workflow_id)).toContain('wf-monthly');
    // Workflows seen in earlier weeks are never new.
    expect(data.newWorkflows.map((w) => w.workflow_id)).not.toContain('wf-deploy');
    expect(data.newWorkflows.find((w) => w.workflow_id === 'wf-fresh')).toMatchObject({ runs: 1, failures: 1, failure_rate: 1 });
    expect(body).toContain('| strait-prod | Fresh import (new workflow) | 1 | 1 | 100.0% |');
  });

  it('runsync report writes both formats', async () => {
    const md = join(dir, 'cli.md');
    const html = join(dir, 'cli.html');
    expect(await main(['report', '--week', '2026-W47', '--out', md, '--data-dir', dir])).toBe(0);
    expect(await main(['report', '--week', '2026-W47', '--source', 'strait-prod', '--format', 'html', '--out', html, '--data-dir', dir])).toBe(0);
    expect(readFileSync(md, 'utf8')).toContain('## Flaky workflows');
    expect(readFileSync(html, 'utf8')).toContain('<svg');
    expect(existsSync(html)).toBe(true);
    expect(await main(['report', '--week', 'soon', '--data-dir', dir])).toBe(2);
  });

  it('status (Kysely queries) reports each source, configured or seen', async () => {
    const st = await sourceStatus(wh.client, ['configured-only']);
    expect(st.map((s) => s.source)).toEqual(['b3', 'configured-only', 'strait-prod', 'tc']);
    const tc = st.find((s) => s.source === 'tc')!;
    expect(tc).toMatchObject({ lastStatus: 'succeeded', quarantined24h: 1, runs: latest(fx.runs, (r) => `${r.source}|${r.run_id}`).filter((r) => r.source === 'tc').length });
    expect(st.find((s) => s.source === 'configured-only')).toMatchObject({ runs: 0, lastSyncAt: null });
  });
});
