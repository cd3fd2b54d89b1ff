/** What every section of the report reads: the warehouse, the span reported and the source filter. */
import { sql, type ExpressionBuilder } from 'kysely';
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
}

export const sourceIn =
  (filter: string[]) =>
  <TB extends keyof Database>(eb: ExpressionBuilder<Database, TB>) =>
    filter.length ? eb(sql.ref('source'), 'in', filter) : eb.lit(true);

export function reportContext(db: WarehouseDb, opts: { week: IsoWeek; sources?: string[]; top?: number; now?: number }): ReportContext {
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
  };
}

export const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined || Number.isNaN(Number(v)) ? null : Number(v));
/** The failure-rate formula of the views, for sums of their counts: failures / (failures + successes). */
export const rate = (failures: number, succeeded: number): number | null => (failures + succeeded === 0 ? null : failures / (failures + succeeded));
export const key = (r: { source: string; workflow_id: string }): string => `${r.source}\u0000${r.workflow_id}`;
