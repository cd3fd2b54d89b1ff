/** Workflows that failed most, new failures, new workflows, flaky workflows. */
import { sql } from 'kysely';
import { at } from '../../warehouse/kysely.js';
import { key, num, rate, type ReportContext, workflowColumns } from './context.js';
import type { WeekBuckets } from './summary.js';

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

export async function workflowSections(
  ctx: ReportContext,
  b: WeekBuckets,
): Promise<{ mostFailing: WorkflowFailures[]; newFailures: WorkflowFailures[]; newWorkflows: WorkflowFailures[] }> {
  const prevFailures = new Map(b.prev.map((r) => [key(r), num(r.failed) + num(r.timed_out)]));
  const byFailures = (a: WorkflowFailures, c: WorkflowFailures) =>
    c.failures - a.failures || (c.failure_rate ?? 0) - (a.failure_rate ?? 0) || a.workflow_id.localeCompare(c.workflow_id);
  const workflows: WorkflowFailures[] = b.cur.map((r) => ({
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
  if (b.cur.length) {
    const earlier = await ctx.db
      .selectFrom('runs')
      .select(['source', 'workflow_id'])
      .where('is_test', '=', 0)
      .where('workflow_id', 'in', [...new Set(b.cur.map((r) => r.workflow_id))])
      .where(ctx.scopeWhere)
      .groupBy(['source', 'workflow_id'])
      .having(sql`min(coalesce(created_at, started_at, finished_at, first_seen_at))`, '<', at(ctx.week.start))
      .execute();
    for (const r of earlier) seenBefore.add(key(r));
  }
  const prevWhole = new Map(b.prevFull.map((r) => [key(r), r]));
  const newFailures = failing.filter((w) => {
    const p = prevWhole.get(key(w));
    return p !== undefined && num(p.runs) > 0 && num(p.failed) + num(p.timed_out) === 0;
  });
  const newWorkflows = workflows.filter((w) => !seenBefore.has(key(w))).sort(byFailures);
  return { mostFailing: failing.slice(0, ctx.top), newFailures: newFailures.slice(0, ctx.top), newWorkflows: newWorkflows.slice(0, ctx.top) };
}

/** Outcomes in finishing order, per workflow: alternating outcomes are flakiness. */
export async function flakySection(ctx: ReportContext): Promise<FlakyWorkflow[]> {
  const outcomes = await ctx.db
    .selectFrom('terminal_runs')
    .select([
      ...workflowColumns('finished_at'),
      sql<number[]>`arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((finished_at, is_failure))))`.as('failed_seq'),
    ])
    .where('is_decided', '=', 1)
    .where('finished_at', '>=', at(ctx.week.start))
    .where('finished_at', '<', at(ctx.until))
    .where(ctx.scopeWhere)
    .groupBy(['source', 'workflow_id'])
    .execute();
  return outcomes
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
    .slice(0, ctx.top);
}
