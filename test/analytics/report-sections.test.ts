import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWarehouse, type Warehouse } from '../../warehouse/client.js';
import { migrate } from '../../warehouse/migrate.js';
import { toCh } from '../../core/time.js';
import { generateReport, parseIsoWeek, renderHtml, renderMarkdown, type ReportData } from '../../report/index.js';
import { duration, METRICS_VERSION, plural } from '../../report/format.js';
import { sourceColours } from '../../report/charts.js';
import { chainsFromTruth, insertTruth, rescuedRoots, SIM_START, simulatedHistory, spellsFromTruth, type TruthRun } from './sim-rows.js';

/*
 * The report's Retries, Recovery, Top failure reasons, Queue time and Cost sections over
 * three weeks of simulated history, each number worked out here from the simulators'
 * worlds. W47 (16–22 Nov 2026) is complete; the incident on nightly-etl starts in it.
 */

const DAY = 86_400_000;
const W47 = parseIsoWeek('2026-W47');
const NOW = SIM_START + 7 * DAY;
const FAIL = new Set(['failed', 'timed_out']);
const DECIDED = new Set(['succeeded', 'failed', 'timed_out']);
const TERMINAL = new Set([...DECIDED, 'cancelled', 'continued']);

let dir: string;
let wh: Warehouse;
let runs: TruthRun[] = [];
let data: ReportData;
let md: string;
let html: string;

const inWeek = (r: TruthRun, from = W47.start, to = W47.end) => r.is_test === 0 && TERMINAL.has(r.status) && r.finished_at !== null && r.finished_at >= from && r.finished_at < to;

function percentile(values: number[], level: number): number | null {
  if (values.length === 0) return null;
  const a = [...values].sort((x, y) => x - y);
  const h = level * (a.length - 1);
  const lo = Math.floor(h);
  return lo + 1 >= a.length ? a[a.length - 1] : a[lo] + (h - lo) * (a[lo + 1] - a[lo]);
}

beforeAll(async () => {
  const sim = await simulatedHistory();
  runs = sim.runs;
  // An Anon-like source: runs without a start time, so without durations.
  const anon = [0, 1, 2].map((i): TruthRun => ({
    ...runs[0],
    source: 'anon-demo',
    provider: 'strait',
    run_id: `anon-${i}`,
    workflow_id: 'anon-flow',
    workflow_name: 'Anon flow',
    status: 'succeeded',
    created_at: W47.start + DAY + i * 3_600_000,
    started_at: null,
    finished_at: W47.start + DAY + i * 3_600_000 + 60_000,
    error: '',
    error_kind: '',
    retry_of: '',
    execution_id: '',
    cost: null,
    is_test: 0,
  }));
  runs.push(...anon);
  dir = mkdtempSync(join(tmpdir(), 'rs-report-sections-'));
  wh = await openWarehouse({ dataDir: dir });
  await migrate(wh.client);
  await insertTruth(wh.client, runs, sim.steps, SIM_START);
  const r = await generateReport(wh.client, { week: W47, now: NOW, format: 'md', top: 500 });
  data = r.data;
  md = r.body;
  html = await renderHtml(data);
}, 300_000);

afterAll(async () => {
  await wh?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('report sections from simulated history', () => {
  it('Retries: first-attempt and after-retry rates, rescued runs, per source', () => {
    const chains = chainsFromTruth(runs);
    const rescued = rescuedRoots(runs);
    const want = new Map<string, { first: number; failures: number; rescued: number; retries: number }>();
    for (const r of runs.filter((x) => inWeek(x))) {
      const c = chains.get(`${r.source}|${r.run_id}`)!;
      for (const k of ['', r.source]) {
        const e = want.get(k) ?? { first: 0, failures: 0, rescued: 0, retries: 0 };
        if (c.attempt === 1 && DECIDED.has(r.status)) e.first++;
        if (c.attempt === 1 && FAIL.has(r.status)) {
          e.failures++;
          if (rescued.has(`${r.source}|${c.root}`)) e.rescued++;
        }
        if (c.attempt > 1) e.retries++;
        want.set(k, e);
      }
    }
    const got = new Map(data.retries.perSource.map((p) => [p.source, p]));
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [source, e] of want) {
      const g = got.get(source)!;
      expect({ source, first: g.first_attempts, failures: g.first_attempt_failures, rescued: g.rescued_by_retry, retries: g.retries }).toEqual({ source, ...e });
      expect(g.first_attempt_failure_rate).toBeCloseTo(e.first ? e.failures / e.first : NaN, 12);
      expect(g.final_failure_rate).toBeCloseTo(e.first ? (e.failures - e.rescued) / e.first : NaN, 12);
    }
    expect(want.get('')!.rescued).toBeGreaterThan(0);
    expect(data.retries.workflows.length).toBeGreaterThan(0);
  });

  it('Recovery: MTTR of spells ended in the week, red time inside it, workflows still failing', () => {
    const spells = spellsFromTruth(runs);
    const ended = spells.filter((s) => s.recovered_at !== null && s.recovered_at >= W47.start && s.recovered_at < W47.end);
    const red = spells.reduce((a, s) => a + Math.max(0, Math.min(s.recovered_at ?? W47.end, W47.end) - Math.max(s.failed_at, W47.start)), 0);
    expect(data.recovery.recoveries).toBe(ended.length);
    expect(data.recovery.mttr_ms).toBeCloseTo(ended.reduce((a, s) => a + (s.recovered_at! - s.failed_at), 0) / ended.length, 6);
    expect(data.recovery.red_ms).toBe(red);
    const failing = spells.filter((s) => s.failed_at < W47.end && (s.recovered_at === null || s.recovered_at >= W47.end));
    expect(data.recovery.stillFailing.map((w) => `${w.source}|${w.workflow_id}|${w.failing_since}`).sort()).toEqual(
      failing.map((s) => `${s.source}|${s.workflow_id}|${toCh(s.failed_at)}`).sort(),
    );
    // The incident started on Saturday 21 Nov and was still red at the end of the week.
    expect(data.recovery.stillFailing.some((w) => w.workflow_id === 'nightly-etl')).toBe(true);
  });

  it('Top failure reasons: failures per source and generated template, new ones marked', () => {
    const count = new Map<string, number>();
    const before = new Set<string>();
    for (const r of runs) {
      if (!FAIL.has(r.status)) continue;
      if (inWeek(r)) count.set(`${r.source}|${r.error_kind}`, (count.get(`${r.source}|${r.error_kind}`) ?? 0) + 1);
      if (inWeek(r, W47.start - 28 * DAY, W47.start)) before.add(`${r.source}|${r.error_kind}`);
    }
    const kindOf = new Map(runs.map((r) => [`${r.source}|${r.error}`, r.error_kind]));
    const got = data.reasons.map((g) => {
      const kind = kindOf.get(`${g.source}|${g.sample_error}`)!;
      return { key: `${g.source}|${kind}`, runs: g.runs, is_new: g.is_new };
    });
    const want = [...count.entries()].map(([key, n]) => ({ key, runs: n, is_new: !before.has(key) }));
    expect(got.sort((a, b) => (a.key < b.key ? -1 : 1))).toEqual(want.sort((a, b) => (a.key < b.key ? -1 : 1)));
    expect(got.some((g) => g.runs > 1)).toBe(true);
  });

  it('Queue time: p50 and p95 of created → started per source', () => {
    for (const q of data.queue) {
      const values = runs.filter((r) => r.source === q.source && inWeek(r) && r.started_at !== null).map((r) => r.started_at! - r.created_at);
      expect({ source: q.source, runs: q.runs, p50: q.p50_queue_ms, p95: q.p95_queue_ms }).toEqual({ source: q.source, runs: values.length, p50: percentile(values, 0.5), p95: percentile(values, 0.95) });
    }
    expect(data.queue.find((q) => q.source === 'anon-demo')?.runs).toBe(0);
    expect(md).toContain('gives no creation or start time');
  });

  it('Cost: compute units per workflow against the same span of the week before', () => {
    const sum = (wf: string, from: number, to: number) => runs.filter((r) => r.workflow_id === wf && r.cost !== null && inWeek(r, from, to)).reduce((a, r) => a + r.cost!, 0);
    expect(data.cost.length).toBeGreaterThan(0);
    for (const c of data.cost) {
      expect(c.source).toBe('b3');
      expect(c.cost).toBeCloseTo(sum(c.workflow_id, W47.start, W47.end), 6);
      expect(c.prev_cost).toBeCloseTo(sum(c.workflow_id, W47.start - 7 * DAY, W47.start), 6);
    }
  });

  it('renders every new section, names with ids, and the metrics version of docs/metrics.md', () => {
    for (const h of ['## Retries', '## Recovery', '## Top failure reasons', '## Queue time', '## Cost']) expect(md).toContain(h);
    for (const id of ['retries', 'recovery', 'failure-reasons', 'queue-time', 'cost']) expect(html).toContain(`<h2 id="${id}">`);
    const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    expect(doc).toMatch(new RegExp(`^Version: ${METRICS_VERSION}$`, 'm'));
    expect(md).toContain(`Metric definitions: docs/metrics.md, version ${METRICS_VERSION}.`);
    expect(html).toContain(`Metric definitions: docs/metrics.md, version ${METRICS_VERSION}.`);
    // Names shown, ids behind them: on hover in HTML.
    expect(html).toMatch(/<span title="nightly-etl">Nightly ETL<\/span>/);
  });

  it('says why a source is missing from the duration chart', () => {
    expect(data.sourcesWithoutDurations).toEqual(['anon-demo']);
    expect(html).toContain('Not in the duration chart: anon-demo');
    expect(md).toContain('Durations: anon-demo has no run with a known duration');
  });

  it('gives each source one colour in every chart', () => {
    const { domain, range } = sourceColours(data);
    expect(new Set(range.slice(0, Math.min(domain.length, 10))).size).toBe(Math.min(domain.length, 10));
    const svgs = html.match(/<figure class="chart" data-chart="[a-z-]+">[\s\S]*?<\/figure>/g) ?? [];
    expect(svgs).toHaveLength(3);
    // Each source drawn in all three charts appears there in its own colour.
    for (const source of ['b3', 'strait-prod', 'tc']) {
      const c = range[domain.indexOf(source)];
      for (const svg of svgs) expect(svg.toLowerCase(), `${source} in ${svg.slice(0, 60)}`).toContain(c);
    }
  });
});

describe('an empty week and formatting', () => {
  it('says "no runs this week" instead of drawing empty charts', async () => {
    const { data: empty } = await generateReport(wh.client, { week: parseIsoWeek('2026-W40'), now: NOW, format: 'html' });
    const body = await renderHtml(empty);
    expect(body).toContain('no runs this week');
    expect(body).not.toMatch(/<figure class="chart"[^>]*><svg/);
    expect(body).not.toContain('0.000000');
    expect(renderMarkdown(empty)).toContain('_no runs this week_');
  });

  it('durations never show 60 seconds or 60 minutes', () => {
    expect(duration(299_600)).toBe('5m 0s');
    expect(duration(2_759_900)).toBe('46m 0s');
    expect(duration(59_960)).toBe('1m 0s');
    expect(duration(59_940)).toBe('59.9 s');
    expect(duration(3_599_700)).toBe('1h 0m');
    expect(duration(7_199_999)).toBe('2h 0m');
    expect(duration(3 * DAY + 5 * 3_600_000)).toBe('3d 5h');
    for (let ms = 1000; ms < 3 * 3_600_000; ms += 997) expect(duration(ms)).not.toMatch(/(^|\D)60[sm]/);
  });

  it('counts in words: 1 sync, 2 syncs', () => {
    expect(plural(1, 'sync')).toBe('1 sync');
    expect(plural(2, 'sync')).toBe('2 syncs');
  });
});
