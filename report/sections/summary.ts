/**
 * The week's counts per source and workflow, and the summary table. A complete week
 * reads failure_rates_weekly; a week in progress is compared like for like (both weeks
 * up to the same elapsed time), counted from terminal_runs, the view under the rates.
 */
import { sql } from 'kysely';
import type { RateColumns } from '../../schema/tables.js';
import { at } from '../../warehouse/kysely.js';
import { num, numOrNull, rate, type ReportContext } from './context.js';

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

/** Terminal-run counts of one (source, workflow) over a span. */
export type Bucket = Pick<RateColumns, 'source' | 'workflow_id' | 'provider' | 'workflow_name' | 'runs' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled'>;

export interface WeekBuckets {
  /** This week's span and the previous week's same span. */
  cur: Bucket[];
  prev: Bucket[];
  /** The whole previous week (new failures need it). */
  prevFull: Bucket[];
}

/** Counts of a span, grouped as the weekly view groups them. */
function bucketsOf(ctx: ReportContext, from: number, to: number): Promise<Bucket[]> {
  return ctx.db
    .selectFrom('terminal_runs')
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
    .where('finished_at', '>=', at(from))
    .where('finished_at', '<', at(to))
    .where(ctx.scopeWhere)
    .groupBy(['source', 'workflow_id'])
    .execute();
}

export async function weekBuckets(ctx: ReportContext): Promise<WeekBuckets> {
  const weekly = await ctx.db
    .selectFrom('failure_rates_weekly')
    .select(['week', 'source', 'workflow_id', 'provider', 'workflow_name', 'runs', 'succeeded', 'failed', 'timed_out', 'cancelled'])
    .where('week', 'in', [ctx.week.monday, ctx.previous.monday])
    .where(ctx.scopeWhere)
    .execute();
  const prevFull = weekly.filter((r) => r.week === ctx.previous.monday);
  const [cur, prev] = ctx.inProgress
    ? await Promise.all([bucketsOf(ctx, ctx.week.start, ctx.until), bucketsOf(ctx, ctx.previous.start, ctx.previousUntil)])
    : [weekly.filter((r) => r.week === ctx.week.monday), prevFull];
  return { cur, prev, prevFull };
}

/** Percentiles per source and over all sources (the runs themselves: percentiles do not add up). */
function percentiles(ctx: ReportContext, from: number, to: number) {
  return ctx.db
    .selectFrom('terminal_runs')
    .select([
      'source',
      sql<number | null>`if(count(duration_ms) = 0, NULL, quantilesExactInclusive(0.5, 0.95)(duration_ms)[1])`.as('p50'),
      sql<number | null>`if(count(duration_ms) = 0, NULL, quantilesExactInclusive(0.5, 0.95)(duration_ms)[2])`.as('p95'),
    ])
    .where('finished_at', '>=', at(from))
    .where('finished_at', '<', at(to))
    .where(ctx.scopeWhere)
    // WITH ROLLUP adds the all-sources row with source = ''.
    .groupBy(sql`source WITH ROLLUP`)
    .execute();
}

export async function summarySection(ctx: ReportContext, b: WeekBuckets): Promise<{ overall: ScopeSummary; perSource: ScopeSummary[] }> {
  const [pctCur, pctPrev] = await Promise.all([percentiles(ctx, ctx.week.start, ctx.until), percentiles(ctx, ctx.previous.start, ctx.previousUntil)]);
  const sources = [...new Set([...b.cur, ...b.prev].map((r) => r.source).concat(pctCur.map((p) => p.source).filter(Boolean)))].sort();
  const summarise = (source: string): ScopeSummary => {
    const c = b.cur.filter((r) => source === '' || r.source === source);
    const p = b.prev.filter((r) => source === '' || r.source === source);
    const sum = (rows: Bucket[], k: 'runs' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled') => rows.reduce((a, r) => a + num(r[k]), 0);
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
  const perSource = sources.map(summarise);
  return { overall: summarise(''), perSource: ctx.filter.length ? perSource.filter((r) => ctx.filter.includes(r.source)) : perSource };
}
