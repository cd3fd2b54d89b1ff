import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWarehouse, type Warehouse } from '../../warehouse/client.js';
import { migrate } from '../../warehouse/migrate.js';
import { generateReport, parseIsoWeek, storeReport, weekOf, lastCompleteWeek } from '../../report/index.js';
import { main } from '../../cli/main.js';
import { sourceStatus } from '../../runtime/status.js';
import { buildFixtures, insertFixtures, latest, W47, W46, DAY, type Fixtures } from './fixtures.js';

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

/** Counted from the fixture rows, not from SQL. */
function expectedWeek(start: number) {
  const runs = latest(fx.runs, (r) => `${r.source}|${r.run_id}`).filter(
    (r) => r.is_test === 0 && r.is_terminal === 1 && r.finished_at !== null && r.finished_at >= start && r.finished_at < start + 7 * DAY,
  );
  const s = runs.filter((r) => r.status === 'succeeded').length;
  const f = runs.filter((r) => r.status === 'failed' || r.status === 'timed_out').length;
  return { runs: runs.length, rate: s + f === 0 ? null : f / (s + f) };
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
    const { data } = await generateReport(wh.client, { week: parseIsoWeek('2026-W47'), format: 'md' });
    const now = expectedWeek(W47);
    const before = expectedWeek(W46);
    expect(data.overall.runs).toBe(now.runs);
    expect(data.overall.failure_rate).toBe(now.rate);
    expect(data.overall.prev_failure_rate).toBe(before.rate);
    expect(data.perSource.map((s) => s.source)).toEqual(['b3', 'strait-prod', 'tc']);
    expect(data.perSource.reduce((a, s) => a + s.runs, 0)).toBe(now.runs);
    expect(data.flaky.map((f) => f.workflow_id)).toContain('wf-flaky');
    expect(data.newFailures.map((f) => f.workflow_id)).toContain('wf-new-fail');
    expect(data.newFailures.map((f) => f.workflow_id)).not.toContain('wf-flaky');
    expect(data.mostFailing[0].failures).toBeGreaterThanOrEqual(data.mostFailing[data.mostFailing.length - 1].failures);
    expect(data.slowest[0].run_id).toBe('comp-1');
    expect(data.slowest.some((r) => r.url.startsWith('https://runs.example.test/'))).toBe(true);
    expect(data.stepHotSpots.map((s) => s.step_ref)).toContain('e2e');
    expect(data.syncHealth.find((h) => h.source === 'tc')?.last_error).toBe('HTTP 503 from /api/runs');
    // Test runs never show up.
    expect(data.mostFailing.map((w) => w.workflow_id)).not.toContain('b3-dust');
  });

  it('limits to the sources asked for', async () => {
    const { data } = await generateReport(wh.client, { week: parseIsoWeek('2026-W47'), sources: ['tc'], format: 'md' });
    expect(data.perSource.map((s) => s.source)).toEqual(['tc']);
    expect(data.overall.runs).toBe(data.perSource[0].runs);
    expect(new Set(data.mostFailing.map((w) => w.source))).toEqual(new Set(['tc']));
    expect(data.syncHealth.map((h) => h.source)).toEqual(['tc']);
  });

  it('renders Markdown with every section', async () => {
    const { body } = await generateReport(wh.client, { week: parseIsoWeek('2026-W47'), format: 'md' });
    for (const h of ['# Reliability report 2026-W47', '## Summary', '## Workflows that failed most', '## New failures', '## Flaky workflows', '## Slowest runs', '## Step hot spots', '## Sync health'])
      expect(body).toContain(h);
    expect(body).toContain('| **all sources** |');
    expect(body).toMatch(/\[tc-tc-long-\d+\]\(https:\/\/runs\.example\.test\//);
    expect(body).toContain('b3: last good sync 2 days ago');
  });

  it('renders self-contained HTML with SVG charts', async () => {
    const { body } = await generateReport(wh.client, { week: parseIsoWeek('2026-W47'), format: 'html' });
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
      const { data, body } = await generateReport(wh.client, { week, format: 'md' });
      const path = await storeReport(wh.client, dir, data, 'md', body);
      expect(path).toBe(join(dir, 'reports', 'reliability-2026-W47.md'));
      expect(readFileSync(path, 'utf8')).toBe(body);
    }
    const rows = await (await wh.client.query({ query: `SELECT week, source, format, summary FROM reports FINAL`, format: 'JSONEachRow' })).json<{ week: string; summary: string }>();
    expect(rows).toHaveLength(1);
    expect(rows[0].week).toBe('2026-11-16');
    expect(JSON.parse(rows[0].summary)).toMatchObject({ week: '2026-W47', runs: expectedWeek(W47).runs });
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
