import { describe, expect, it } from 'vitest';
import { estimateLeft, formatProgress, type SyncProgressView } from '../../runtime/progress.js';
import { zeroCounts } from '../../sync/types.js';

/** The estimate shown with a sync's progress, and where it goes in the line. */
describe('progress estimate', () => {
  it('is the time left at the pace so far', () => {
    // A quarter done in 30 s from the start: three quarters take 90 s more.
    expect(estimateLeft(0.25, 30_000, { at: 0, done: 0 })).toBe(90_000);
    // Measured between two reads: 0.4 → 0.6 in 10 s leaves 0.4 at 0.02/s.
    expect(estimateLeft(0.6, 20_000, { at: 10_000, done: 0.4 })).toBe(20_000);
  });

  it('is not told while too little is done, nothing moved, or the listing is over', () => {
    expect(estimateLeft(0.01, 30_000, { at: 0, done: 0 })).toBeNull();
    expect(estimateLeft(0.5, 30_000, { at: 0, done: 0.5 })).toBeNull();
    expect(estimateLeft(0.5, 500, { at: 0, done: 0 })).toBeNull();
    expect(estimateLeft(1, 30_000, { at: 0, done: 0 })).toBeNull();
  });

  it('follows the counts in the plain progress line', () => {
    const view: SyncProgressView = {
      source: 'strait-prod', workflowId: 'w', runId: 'r', startedAt: '2026-12-02T10:00:00.000Z', phase: 'listing',
      counts: { ...zeroCounts(), pages: 3, api_calls: 40, runs_new: 30, rows_written: 120 }, rowsPerSecond: 12.5,
      waiting: null, activityAttempt: 1, lastHeartbeatAt: null, done: 0.426, etaMs: 83_000,
    };
    expect(formatProgress(view)).toBe('strait-prod: listing, 3 pages, 30 runs (30 new, 0 updated, 0 polled), 120 rows (12.5/s), 40 requests, 0 retries, 0 rate-limited, listed 42%, about 1m 23s left');
    expect(formatProgress({ ...view, etaMs: null })).toMatch(/, listed 42%$/);
    expect(formatProgress({ ...view, phase: 're-polling', done: null, etaMs: null })).toMatch(/0 rate-limited$/);
  });
});
