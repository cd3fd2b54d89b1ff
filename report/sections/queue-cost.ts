/** Queue time (where the provider reports when a run was created) and cost (B3OS compute units). */
import { sql } from 'kysely';
import { at } from '../../warehouse/kysely.js';
import { key, num, numOrNull, type ReportContext, workflowColumns } from './context.js';

export interface QueueRow {
  source: string;
  provider: string;
  /** Runs with a known queue_ms, and their percentiles; 0 and NULL when the provider gives none. */
  runs: number;
  p50_queue_ms: number | null;
  p95_queue_ms: number | null;
  prev_p95_queue_ms: number | null;
}

export interface CostRow {
  source: string;
  workflow_id: string;
  workflow_name: string;
  runs: number;
  cost: number;
  prev_cost: number | null;
}

async function queueOf(ctx: ReportContext, from: number, to: number) {
  return ctx.db
    .selectFrom('terminal_runs')
    .select([
      'source',
      sql<string>`any(provider)`.as('provider'),
      sql<number>`toUInt32(count(queue_ms))`.as('runs'),
      sql<number | null>`if(count(queue_ms) = 0, NULL, quantilesExactInclusive(0.5, 0.95)(queue_ms)[1])`.as('p50'),
      sql<number | null>`if(count(queue_ms) = 0, NULL, quantilesExactInclusive(0.5, 0.95)(queue_ms)[2])`.as('p95'),
    ])
    .where('finished_at', '>=', at(from))
    .where('finished_at', '<', at(to))
    .where(ctx.scopeWhere)
    .groupBy('source')
    .orderBy('source')
    .execute();
}

export async function queueSection(ctx: ReportContext): Promise<QueueRow[]> {
  const [cur, prev] = await Promise.all([queueOf(ctx, ctx.week.start, ctx.until), queueOf(ctx, ctx.previous.start, ctx.previousUntil)]);
  return cur.map((c) => ({
    source: c.source,
    provider: c.provider,
    runs: num(c.runs),
    p50_queue_ms: numOrNull(c.p50),
    p95_queue_ms: numOrNull(c.p95),
    prev_p95_queue_ms: numOrNull(prev.find((p) => p.source === c.source)?.p95),
  }));
}

async function costOf(ctx: ReportContext, from: number, to: number) {
  return ctx.db
    .selectFrom('terminal_runs')
    .select([
      ...workflowColumns('finished_at'),
      sql<number>`toUInt32(count(cost))`.as('runs'),
      sql<number>`sum(assumeNotNull(cost))`.as('total_cost'),
    ])
    .where('cost', 'is not', null)
    .where('finished_at', '>=', at(from))
    .where('finished_at', '<', at(to))
    .where(ctx.scopeWhere)
    .groupBy(['source', 'workflow_id'])
    .execute();
}

export async function costSection(ctx: ReportContext): Promise<CostRow[]> {
  const [cur, prev] = await Promise.all([costOf(ctx, ctx.week.start, ctx.until), costOf(ctx, ctx.previous.start, ctx.previousUntil)]);
  const before = new Map(prev.map((p) => [key(p), num(p.total_cost)]));
  return cur
    .map((c) => ({ source: c.source, workflow_id: c.workflow_id, workflow_name: c.workflow_name, runs: num(c.runs), cost: num(c.total_cost), prev_cost: before.get(key(c)) ?? null }))
    .sort((a, b) => b.cost - a.cost || a.workflow_id.localeCompare(b.workflow_id))
    .slice(0, ctx.top);
}
