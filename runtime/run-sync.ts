import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure, WorkflowIdReusePolicy } from '@temporalio/common';
import type { RunsyncConfig } from '../config/schema.js';
import type { SyncResult, syncSource } from '../workflows/sync-source.js';
import { syncWorkflowId } from '../workflows/ids.js';
import type { SyncCounts } from '../sync/types.js';
import { beforeStopping } from './lifecycle.js';
import { showProgress } from './progress.js';
import { logger } from '../core/log.js';

const log = logger({ component: 'sync' });

export interface SourceOutcome {
  source: string;
  ok: boolean;
  /** Stopped by a signal (cancelled through Temporal). */
  cancelled?: boolean;
  /** The sync was already in flight (started by a schedule or another process); this is its outcome. */
  joined?: boolean;
  counts?: SyncCounts;
  error?: string;
  workflowId: string;
}

function rootMessage(e: unknown): string {
  let err = e as Error & { cause?: unknown };
  while (err?.cause instanceof Error) err = err.cause as Error & { cause?: unknown };
  return err?.message ?? String(e);
}

/** The outcome names its source already: the layers' `source "x": ` / `sync of x failed: ` prefixes go. */
function withoutSourcePrefix(message: string, source: string): string {
  const name = source.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return message.replace(new RegExp(`^(?:(?:source "${name}"|sync of ${name} failed): )+`), '');
}

function isCancelled(e: unknown): boolean {
  let err = e as Error & { cause?: unknown };
  while (err) {
    if (err instanceof CancelledFailure) return true;
    err = err.cause as Error & { cause?: unknown };
  }
  return false;
}

/** Each process marks the syncs it starts, so it cancels only those on Ctrl-C. */
const STARTER = randomUUID();

/**
 * Starts a sync of one source, or joins the one in flight: the workflow id is the
 * source's, so Temporal never runs two at once whoever starts them (this CLI, a
 * schedule, another process). Returns the handle and whether this call started it.
 */
export async function startSourceSync(client: Client, source: string, taskQueue: string, opts: { full?: boolean } = {}): Promise<{ handle: WorkflowHandle<typeof syncSource>; started: boolean }> {
  const syncId = `${syncWorkflowId(source)}-${new Date().toISOString()}`;
  const handle = await client.workflow.start<typeof syncSource>('syncSource', {
    taskQueue,
    workflowId: syncWorkflowId(source),
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    args: [{ source, full: opts.full, syncId }],
    memo: { starter: STARTER },
  });
  const desc = await handle.describe();
  const started = desc.memo?.starter === STARTER;
  // The id is the source's within the namespace: a sync in flight on another task queue is
  // another deployment's (or an abandoned queue's), and joining it would report its counts
  // while this warehouse gets nothing.
  if (!started && desc.taskQueue !== taskQueue) {
    throw new Error(
      `a sync of source "${source}" is in flight on task queue "${desc.taskQueue}", not this deployment's "${taskQueue}" ` +
        `(namespace "${client.options.namespace}", workflow ${desc.workflowId}): another runsync deployment with a source of the same name uses this namespace; give each deployment a namespace of its own`,
    );
  }
  return { handle, started };
}

/** Requests cancellation of running syncs and waits (up to `waitMs`) until they have closed. */
export async function cancelSyncs(handles: WorkflowHandle[], waitMs = 8_000): Promise<void> {
  const running: WorkflowHandle[] = [];
  for (const h of handles) {
    try {
      const d = await h.describe();
      if (d.status.name === 'RUNNING') {
        await h.cancel();
        running.push(h);
      }
    } catch (e) {
      log.debug('cannot cancel sync', { workflowId: h.workflowId, error: (e as Error).message });
    }
  }
  if (running.length === 0) return;
  log.info(`cancelling ${running.length} sync(s) in flight`, { workflows: running.map((h) => h.workflowId).join(',') });
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const states = await Promise.all(running.map((h) => h.describe().then((d) => d.status.name, () => 'UNKNOWN')));
    if (states.every((s) => s !== 'RUNNING')) return;
    await sleep(200);
  }
  log.warn('syncs still running after the cancel request; stopping anyway', { workflows: running.map((h) => h.workflowId).join(',') });
}

/**
 * Runs one sync of each chosen source through Temporal, side by side; a failed source does
 * not stop the others. Progress is shown while they run; a signal cancels the syncs this
 * call started (through Temporal, so they are recorded as cancelled).
 */
export async function syncOnce(client: Client, config: RunsyncConfig, taskQueue: string, only?: string[], opts: { full?: boolean; progress?: boolean } = {}): Promise<SourceOutcome[]> {
  const sources = config.sources.filter((s) => s.enabled && (!only?.length || only.includes(s.name)));
  const unknown = (only ?? []).filter((n) => !config.sources.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown source(s): ${unknown.join(', ')} (configured: ${config.sources.map((s) => s.name).join(', ') || 'none'})`);
  const ours: WorkflowHandle[] = [];
  const stopCancelling = beforeStopping(() => cancelSyncs(ours));
  const stopProgress = opts.progress === false ? () => undefined : showProgress(client, sources.map((s) => s.name));
  try {
    return await Promise.all(
      sources.map(async (s): Promise<SourceOutcome> => {
        const workflowId = syncWorkflowId(s.name);
        let joined = false;
        try {
          const { handle, started } = await startSourceSync(client, s.name, taskQueue, { full: opts.full });
          joined = !started;
          if (started) ours.push(handle);
          else log.info('a sync of this source is already in flight: waiting for it', { source: s.name });
          const result = (await handle.result()) as SyncResult;
          return { source: s.name, ok: true, joined, counts: result.counts, workflowId };
        } catch (e) {
          if (isCancelled(e)) return { source: s.name, ok: false, cancelled: true, joined, error: 'cancelled', workflowId };
          const message = e instanceof WorkflowFailedError ? rootMessage(e) : (e as Error).message;
          return { source: s.name, ok: false, joined, error: withoutSourcePrefix(message.split('\n')[0], s.name), workflowId };
        }
      }),
    );
  } finally {
    stopProgress();
    stopCancelling();
  }
}

export function formatOutcomes(outcomes: SourceOutcome[]): string {
  const lines = outcomes.map((o) =>
    o.ok
      ? `  ${o.source.padEnd(20)} ok      new=${o.counts!.runs_new} updated=${o.counts!.runs_updated} polled=${o.counts!.runs_polled} pages=${o.counts!.pages} api_calls=${o.counts!.api_calls} rows=${o.counts!.rows_written} retries=${o.counts!.retries} quarantined=${o.counts!.quarantined}${o.joined ? ' (joined the sync in flight)' : ''}`
      : o.cancelled
        ? `  ${o.source.padEnd(20)} CANCELLED`
        : `  ${o.source.padEnd(20)} FAILED  ${o.error}`,
  );
  return lines.join('\n');
}
