/**
 * Progress of the syncs in flight, read from Temporal: each sync's pending activity
 * heartbeats its counts (SyncCounts under `counts`), so any process that can reach the
 * server (the one running the sync, `runsync status`) sees the same figures.
 */
import { clearLine, cursorTo } from 'node:readline';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { addCounts, zeroCounts, type SyncCounts } from '../sync/types.js';
import { syncWorkflowId } from '../workflows/ids.js';
import { logger, logLevel } from '../core/log.js';

export interface SyncProgressView {
  source: string;
  workflowId: string;
  runId: string;
  startedAt: string;
  /** What the sync is doing: listing, re-polling, or bookkeeping between activities. */
  phase: string;
  counts: SyncCounts;
  /** Rows written per second since the sync started. */
  rowsPerSecond: number;
  /** A retry or Retry-After wait in progress, from the last heartbeat. */
  waiting: { ms: number; reason: string } | null;
  activityAttempt: number;
  lastHeartbeatAt: string | null;
}

interface Tally {
  runId: string;
  activityId: string | null;
  base: SyncCounts;
  last: SyncCounts;
}

/**
 * Reads the progress of each source's sync in flight. A sync is a chain of activity calls
 * (each a bounded slice of work); counts of finished calls are carried in `tallies`
 * between reads, so call it repeatedly with the same map for running totals.
 */
export class ProgressReader {
  private readonly tallies = new Map<string, Tally>();
  constructor(private readonly client: Client) {}

  async read(source: string): Promise<SyncProgressView | null> {
    const workflowId = syncWorkflowId(source);
    let desc;
    try {
      desc = await this.client.workflow.getHandle(workflowId).describe();
    } catch {
      return null; // never started
    }
    if (desc.status.name !== 'RUNNING') {
      this.tallies.delete(source);
      return null;
    }
    let tally = this.tallies.get(source);
    // A continued-as-new run carries its counts in its input; ours restart with it.
    if (!tally || tally.runId !== desc.runId) {
      tally = { runId: desc.runId, activityId: null, base: zeroCounts(), last: zeroCounts() };
      this.tallies.set(source, tally);
    }
    const pending = desc.raw.pendingActivities ?? [];
    const act = pending[0];
    // No activity pending: the workflow is between two slices of work (or about to begin).
    let phase = tally.base.api_calls + tally.last.api_calls > 0 ? 'between pages' : 'starting';
    let waiting: SyncProgressView['waiting'] = null;
    let attempt = 0;
    let lastHeartbeatAt: string | null = null;
    if (act) {
      const name = act.activityType?.name ?? '';
      phase = name === 'listRuns' ? 'listing' : name === 'repollRuns' ? 're-polling' : name === 'finishSync' ? 'finishing' : name === 'beginSync' ? 'starting' : name;
      attempt = act.attempt ?? 0;
      if (act.lastHeartbeatTime?.seconds) lastHeartbeatAt = new Date(Number(act.lastHeartbeatTime.seconds) * 1000 + Math.round((act.lastHeartbeatTime.nanos ?? 0) / 1e6)).toISOString();
      if (tally.activityId !== act.activityId) {
        // The previous call finished: what it had reported is done work.
        tally.base = addCounts(tally.base, tally.last);
        tally.last = zeroCounts();
        tally.activityId = act.activityId ?? null;
      }
      const payload = act.heartbeatDetails?.payloads?.[0];
      if (payload) {
        try {
          const details = defaultPayloadConverter.fromPayload<{ counts?: Partial<SyncCounts>; waiting?: number; reason?: string }>(payload);
          if (details?.counts) tally.last = addCounts(zeroCounts(), details.counts);
          if (typeof details?.waiting === 'number' && details.waiting > 0) waiting = { ms: details.waiting, reason: details.reason ?? '' };
        } catch {
          // Details of another shape (an older worker): counts stay as they were.
        }
      }
    }
    const counts = addCounts(tally.base, tally.last);
    const secs = Math.max(1, (Date.now() - desc.startTime.getTime()) / 1000);
    return {
      source,
      workflowId,
      runId: desc.runId,
      startedAt: desc.startTime.toISOString(),
      phase,
      counts,
      rowsPerSecond: Math.round((counts.rows_written / secs) * 10) / 10,
      waiting,
      activityAttempt: attempt,
      lastHeartbeatAt,
    };
  }
}

export function formatProgress(p: SyncProgressView): string {
  const c = p.counts;
  const runs = c.runs_new + c.runs_updated + c.runs_polled;
  const parts = [
    `${p.source}: ${p.phase}`,
    `${c.pages} pages`,
    `${runs} runs (${c.runs_new} new, ${c.runs_updated} updated, ${c.runs_polled} polled)`,
    `${c.rows_written} rows (${p.rowsPerSecond}/s)`,
    `${c.api_calls} requests`,
    `${c.retries} retries`,
    `${c.rate_limited} rate-limited`,
  ];
  if (c.runs_failed) parts.push(`${c.runs_failed} runs failed`);
  if (p.activityAttempt > 1) parts.push(`attempt ${p.activityAttempt}`);
  if (p.waiting) parts.push(`waiting ${Math.ceil(p.waiting.ms / 1000)} s (${p.waiting.reason})`);
  return parts.join(', ');
}

/**
 * Shows the progress of the given sources' syncs every `everyMs`: one live line on a
 * terminal, plain lines otherwise (logs, CI, pipes). Returns a function that stops it.
 */
export function showProgress(client: Client, sources: string[], opts: { everyMs?: number; stream?: NodeJS.WriteStream; minAgeMs?: number } = {}): () => void {
  if (logLevel() === 'warn' || logLevel() === 'error') return () => undefined; // --quiet
  const stream = opts.stream ?? process.stderr;
  const live = !!stream.isTTY;
  const reader = new ProgressReader(client);
  const log = logger({ component: 'progress' });
  let busy = false;
  let shown = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const views = (await Promise.all(sources.map((s) => reader.read(s).catch(() => null)))).filter(
        (v): v is SyncProgressView => v !== null && Date.now() - Date.parse(v.startedAt) >= (opts.minAgeMs ?? 0),
      );
      if (live) {
        const text = views.map((v) => `${v.source} ${v.phase} ${v.counts.runs_new + v.counts.runs_updated + v.counts.runs_polled} runs ${v.counts.rows_written} rows ${v.rowsPerSecond}/s${v.counts.retries ? ` ${v.counts.retries} retries` : ''}${v.waiting ? ' (waiting)' : ''}`).join(' | ');
        clearLine(stream, 0);
        cursorTo(stream, 0);
        if (text) stream.write(text.slice(0, Math.max(20, (stream.columns ?? 120) - 1)));
        shown = !!text;
      } else {
        for (const v of views) log.info(`progress ${formatProgress(v)}`);
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), opts.everyMs ?? 2_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (live && shown) {
      clearLine(stream, 0);
      cursorTo(stream, 0);
    }
  };
}
