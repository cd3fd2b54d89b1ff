import { proxyActivities, workflowInfo, continueAsNew, ApplicationFailure, CancellationScope, isCancellation } from '@temporalio/workflow';
import type { SyncActivities } from '../activities/sync.js';
import { mergeTally, zeroCounts, type ListingCursor, type SyncCounts } from '../sync/types.js';

// Paging activities heartbeat after every page; a lost worker is noticed within two minutes.
const paging = proxyActivities<SyncActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 5,
    nonRetryableErrorTypes: ['AuthError', 'ConfigError'],
  },
});

const bookkeeping = proxyActivities<SyncActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumAttempts: 10, nonRetryableErrorTypes: ['ConfigError'] },
});

export interface SyncProgress {
  syncId: string;
  startedAt: number;
  since: number;
  watermark: number | null;
  phase: 'list' | 'repoll' | 'done';
  cursor: ListingCursor | null;
  after: string;
  counts: SyncCounts;
  newest: number | null;
  oldestFailure: number | null;
  oldestListed?: number | null;
  gaps?: number;
}

export interface SyncInput {
  source: string;
  /** List the whole backfill window instead of starting from the watermark. */
  full?: boolean;
  /** Set when the workflow continued as new in the middle of a long backfill. */
  progress?: SyncProgress;
  /** History length past which the workflow continues as new (default 5000). */
  historyLimit?: number;
  /** The sync's id in sync_runs when the workflow id is the source's (one sync in flight per source). */
  syncId?: string;
}

export interface SyncResult {
  source: string;
  syncId: string;
  status: 'succeeded';
  counts: SyncCounts;
  watermark: number | null;
}


/**
 * One sync of one source: list (newest first, down to the window), re-poll open and
 * recently finished runs by id, then record the outcome and move the watermark.
 * Activities move the data; this function only carries cursors and counts.
 */
export async function syncSource(input: SyncInput): Promise<SyncResult> {
  const info = workflowInfo();
  let p: SyncProgress;
  if (input.progress) {
    p = input.progress;
  } else {
    const syncId = input.syncId ?? info.workflowId;
    const begun = await bookkeeping.beginSync({ source: input.source, syncId, full: input.full });
    p = {
      syncId,
      startedAt: begun.startedAt,
      since: begun.since,
      watermark: begun.watermark,
      phase: begun.listable ? 'list' : 'repoll',
      cursor: null,
      after: '',
      counts: zeroCounts(),
      newest: null,
      oldestFailure: null,
    };
  }

  let carryOn = false;
  try {
    while (p.phase !== 'done') {
      if (p.phase === 'list') {
        const r = await paging.listRuns({ source: input.source, syncId: p.syncId, since: p.since, cursor: p.cursor });
        p = { ...p, ...mergeTally(p, r), cursor: r.cursor };
        if (r.cursor === null) p.phase = 'repoll';
      } else {
        // Runs the listing saw are not polled again (unless part of it failed).
        const listedFrom = p.gaps ? null : (p.oldestListed ?? null);
        const r = await paging.repollRuns({ source: input.source, syncId: p.syncId, after: p.after, listedFrom });
        p = { ...p, counts: mergeTally(p, r).counts };
        if (r.after === null) p.phase = 'done';
        else p.after = r.after;
      }
      // Long backfills: start a fresh history before it grows large.
      if (p.phase !== 'done' && (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > (input.historyLimit ?? 5_000))) {
        carryOn = true;
        break;
      }
    }
  } catch (err) {
    const cancelled = isCancellation(err);
    const message = cancelled ? 'the sync was cancelled' : err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    // Recorded even when cancelled, so no sync stays "running" in sync_runs.
    await CancellationScope.nonCancellable(() =>
      bookkeeping.finishSync({ source: input.source, syncId: p.syncId, startedAt: p.startedAt, status: cancelled ? 'cancelled' : 'failed', counts: p.counts, watermark: p.watermark, newest: null, oldestFailure: null, error: message }),
    );
    if (cancelled) throw err;
    throw ApplicationFailure.nonRetryable(`sync of ${input.source} failed: ${message}`, 'SyncFailed');
  }
  if (carryOn) return continueAsNew<typeof syncSource>({ source: input.source, progress: p, historyLimit: input.historyLimit });

  const done = await bookkeeping.finishSync({
    source: input.source,
    syncId: p.syncId,
    startedAt: p.startedAt,
    status: 'succeeded',
    counts: p.counts,
    watermark: p.watermark,
    newest: p.newest,
    oldestFailure: p.oldestFailure,
  });
  return { source: input.source, syncId: p.syncId, status: 'succeeded', counts: p.counts, watermark: done.watermark };
}
