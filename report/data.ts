/**
 * What the weekly reliability report says, read with Kysely from the contract
 * relations (failure_rates_*, runs, links, sync_runs, quarantine, sync_health). The
 * arithmetic lives in the views; this module only selects, compares two weeks and
 * ranks. A week still in progress is compared with the same elapsed span of the
 * week before, counted from `runs` with the views' arithmetic (the views bucket by
 * whole days and weeks).
 */
import { sql, type ExpressionBuilder } from 'kysely';
import type { Database, RateColumns } from '../schema/tables.js';
import { at, type WarehouseDb } from '../warehouse/kysely.js';
import { isoDate, previousWeek, type IsoWeek } from './week.js';

export interface ScopeSummary {
  /** A source name, or '' for all sources together. */
  source: string;
  provider: string;
  runs: number;
  succeeded: number;
  failed: number;
  timed_out: number;
  cancelled: number;
  failure_rate: number | null;
  prev_runs: number;
  prev_failure_rate: number | null;
  p50_duration_ms: number | null;
  p95_duration_ms: number | null;
  prev_p50_duration_ms: number | null;
  prev_p95_duration_ms: number | null;
}

export interface WorkflowFailures {
  source: string;
  workflow_id: string;
  workflow_name: string;
  runs: number;
  failures: number;
  failure_rate: number | null;
  prev_failures: number;
}

export interface FlakyWorkflow {
  source: string;
  workflow_id: string;
  workflow_name: string;
  runs: number;
  failures: number;
  /** Outcome changes between consecutive runs (success ↔ failure). */
  flips: number;
  /** flips / (runs - 1): 1.0 is strictly alternating. */
  flip_rate: number;
}

export interface SlowRun {
  source: string;
  run_id: string;
  workflow_id: string;
  workflow_name: string;
  status: string;
  duration_ms: number;
  finished_at: string;
  url: string;
}

/** A source's syncs within the report's span, from sync_runs and quarantine. */
export interface SyncFacts {
  source: string;
  provider: string;
  /** Syncs started in the span, and how many of them failed. */
  syncs: number;
  sync_failures: number;
  /** Records quarantined (severity error) and data warnings received in the span. */
  quarantined: number;
  warnings: number;
  /** The error of the last failed sync started in the span; '' and null if none failed. */
  last_error: string;
  last_error_at: string | null;
  /** The state now (sync_health): only in a report of the week in progress. */
  live: { last_sync_status: string; last_success_at: string | null; freshness_s: number | null; open_runs: number } | null;
}

export interface StepHotSpot {
  source: string;
  workflow_id: string;
  workflow_name: string;
  step_ref: string;
  runs: number;
  failures: number;
  failure_rate: number | null;
  p95_duration_ms: number | null;
}

export interface ReportData {
  week: IsoWeek;
  previous: IsoWeek;
  /** The week has not ended at `now`: only runs up to `until` are in it. */
  inProgress: boolean;
  /** End (exclusive, epoch ms) of the span reported: week.end, or `now` while in progress. */
  until: number;
  /** End of the previous week's span compared with: previous.start + (until - week.start). */
  previousUntil: number;
  generatedAt: string;
  /** The sources the report was limited to ([] = all). */
  sourceFilter: string[];
  overall: ScopeSummary;
  perSource: ScopeSummary[];
  mostFailing: WorkflowFailures[];
  /** Failed this week; had runs the whole week before, none of them failed. */
  newFailures: WorkflowFailures[];
  /** Workflows with no run before this week (new failures are never these). */
  newWorkflows: WorkflowFailures[];
  flaky: FlakyWorkflow[];
  slowest: SlowRun[];
  stepHotSpots: StepHotSpot[];
  syncHealth: SyncFacts[];
  /** Per day and source, for the failure-rate chart (this week and the one before). */
  daily: { day: string; source: string; runs: number; failures: number; failure_rate: number | null }[];
  /** Terminal runs with a known duration this week, for the distribution chart. */
  durations: { source: string; duration_ms: number }[];
}

export interface ReportOptions {
  week: IsoWeek;
  sources?: string[];
  /** Rows per ranked list. */
  top?: number;
  now?: number;
}

const TERMINAL = ['succeeded', 'failed', 'timed_out', 'cancelled', 'continued'] as const;

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined || Number.isNaN(Number(v)) ? null : Number(v));
const rate = (failures: number, succeeded: number): number | null => (failures + succeeded === 0 ? null : failures / (failures + succeeded));

/** Sources are filtered in SQL too, so a large warehouse is not read whole. */
const sourceIn =
  (filter: string[]) =>
  <TB extends keyof Database>(eb: ExpressionBuilder<Database, TB>) =>
    filter.length ? eb(sql.ref('source'), 'in', filter) : eb.lit(true);

/** Terminal-run counts of one (source, workflow) over a span. */
type Bucket = Pick<RateColumns, 'source' | 'workflow_id' | 'provider' | 'workflow_name' | 'runs' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled'>;

export async function collectReport(db: WarehouseDb, opts: ReportOptions): Promise<ReportData> {
  const week = opts.week;
  const previous = previousWeek(week);
  const now = opts.now ?? Date.now();
  const inProgress = now < week.end;
  const until = Math.min(Math.max(now, week.start), week.end);
  const previousUntil = previous.start + (until - week.start);
  const top = opts.top ?? 10;
  const filter = opts.sources ?? [];
  const bySource = <T extends { source: string }>(rows: T[]) => (filter.length ? rows.filter((r) => filter.includes(r.source)) : rows);
  const sourceWhere = sourceIn(filter);

  // Weekly counts per source and workflow, this week and the previous one.
  const weekly = await db
    .selectFrom('failure_rates_weekly')
    .select(['week', 'source', 'workflow_id', 'provider', 'workflow_name', 'runs', 'succeeded', 'failed', 'timed_out', 'cancelled'])
    .where('week', 'in', [week.monday, previous.monday])
    .where(sourceWhere)
    .execute();
  // The whole previous week: whether a workflow ran and failed then (new failures).
  const prevFull = weekly.filter((r) => r.week === previous.monday);
  // The same counts over any span, straight from the runs, as the views count them.
  const fromRuns = (from: number, to: number): Promise<Bucket[]> =>
    db
      .selectFrom('runs')
      .select([
        'source',
        'workflow_id',
        sql<string>`any(provider)`.as('provider'),
        sql<string>`argMax(workflow_name, finished_at)`.as('workflow_name'),
        sql<number>`toUInt32(count())`.as('runs'),
        sql<number>`toUInt32(countIf(status = 'succeeded'))`.as('succeeded'),
        sql<number>`toUInt32(countIf(status = 'failed'))`.as('failed'),
        sql<number>`toUInt32(countIf(status = 'timed_out'))`.as('timed_out'),
        sql<number>`toUInt32(countIf(status = 'cancelled'))`.as('cancelled'),
      ])
      .where('status', 'in', [...TERMINAL])
      .where('is_test', '=', 0)
      .where('finished_at', '>=', at(from))
      .where('finished_at', '<', at(to))
      .where(sourceWhere)
      .groupBy(['source', 'workflow_id'])
      .execute();
  // A week in progress is compared like for like: both weeks up to the same elapsed time.
  const [cur, prev]: Bucket[][] = inProgress
    ? await Promise.all([fromRuns(week.start, until), fromRuns(previous.start, previousUntil)])
    : [weekly.filter((r) => r.week === week.monday), prevFull];

  // Percentiles per source and overall need the runs themselves (not mergeable from buckets).
  const pct = async (from: number, to: number) =>
    db
      .selectFrom('runs')
      .select([
        'source',
        sql<number | null>`if(count(duration_ms) = 0, NULL, quantilesExactInclusive(0.5, 0.95)(duration_ms)[1])`.as('p50'),
        sql<number | null>`if(count(duration_ms) = 0, NULL, quantilesExactInclusive(0.5, 0.95)(duration_ms)[2])`.as('p95'),
      ])
      .where('status', 'in', [...TERMINAL])
      .where('is_test', '=', 0)
      .where('finished_at', '>=', at(from))
      .where('finished_at', '<', at(to))
      .where(sourceWhere)
      .groupBy(sql`source WITH ROLLUP`)
      .execute();
  const [pctCur, pctPrev] = await Promise.all([pct(week.start, until), pct(previous.start, previousUntil)]);
  // WITH ROLLUP adds the all-sources row with source = ''.
  const sources = [...new Set([...cur, ...prev].map((r) => r.source).concat(pctCur.map((p) => p.source).filter(Boolean)))].sort();

  const summarise = (source: string): ScopeSummary => {
    const c = cur.filter((r) => source === '' || r.source === source);
    const p = prev.filter((r) => source === '' || r.source === source);
    const sum = (rows: typeof c, k: 'runs' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled') => rows.reduce((a, r) => a + num(r[k]), 0);
    const [s, f, t] = [sum(c, 'succeeded'), sum(c, 'failed'), sum(c, 'timed_out')];
    const [ps, pf, pt] = [sum(p, 'succeeded'), sum(p, 'failed'), sum(p, 'timed_out')];
    const pc = pctCur.find((x) => x.source === source);
    const pp = pctPrev.find((x) => x.source === source);
    return {
      source,
      provider: source === '' ? '' : (c[0]?.provider ?? p[0]?.provider ?? ''),
      runs: sum(c, 'runs'),
      succeeded: s,
      failed: f,
      timed_out: t,
      cancelled: sum(c, 'cancelled'),
      failure_rate: rate(f + t, s),
      prev_runs: sum(p, 'runs'),
      prev_failure_rate: rate(pf + pt, ps),
      p50_duration_ms: numOrNull(pc?.p50),
      p95_duration_ms: numOrNull(pc?.p95),
      prev_p50_duration_ms: numOrNull(pp?.p50),
      prev_p95_duration_ms: numOrNull(pp?.p95),
    };
  };

  const key = (r: { source: string; workflow_id: string }) => `${r.source}\u0000${r.workflow_id}`;
  const prevFailures = new Map(prev.map((r) => [key(r), num(r.failed) + num(r.timed_out)]));
  const byFailures = (a: WorkflowFailures, b: WorkflowFailures) =>
    b.failures - a.failures || (b.failure_rate ?? 0) - (a.failure_rate ?? 0) || a.workflow_id.localeCompare(b.workflow_id);
  const workflows: WorkflowFailures[] = cur.map((r) => ({
    source: r.source,
    workflow_id: r.workflow_id,
    workflow_name: r.workflow_name,
    runs: num(r.runs),
    failures: num(r.failed) + num(r.timed_out),
    failure_rate: rate(num(r.failed) + num(r.timed_out), num(r.succeeded)),
    prev_failures: prevFailures.get(key(r)) ?? 0,
  }));
  const failing = workflows.filter((w) => w.failures > 0).sort(byFailures);

  // A workflow is new when none of its runs was created, started or finished before the week.
  const seenBefore = new Set<string>();
  if (cur.length) {
    const earlier = await db
      .selectFrom('runs')
      .select(['source', 'workflow_id'])
      .where('is_test', '=', 0)
      .where('workflow_id', 'in', [...new Set(cur.map((r) => r.workflow_id))])
      .where(sourceWhere)
      .groupBy(['source', 'workflow_id'])
      .having(sql`min(coalesce(created_at, started_at, finished_at, first_seen_at))`, '<', at(week.start))
      .execute();
    for (const r of earlier) seenBefore.add(key(r));
  }
  const prevWhole = new Map(prevFull.map((r) => [key(r), r]));
  const newFailures = failing.filter((w) => {
    const p = prevWhole.get(key(w));
    return p !== undefined && num(p.runs) > 0 && num(p.failed) + num(p.timed_out) === 0;
  });
  const newWorkflows = workflows.filter((w) => !seenBefore.has(key(w))).sort(byFailures);

  // Outcomes in finishing order, per workflow: alternating outcomes are flakiness.
  const outcomes = await db
    .selectFrom('runs')
    .select([
      'source',
      'workflow_id',
      sql<string>`argMax(workflow_name, finished_at)`.as('workflow_name'),
      sql<number[]>`arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((finished_at, toUInt8(status IN ('failed', 'timed_out'))))))`.as('failed_seq'),
    ])
    .where('status', 'in', ['succeeded', 'failed', 'timed_out'])
    .where('is_test', '=', 0)
    .where('finished_at', '>=', at(week.start))
    .where('finished_at', '<', at(until))
    .where(sourceWhere)
    .groupBy(['source', 'workflow_id'])
    .execute();
  const flaky: FlakyWorkflow[] = outcomes
    .map((o) => {
      const seq = o.failed_seq.map(Number);
      let flips = 0;
      for (let i = 1; i < seq.length; i++) if (seq[i] !== seq[i - 1]) flips++;
      const failures = seq.filter((x) => x === 1).length;
      return { source: o.source, workflow_id: o.workflow_id, workflow_name: o.workflow_name, runs: seq.length, failures, flips, flip_rate: seq.length > 1 ? flips / (seq.length - 1) : 0 };
    })
    // At least four runs with both outcomes, and the outcome changes on at least half the runs.
    .filter((f) => f.runs >= 4 && f.failures > 0 && f.failures < f.runs && f.flip_rate >= 0.5)
    .sort((a, b) => b.flip_rate - a.flip_rate || b.runs - a.runs)
    .slice(0, top);

  const slowest = await db
    .selectFrom('runs as r')
    .leftJoin(
      (eb) => eb.selectFrom('links').select(['source', 'run_id', sql<string>`min(url)`.as('url')]).groupBy(['source', 'run_id']).as('l'),
      (join) => join.onRef('l.source', '=', 'r.source').onRef('l.run_id', '=', 'r.run_id'),
    )
    .select(['r.source as source', 'r.run_id as run_id', 'r.workflow_id as workflow_id', 'r.workflow_name as workflow_name', 'r.status as status', 'r.duration_ms as duration_ms', 'r.finished_at as finished_at', 'l.url as url'])
    .where('r.status', 'in', [...TERMINAL])
    .where('r.is_test', '=', 0)
    .where('r.duration_ms', 'is not', null)
    .where('r.finished_at', '>=', at(week.start))
    .where('r.finished_at', '<', at(until))
    .where((eb) => (filter.length ? eb('r.source', 'in', filter) : eb.lit(true)))
    .orderBy('r.duration_ms', 'desc')
    .orderBy('r.run_id')
    .limit(top)
    .execute();

  const steps = await db
    .selectFrom('step_failure_rates_daily')
    .select([
      'source',
      'workflow_id',
      sql<string>`any(workflow_name)`.as('workflow_name'),
      'step_ref',
      sql<number>`sum(runs)`.as('runs'),
      sql<number>`sum(failed + timed_out)`.as('failures'),
      sql<number>`sum(succeeded)`.as('succeeded'),
      sql<number | null>`max(p95_duration_ms)`.as('p95_duration_ms'),
    ])
    .where('day', '>=', week.monday)
    .where('day', '<=', isoDate(until - 1))
    .where(sourceWhere)
    .groupBy(['source', 'workflow_id', 'step_ref'])
    .execute();
  const stepHotSpots: StepHotSpot[] = steps
    .map((s) => ({
      source: s.source,
      workflow_id: s.workflow_id,
      workflow_name: s.workflow_name,
      step_ref: s.step_ref,
      runs: num(s.runs),
      failures: num(s.failures),
      failure_rate: rate(num(s.failures), num(s.succeeded)),
      p95_duration_ms: numOrNull(s.p95_duration_ms),
    }))
    .filter((s) => s.failures > 0)
    .sort((a, b) => b.failures - a.failures || (b.failure_rate ?? 0) - (a.failure_rate ?? 0))
    .slice(0, top);

  const daily = await db
    .selectFrom('failure_rates_daily')
    .select([
      'day',
      'source',
      sql<number>`sum(runs)`.as('runs'),
      sql<number>`sum(failed + timed_out)`.as('failures'),
      sql<number>`sum(succeeded)`.as('succeeded'),
    ])
    .where('day', '>=', previous.monday)
    .where('day', '<=', isoDate(until - 1))
    .where(sourceWhere)
    .groupBy(['day', 'source'])
    .orderBy('day')
    .orderBy('source')
    .execute();

  const durations = await db
    .selectFrom('runs')
    .select(['source', sql<number>`assumeNotNull(duration_ms)`.as('duration_ms')])
    .where('status', 'in', [...TERMINAL])
    .where('is_test', '=', 0)
    .where('duration_ms', 'is not', null)
    .where('finished_at', '>=', at(week.start))
    .where('finished_at', '<', at(until))
    .where(sourceWhere)
    .execute();

  const syncHealth = await syncFacts(db, filter, week.start, until, inProgress);

  return {
    week,
    previous,
    inProgress,
    until,
    previousUntil,
    generatedAt: new Date(opts.now ?? Date.now()).toISOString(),
    sourceFilter: filter,
    overall: summarise(''),
    perSource: bySource(sources.map(summarise)),
    mostFailing: failing.slice(0, top),
    newFailures: newFailures.slice(0, top),
    newWorkflows: newWorkflows.slice(0, top),
    flaky,
    slowest: slowest.map((s) => ({ ...s, duration_ms: num(s.duration_ms), finished_at: s.finished_at ?? '', url: s.url ?? '' })),
    stepHotSpots,
    syncHealth: syncHealth.filter((h) => !filter.length || filter.includes(h.source)),
    daily: daily.map((d) => ({ day: d.day, source: d.source, runs: num(d.runs), failures: num(d.failures), failure_rate: rate(num(d.failures), num(d.succeeded)) })),
    durations: durations.map((d) => ({ source: d.source, duration_ms: num(d.duration_ms) })),
  };
}

/**
 * Sync facts of [from, to): syncs started, failed, records quarantined, the last
 * error with its time. The week in progress also gets the state now (freshness).
 */
async function syncFacts(
  db: WarehouseDb,
  filter: string[],
  from: number,
  to: number,
  live: boolean,
): Promise<SyncFacts[]> {
  const sourceWhere = sourceIn(filter);
  const [syncs, quarantined, now] = await Promise.all([
    db
      .selectFrom('sync_runs')
      .select([
        'source',
        sql<string>`any(provider)`.as('provider'),
        sql<number>`toUInt32(count())`.as('syncs'),
        sql<number>`toUInt32(countIf(status = 'failed'))`.as('sync_failures'),
        sql<string>`argMaxIf(error, started_at, status = 'failed')`.as('last_error'),
        sql<string | null>`if(countIf(status = 'failed') = 0, NULL, maxIf(started_at, status = 'failed'))`.as('last_error_at'),
      ])
      .where('started_at', '>=', at(from))
      .where('started_at', '<', at(to))
      .where(sourceWhere)
      .groupBy('source')
      .execute(),
    db
      .selectFrom('quarantine')
      .select([
        'source',
        sql<string>`any(provider)`.as('provider'),
        sql<number>`toUInt32(countIf(severity = 'error'))`.as('quarantined'),
        sql<number>`toUInt32(countIf(severity != 'error'))`.as('warnings'),
      ])
      .where('received_at', '>=', at(from))
      .where('received_at', '<', at(to))
      .where(sourceWhere)
      .groupBy('source')
      .execute(),
    live ? db.selectFrom('sync_health').selectAll().where(sourceWhere).execute() : Promise.resolve([]),
  ]);
  const names = [...new Set([...syncs, ...quarantined, ...now].map((r) => r.source))].sort();
  return names.map((source) => {
    const s = syncs.find((r) => r.source === source);
    const q = quarantined.find((r) => r.source === source);
    const h = now.find((r) => r.source === source);
    return {
      source,
      provider: s?.provider || q?.provider || h?.provider || '',
      syncs: num(s?.syncs),
      sync_failures: num(s?.sync_failures),
      quarantined: num(q?.quarantined),
      warnings: num(q?.warnings),
      last_error: s?.last_error ?? '',
      last_error_at: s?.last_error_at ?? null,
      live: h ? { last_sync_status: h.last_sync_status, last_success_at: h.last_success_at, freshness_s: numOrNull(h.freshness_s), open_runs: num(h.open_runs) } : null,
    };
  });
}
