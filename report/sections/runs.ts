/** Slowest runs, step hot spots and the series behind the charts. */
import { sql } from 'kysely';
import { at } from '../../warehouse/kysely.js';
import { isoDate } from '../week.js';
import { num, numOrNull, rate, type ReportContext } from './context.js';

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

export interface ChartSeries {
  /** Per day and source, for the failure-rate chart (this week and the one before). */
  daily: { day: string; source: string; runs: number; failures: number; failure_rate: number | null }[];
  /** Terminal runs with a known duration this week, for the distribution chart. */
  durations: { source: string; duration_ms: number }[];
  /** Sources with finished runs this week but no known duration (their provider gives no start time). */
  sourcesWithoutDurations: string[];
}

export async function slowestSection(ctx: ReportContext): Promise<SlowRun[]> {
  const rows = await ctx.db
    .selectFrom('terminal_runs as r')
    .leftJoin(
      (eb) => eb.selectFrom('links').select(['source', 'run_id', sql<string>`min(url)`.as('url')]).groupBy(['source', 'run_id']).as('l'),
      (join) => join.onRef('l.source', '=', 'r.source').onRef('l.run_id', '=', 'r.run_id'),
    )
    .select(['r.source as source', 'r.run_id as run_id', 'r.workflow_id as workflow_id', 'r.workflow_name as workflow_name', 'r.status as status', 'r.duration_ms as duration_ms', 'r.finished_at as finished_at', 'l.url as url'])
    .where('r.duration_ms', 'is not', null)
    .where('r.finished_at', '>=', at(ctx.week.start))
    .where('r.finished_at', '<', at(ctx.until))
    .where((eb) => (ctx.filter.length ? eb('r.source', 'in', ctx.filter) : eb.lit(true)))
    .where((eb) => (ctx.workflowIds === null ? eb.lit(true) : ctx.workflowIds.length ? eb('r.workflow_id', 'in', ctx.workflowIds) : eb.lit(false)))
    .orderBy('r.duration_ms', 'desc')
    .orderBy('r.run_id')
    .limit(ctx.top)
    .execute();
  return rows.map((s) => ({ ...s, duration_ms: num(s.duration_ms), finished_at: s.finished_at ?? '', url: s.url ?? '' }));
}

export async function stepHotSpotsSection(ctx: ReportContext): Promise<StepHotSpot[]> {
  const steps = await ctx.db
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
    .where('day', '>=', ctx.week.monday)
    .where('day', '<=', isoDate(ctx.until - 1))
    .where(ctx.scopeWhere)
    .groupBy(['source', 'workflow_id', 'step_ref'])
    .execute();
  return steps
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
    .slice(0, ctx.top);
}

export async function chartSeries(ctx: ReportContext): Promise<ChartSeries> {
  const [daily, durations, known] = await Promise.all([
    ctx.db
      .selectFrom('failure_rates_daily')
      .select(['day', 'source', sql<number>`sum(runs)`.as('runs'), sql<number>`sum(failed + timed_out)`.as('failures'), sql<number>`sum(succeeded)`.as('succeeded')])
      .where('day', '>=', ctx.previous.monday)
      .where('day', '<=', isoDate(ctx.until - 1))
      .where(ctx.scopeWhere)
      .groupBy(['day', 'source'])
      .orderBy('day')
      .orderBy('source')
      .execute(),
    ctx.db
      .selectFrom('terminal_runs')
      .select(['source', sql<number>`assumeNotNull(duration_ms)`.as('duration_ms')])
      .where('duration_ms', 'is not', null)
      .where('finished_at', '>=', at(ctx.week.start))
      .where('finished_at', '<', at(ctx.until))
      .where(ctx.scopeWhere)
      .execute(),
    ctx.db
      .selectFrom('terminal_runs')
      .select(['source', sql<number>`toUInt32(count(duration_ms))`.as('with_duration')])
      .where('finished_at', '>=', at(ctx.week.start))
      .where('finished_at', '<', at(ctx.until))
      .where(ctx.scopeWhere)
      .groupBy('source')
      .execute(),
  ]);
  return {
    daily: daily.map((d) => ({ day: d.day, source: d.source, runs: num(d.runs), failures: num(d.failures), failure_rate: rate(num(d.failures), num(d.succeeded)) })),
    durations: durations.map((d) => ({ source: d.source, duration_ms: num(d.duration_ms) })),
    sourcesWithoutDurations: known.filter((k) => num(k.with_duration) === 0).map((k) => k.source).sort(),
  };
}
