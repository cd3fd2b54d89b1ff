/**
 * What the weekly reliability report says, read with Kysely from the contract
 * relations. The arithmetic lives in the views (terminal_runs under the rates,
 * retry_chains, recoveries); each section in report/sections/ selects, compares two
 * spans and ranks. A week still in progress is compared with the same elapsed span
 * of the week before.
 */
import type { WarehouseDb } from '../warehouse/kysely.js';
import type { IsoWeek } from './week.js';
import { reportContext, workflowIdsMatching } from './sections/context.js';
import { summarySection, weekBuckets, type ScopeSummary } from './sections/summary.js';
import { flakySection, workflowSections, type FlakyWorkflow, type WorkflowFailures } from './sections/workflows.js';
import { chartSeries, slowestSection, stepHotSpotsSection, type ChartSeries, type SlowRun, type StepHotSpot } from './sections/runs.js';
import { syncSection, type SyncFacts } from './sections/sync.js';
import { reasonsSection, recoverySection, retriesSection, type FailureReason, type RecoverySection, type RetriesSection } from './sections/reliability.js';
import { costSection, queueSection, type CostRow, type QueueRow } from './sections/queue-cost.js';

export type { ScopeSummary, WorkflowFailures, FlakyWorkflow, SlowRun, StepHotSpot, SyncFacts, RetriesSection, RecoverySection, FailureReason, QueueRow, CostRow };
export type { RetryRow, RedWorkflow } from './sections/reliability.js';

export interface ReportData extends ChartSeries {
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
  /** The workflow patterns it was cut to ([] = all). */
  workflowFilter: string[];
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
  retries: RetriesSection;
  recovery: RecoverySection;
  reasons: FailureReason[];
  queue: QueueRow[];
  cost: CostRow[];
}

export interface ReportOptions {
  week: IsoWeek;
  sources?: string[];
  /** Cut to these workflows (ids or names, `*` wildcards): an owner's report. */
  workflows?: string[];
  /** Rows per ranked list. */
  top?: number;
  now?: number;
}

export async function collectReport(db: WarehouseDb, opts: ReportOptions): Promise<ReportData> {
  const ctx = reportContext(db, opts, opts.workflows?.length ? await workflowIdsMatching(db, opts.workflows) : null);
  const buckets = await weekBuckets(ctx);
  const [summary, workflows, flaky, slowest, stepHotSpots, series, syncHealth, retries, recovery, reasons, queue, cost] = await Promise.all([
    summarySection(ctx, buckets),
    workflowSections(ctx, buckets),
    flakySection(ctx),
    slowestSection(ctx),
    stepHotSpotsSection(ctx),
    chartSeries(ctx),
    syncSection(ctx),
    retriesSection(ctx),
    recoverySection(ctx),
    reasonsSection(ctx),
    queueSection(ctx),
    costSection(ctx),
  ]);
  return {
    week: ctx.week,
    previous: ctx.previous,
    inProgress: ctx.inProgress,
    until: ctx.until,
    previousUntil: ctx.previousUntil,
    generatedAt: new Date(ctx.now).toISOString(),
    sourceFilter: ctx.filter,
    workflowFilter: ctx.workflows,
    ...summary,
    ...workflows,
    flaky,
    slowest,
    stepHotSpots,
    ...series,
    syncHealth,
    retries,
    recovery,
    reasons,
    queue,
    cost,
  };
}
