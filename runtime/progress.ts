/**
 * Progress of the syncs in flight, read from Temporal: each sync's pending activity
 * heartbeats its counts (SyncCounts under `counts`), so any process that can reach the
 * server (the one running the sync, `runsync status`) sees the same figures.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type * as LogUpdate from 'log-update';
import { addCounts, zeroCounts, type SyncCounts } from '../sync/types.js';
import { syncWorkflowId } from '../workflows/ids.js';
import { logger, logLevel, setStderrOverlay } from '../core/log.js';
import { duration } from '../report/format.js';

type LiveDisplay = ReturnType<typeof LogUpdate.createLogUpdate>;

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
  /** How far the listing is (0..1), while listing; null otherwise. */
  done: number | null;
  /** Time the listing has left at its pace so far, when it can be told. */
  etaMs: number | null;
}

interface Tally {
  runId: string;
  activityId: string | null;
  base: SyncCounts;
  last: SyncCounts;
  /** A continued run's first listing position this reader saw, and when: its pace is measured from it. */
  firstDone: { at: number; done: number } | null;
}

/**
 * Time left at the pace from `from` to now; null while too little is done to tell. A read
 * without an earlier one measures from the sync's start (position 0).
 */
export function estimateLeft(done: number, now: number, from: { at: number; done: number }): number | null {
  const moved = done - from.done;
  const took = now - from.at;
  if (done >= 1 || done < 0.02 || moved <= 0.005 || took < 1_000) return null;
  return Math.round(((1 - done) * took) / moved);
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
      tally = { runId: desc.runId, activityId: null, base: zeroCounts(), last: zeroCounts(), firstDone: null };
      this.tallies.set(source, tally);
    }
    const pending = desc.raw.pendingActivities ?? [];
    const act = pending[0];
    // No activity pending: the workflow is between two slices of work (or about to begin).
    let phase = tally.base.api_calls + tally.last.api_calls > 0 ? 'between pages' : 'starting';
    let waiting: SyncProgressView['waiting'] = null;
    let attempt = 0;
    let lastHeartbeatAt: string | null = null;
    let done: number | null = null;
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
          const details = defaultPayloadConverter.fromPayload<{ counts?: Partial<SyncCounts>; waiting?: number; reason?: string; done?: number }>(payload);
          if (details?.counts) tally.last = addCounts(zeroCounts(), details.counts);
          if (name === 'listRuns' && typeof details?.done === 'number' && Number.isFinite(details.done)) done = Math.min(1, Math.max(0, details.done));
          if (typeof details?.waiting === 'number' && details.waiting > 0) waiting = { ms: details.waiting, reason: details.reason ?? '' };
        } catch {
          // Details of another shape (an older worker): counts stay as they were.
        }
      }
    }
    const counts = addCounts(tally.base, tally.last);
    const now = Date.now();
    const secs = Math.max(1, (now - desc.startTime.getTime()) / 1000);
    let etaMs: number | null = null;
    if (done !== null) {
      // A continued run (long backfills) starts part-way: its pace is measured between two reads.
      const first = desc.raw.workflowExecutionInfo?.firstRunId;
      const continued = !!first && first !== desc.runId;
      if (continued) tally.firstDone ??= { at: now, done };
      const from = continued ? tally.firstDone : { at: desc.startTime.getTime(), done: 0 };
      etaMs = from ? estimateLeft(done, now, from) : null;
    }
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
      done,
      etaMs,
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
  if (p.done !== null) parts.push(`listed ${Math.floor(p.done * 100)}%${p.etaMs !== null ? `, about ${duration(p.etaMs)} left` : ''}`);
  if (p.activityAttempt > 1) parts.push(`attempt ${p.activityAttempt}`);
  if (p.waiting) parts.push(`waiting ${Math.ceil(p.waiting.ms / 1000)} s (${p.waiting.reason})`);
  return parts.join(', ');
}

/** One source on the live line: short, as a terminal line is narrow. */
function liveLine(v: SyncProgressView): string {
  const c = v.counts;
  const runs = c.runs_new + c.runs_updated + c.runs_polled;
  let line = `${v.source} ${v.phase} ${runs} runs ${c.rows_written} rows ${v.rowsPerSecond}/s`;
  if (v.done !== null) line += ` ${Math.floor(v.done * 100)}%${v.etaMs !== null ? ` ~${duration(v.etaMs)} left` : ''}`;
  if (c.retries) line += ` ${c.retries} retries`;
  if (v.waiting) line += ` (waiting ${Math.ceil(v.waiting.ms / 1000)} s: ${v.waiting.reason})`;
  return line;
}

/**
 * Shows the progress of the given sources' syncs every `everyMs`: live lines on a terminal
 * (one per source, redrawn in place; log lines print above them), plain log lines otherwise
 * (logs, CI, pipes). Returns a function that stops it.
 */
export function showProgress(client: Client, sources: string[], opts: { everyMs?: number; stream?: NodeJS.WriteStream; minAgeMs?: number } = {}): () => void {
  if (logLevel() === 'warn' || logLevel() === 'error') return () => undefined; // --quiet
  const stream = opts.stream ?? process.stderr;
  const reader = new ProgressReader(client);
  const log = logger({ component: 'progress' });
  let busy = false;
  let stopped = false;
  let text = '';
  // A terminal of unknown width (columns 0) would show nothing: plain lines there. The cursor
  // stays visible, so a process ended by a signal never leaves it hidden. The live display's
  // library is loaded only for a terminal, before the first tick (scripts never need it).
  let live: LiveDisplay | null = null;
  const liveReady =
    stream.isTTY && stream.columns > 0
      ? import('log-update').then(({ createLogUpdate }) => {
          if (stopped) return;
          const display = createLogUpdate(stream, { showCursor: true });
          live = display;
          if (stream === process.stderr) setStderrOverlay({ clear: () => display.clear(), redraw: () => text && display(text) });
        }).catch(() => undefined) // plain lines then
      : null;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      await liveReady;
      const views = (await Promise.all(sources.map((s) => reader.read(s).catch(() => null)))).filter(
        (v): v is SyncProgressView => v !== null && Date.now() - Date.parse(v.startedAt) >= (opts.minAgeMs ?? 0),
      );
      if (stopped) return;
      if (live) {
        text = views.map(liveLine).join('\n');
        if (text) live(text);
        else live.clear();
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
    stopped = true;
    clearInterval(timer);
    const display = live as LiveDisplay | null;
    if (display) {
      setStderrOverlay(null);
      display.clear();
      display.done();
    }
  };
}
