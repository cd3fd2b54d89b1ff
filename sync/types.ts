/** Values that travel between workflows and activities: ids, cursors and counts, never rows. */
import type { PageState } from '../http/paging.js';

export interface SyncCounts {
  pages: number;
  api_calls: number;
  runs_new: number;
  runs_updated: number;
  runs_polled: number;
  rows_written: number;
  retries: number;
  rate_limited: number;
  quarantined: number;
  runs_failed: number;
}

export const zeroCounts = (): SyncCounts => ({
  pages: 0,
  api_calls: 0,
  runs_new: 0,
  runs_updated: 0,
  runs_polled: 0,
  rows_written: 0,
  retries: 0,
  rate_limited: 0,
  quarantined: 0,
  runs_failed: 0,
});

export function addCounts(a: SyncCounts, b: Partial<SyncCounts>): SyncCounts {
  const out = { ...a };
  for (const k of Object.keys(out) as (keyof SyncCounts)[]) out[k] += b[k] ?? 0;
  return out;
}

/** What a sync has gathered so far: its counts and the two bounds of the next watermark. */
export interface Tally {
  counts: SyncCounts;
  /** Newest item time seen (ms): the watermark candidate. */
  newest: number | null;
  /** Oldest item time whose run could not be fetched: the watermark must stay below it. */
  oldestFailure: number | null;
  /** Oldest item time the listing saw: every run at or after it was listed (unless there were gaps). */
  oldestListed?: number | null;
  /** Listings that failed part-way (a parent's): the listing did not see everything after `oldestListed`. */
  gaps?: number;
}

/**
 * The one way tallies combine, used by every layer that adds up a sync: an activity
 * retry adding its earlier attempts' heartbeat, and the workflow adding activity calls.
 */
export function mergeTally(a: Partial<Tally> | undefined, b: Partial<Tally>): Tally {
  return {
    counts: addCounts(a?.counts ?? zeroCounts(), b.counts ?? {}),
    newest: maxOrNull(a?.newest ?? null, b.newest ?? null),
    oldestFailure: minOrNull(a?.oldestFailure ?? null, b.oldestFailure ?? null),
    oldestListed: minOrNull(a?.oldestListed ?? null, b.oldestListed ?? null),
    gaps: (a?.gaps ?? 0) + (b.gaps ?? 0),
  };
}

export const maxOrNull = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));
export const minOrNull = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));

/** Where a listing stands: which stream (by name), which parent (by id), which page. */
export interface ListingCursor {
  stream: string;
  parent?: string;
  page?: PageState;
}

/** What a listing activity call reports back. */
export interface ListingResult extends Tally {
  cursor: ListingCursor | null;
}

export interface RepollResult {
  after: string | null;
  counts: SyncCounts;
}

export interface BeginResult {
  startedAt: number;
  since: number;
  watermark: number | null;
  listable: boolean;
}
