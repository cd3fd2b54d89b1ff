/** What every section of the report reads: the warehouse, the span reported and the source filter. */
import { sql, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Database } from '../../schema/tables.js';
import type { WarehouseDb } from '../../warehouse/kysely.js';
import { previousWeek, type IsoWeek } from '../week.js';

export interface ReportContext {
  db: WarehouseDb;
  week: IsoWeek;
  previous: IsoWeek;
  /** The week has not ended at `now`: only runs up to `until` are in it. */
  inProgress: boolean;
  /** End (exclusive, epoch ms) of the span reported: week.end, or `now` while in progress. */
  until: number;
  /** End of the previous week's span compared with: previous.start + (until - week.start). */
  previousUntil: number;
  now: number;
  /** Rows per ranked list. */
  top: number;
  /** The sources the report is limited to ([] = all). */
  filter: string[];
  /** `source IN (…)` when the report is limited, else true: filtered in SQL, so a large warehouse is not read whole. */
  sourceWhere: ReturnType<typeof sourceIn>;
  /** Workflow patterns (ids or names, `*` wildcards) an owner's report is cut to ([] = all). */
  workflows: string[];
  /** The workflow ids those patterns match (null: no cut). */
  workflowIds: string[] | null;
  /** The source filter and the workflow patterns, for relations with workflow_id and workflow_name. */
  scopeWhere: ReturnType<typeof scopeIn>;
}

export const globRegex = (p: string) => `^${p.split('*').map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`;

export const scopeIn =
  (filter: string[], workflowIds: string[] | null) =>
  <TB extends keyof Database>(eb: ExpressionBuilder<Database, TB>) =>
    eb.and([
      filter.length ? eb(sql.ref('source'), 'in', filter) : eb.lit(true),
      workflowIds === null ? eb.lit(true) : workflowIds.length ? eb(sql.ref('workflow_id'), 'in', workflowIds) : eb.lit(false),
    ]);

/** The workflow ids whose id or name matches one of the patterns (names change; ids do not). */
export async function workflowIdsMatching(db: WarehouseDb, patterns: string[]): Promise<string[]> {
  const rows = await db
    .selectFrom('runs')
    .select('workflow_id')
    .distinct()
    .where((eb) => eb(sql<SqlBool>`arrayExists(p -> match(workflow_id, p) OR match(workflow_name, p), ${patterns.map(globRegex)})`, '=', true))
    .execute();
  return rows.map((r) => r.workflow_id).sort();
}

export const sourceIn =
  (filter: string[]) =>
  <TB extends keyof Database>(eb: ExpressionBuilder<Database, TB>) =>
    filter.length ? eb(sql.ref('source'), 'in', filter) : eb.lit(true);

export function reportContext(
  db: WarehouseDb,
  opts: { week: IsoWeek; sources?: string[]; workflows?: string[]; top?: number; now?: number },
  workflowIds: string[] | null = null,
): ReportContext {
  const week = opts.week;
  const previous = previousWeek(week);
  const now = opts.now ?? Date.now();
  const until = Math.min(Math.max(now, week.start), week.end);
  const filter = opts.sources ?? [];
  return {
    db,
    week,
    previous,
    inProgress: now < week.end,
    until,
    previousUntil: previous.start + (until - week.start),
    now,
    top: opts.top ?? 10,
    filter,
    sourceWhere: sourceIn(filter),
    workflows: opts.workflows ?? [],
    workflowIds,
    scopeWhere: scopeIn(filter, workflowIds),
  };
}

export const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined || Number.isNaN(Number(v)) ? null : Number(v));
/** The failure-rate formula of the views, for sums of their counts: failures / (failures + successes). */
export const rate = (failures: number, succeeded: number): number | null => (failures + succeeded === 0 ? null : failures / (failures + succeeded));
export const key = (r: { source: string; workflow_id: string }): string => `${r.source}\u0000${r.workflow_id}`;

/** A workflow in a per-workflow query: its source, its id, and its name as of the row latest by `latest`. */
export function workflowColumns(latest: 'finished_at' | 'failed_at') {
  return ['source', 'workflow_id', sql<string>`argMax(workflow_name, ${sql.raw(latest)})`.as('workflow_name')] as const;
}
