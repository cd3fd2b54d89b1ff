/**
 * Retries, recovery and failure reasons (docs/metrics.md). Counts come from the flags
 * terminal_runs carries (attempt, is_failure, is_decided, rescued_by_retry) and from
 * `recoveries`; the report only sums them over its span.
 */
import { sql } from 'kysely';
import { at } from '../../warehouse/kysely.js';
import { num, numOrNull, type ReportContext, workflowColumns } from './context.js';

export interface RetryRow {
  /** '' on the all-sources row. */
  source: string;
  workflow_id: string;
  workflow_name: string;
  /** First attempts that succeeded, failed or timed out. */
  first_attempts: number;
  first_attempt_failures: number;
  rescued_by_retry: number;
  /** Runs that were retries (attempt > 1). */
  retries: number;
  first_attempt_failure_rate: number | null;
  /** Chains whose first attempt failed and that no retry rescued, over first attempts. */
  final_failure_rate: number | null;
}

export interface RetriesSection {
  perSource: RetryRow[];
  /** The workflows that need retries most: most runs rescued, then most retries. */
  workflows: RetryRow[];
}

export interface RedWorkflow {
  source: string;
  workflow_id: string;
  workflow_name: string;
  /** Red time inside the span. */
  red_ms: number;
  /** Recoveries that ended inside the span, and their mean time. */
  recoveries: number;
  mttr_ms: number | null;
  /** Still failing at the end of the span: since when, after how many failed runs. */
  failing_since: string | null;
  failed_runs: number;
}

export interface RecoverySection {
  recoveries: number;
  mttr_ms: number | null;
  red_ms: number;
  workflows: RedWorkflow[];
  stillFailing: RedWorkflow[];
}

export interface FailureReason {
  source: string;
  error_signature: string;
  runs: number;
  workflows: string[];
  sample_error: string;
  /** No failure with this signature in the source in the four weeks before the week. */
  is_new: boolean;
}

const retryRow = (r: { source: string; workflow_id: string; workflow_name: string; first_attempts: unknown; first_attempt_failures: unknown; rescued_by_retry: unknown; retries: unknown }): RetryRow => {
  const first = num(r.first_attempts);
  const failures = num(r.first_attempt_failures);
  const rescued = num(r.rescued_by_retry);
  return {
    source: r.source,
    workflow_id: r.workflow_id,
    workflow_name: r.workflow_name,
    first_attempts: first,
    first_attempt_failures: failures,
    rescued_by_retry: rescued,
    retries: num(r.retries),
    first_attempt_failure_rate: first === 0 ? null : failures / first,
    final_failure_rate: first === 0 ? null : (failures - rescued) / first,
  };
};

export async function retriesSection(ctx: ReportContext): Promise<RetriesSection> {
  const rows = await ctx.db
    .selectFrom('terminal_runs')
    .select([
      ...workflowColumns('finished_at'),
      sql<number>`toUInt32(countIf(attempt = 1 AND is_decided = 1))`.as('first_attempts'),
      sql<number>`toUInt32(countIf(attempt = 1 AND is_failure = 1))`.as('first_attempt_failures'),
      sql<number>`toUInt32(sum(rescued_by_retry))`.as('rescued_by_retry'),
      sql<number>`toUInt32(countIf(attempt > 1))`.as('retries'),
    ])
    .where('finished_at', '>=', at(ctx.week.start))
    .where('finished_at', '<', at(ctx.until))
    .where(ctx.scopeWhere)
    .groupBy(['source', 'workflow_id'])
    .execute();
  const wf = rows.map(retryRow);
  const sumOf = (source: string) => {
    const part = wf.filter((r) => source === '' || r.source === source);
    const s = (k: 'first_attempts' | 'first_attempt_failures' | 'rescued_by_retry' | 'retries') => part.reduce((a, r) => a + r[k], 0);
    return retryRow({ source, workflow_id: '', workflow_name: '', first_attempts: s('first_attempts'), first_attempt_failures: s('first_attempt_failures'), rescued_by_retry: s('rescued_by_retry'), retries: s('retries') });
  };
  const sources = [...new Set(wf.map((r) => r.source))].sort();
  return {
    perSource: wf.length ? [sumOf(''), ...sources.map(sumOf)] : [],
    workflows: wf
      .filter((r) => r.retries > 0 || r.rescued_by_retry > 0)
      .sort((a, b) => b.rescued_by_retry - a.rescued_by_retry || b.retries - a.retries || a.workflow_id.localeCompare(b.workflow_id))
      .slice(0, ctx.top),
  };
}

export async function recoverySection(ctx: ReportContext): Promise<RecoverySection> {
  const start = at(ctx.week.start);
  const end = at(ctx.until);
  const rows = await ctx.db
    .selectFrom('recoveries')
    .select([
      ...workflowColumns('failed_at'),
      // The part of each red spell inside the span (open spells run to the span's end).
      sql<number>`toUInt64(sum(greatest(0, dateDiff('millisecond', greatest(failed_at, ${start}), least(coalesce(recovered_at, ${end}), ${end})))))`.as('red_in_span'),
      sql<number>`toUInt32(countIf(recovered_at >= ${start} AND recovered_at < ${end}))`.as('ended'),
      sql<number | null>`avgIf(recovery_ms, recovered_at >= ${start} AND recovered_at < ${end})`.as('mttr'),
      sql<string | null>`if(countIf(recovered_at IS NULL OR recovered_at >= ${end}) = 0, NULL, minIf(failed_at, recovered_at IS NULL OR recovered_at >= ${end}))`.as('since'),
      sql<number>`toUInt32(sumIf(failed_runs, recovered_at IS NULL OR recovered_at >= ${end}))`.as('failing_runs'),
      sql<number>`sumIf(recovery_ms, recovered_at >= ${start} AND recovered_at < ${end})`.as('recovery_sum'),
    ])
    .where('failed_at', '<', end)
    .where((eb) => eb.or([eb('recovered_at', 'is', null), eb('recovered_at', '>=', start)]))
    .where(ctx.scopeWhere)
    .groupBy(['source', 'workflow_id'])
    .execute();
  const all: RedWorkflow[] = rows.map((r) => ({
    source: r.source,
    workflow_id: r.workflow_id,
    workflow_name: r.workflow_name,
    red_ms: num(r.red_in_span),
    recoveries: num(r.ended),
    mttr_ms: num(r.ended) ? numOrNull(r.mttr) : null,
    failing_since: r.since,
    failed_runs: num(r.failing_runs),
  }));
  const recoveries = all.reduce((a, r) => a + r.recoveries, 0);
  const recoverySum = rows.reduce((a, r) => a + num(r.recovery_sum), 0);
  return {
    recoveries,
    mttr_ms: recoveries ? recoverySum / recoveries : null,
    red_ms: all.reduce((a, r) => a + r.red_ms, 0),
    workflows: all.filter((r) => r.red_ms > 0).sort((a, b) => b.red_ms - a.red_ms || a.workflow_id.localeCompare(b.workflow_id)).slice(0, ctx.top),
    stillFailing: all
      .filter((r) => r.failing_since !== null)
      .sort((a, b) => (a.failing_since! < b.failing_since! ? -1 : a.failing_since! > b.failing_since! ? 1 : 0))
      .slice(0, ctx.top),
  };
}

export async function reasonsSection(ctx: ReportContext): Promise<FailureReason[]> {
  const FOUR_WEEKS = 28 * 86_400_000;
  const [rows, before] = await Promise.all([
    ctx.db
      .selectFrom('terminal_runs')
      .select([
        'source',
        'error_signature',
        sql<number>`toUInt32(count())`.as('failures'),
        sql<string[]>`arraySort(groupUniqArray(if(workflow_name != '', workflow_name, workflow_id)))`.as('workflow_names'),
        sql<string>`runsync_scrub_error(argMax(error, finished_at))`.as('sample'),
      ])
      .where('is_failure', '=', 1)
      .where('finished_at', '>=', at(ctx.week.start))
      .where('finished_at', '<', at(ctx.until))
      .where(ctx.scopeWhere)
      .groupBy(['source', 'error_signature'])
      .orderBy(sql`failures`, 'desc')
      .orderBy('error_signature')
      .limit(ctx.top)
      .execute(),
    ctx.db
      .selectFrom('terminal_runs')
      .select(['source', 'error_signature'])
      .distinct()
      .where('is_failure', '=', 1)
      .where('finished_at', '>=', at(ctx.week.start - FOUR_WEEKS))
      .where('finished_at', '<', at(ctx.week.start))
      .where(ctx.scopeWhere)
      .execute(),
  ]);
  const seen = new Set(before.map((b) => `${b.source}\u0000${b.error_signature}`));
  return rows.map((r) => ({ source: r.source, error_signature: r.error_signature, workflows: r.workflow_names, sample_error: r.sample, runs: num(r.failures), is_new: !seen.has(`${r.source}\u0000${r.error_signature}`) }));
}
