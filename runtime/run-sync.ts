import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { RunsyncConfig } from '../config/schema.js';
import type { SyncResult } from '../workflows/sync-source.js';
import type { SyncCounts } from '../sync/types.js';

export interface SourceOutcome {
  source: string;
  ok: boolean;
  counts?: SyncCounts;
  error?: string;
  workflowId: string;
}

function rootMessage(e: unknown): string {
  let err = e as Error & { cause?: unknown };
  while (err?.cause instanceof Error) err = err.cause as Error & { cause?: unknown };
  return err?.message ?? String(e);
}

/** Runs one sync of each chosen source through Temporal, side by side; a failed source does not stop the others. */
export async function syncOnce(client: Client, config: RunsyncConfig, taskQueue: string, only?: string[], opts: { full?: boolean } = {}): Promise<SourceOutcome[]> {
  const sources = config.sources.filter((s) => s.enabled && (!only?.length || only.includes(s.name)));
  const unknown = (only ?? []).filter((n) => !config.sources.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown source(s): ${unknown.join(', ')} (configured: ${config.sources.map((s) => s.name).join(', ') || 'none'})`);
  return Promise.all(
    sources.map(async (s): Promise<SourceOutcome> => {
      const workflowId = `sync-${s.name}-manual-${Date.now()}`;
      try {
        const result = (await client.workflow.execute('syncSource', { taskQueue, workflowId, args: [{ source: s.name, full: opts.full }] })) as SyncResult;
        return { source: s.name, ok: true, counts: result.counts, workflowId };
      } catch (e) {
        return { source: s.name, ok: false, error: e instanceof WorkflowFailedError ? rootMessage(e) : (e as Error).message, workflowId };
      }
    }),
  );
}

export function formatOutcomes(outcomes: SourceOutcome[]): string {
  const lines = outcomes.map((o) =>
    o.ok
      ? `  ${o.source.padEnd(20)} ok      new=${o.counts!.runs_new} updated=${o.counts!.runs_updated} polled=${o.counts!.runs_polled} pages=${o.counts!.pages} api_calls=${o.counts!.api_calls} rows=${o.counts!.rows_written} retries=${o.counts!.retries} quarantined=${o.counts!.quarantined}`
      : `  ${o.source.padEnd(20)} FAILED  ${o.error}`,
  );
  return lines.join('\n');
}
