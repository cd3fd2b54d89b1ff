import type { ClickHouseClient } from '@clickhouse/client';
import { select } from '../warehouse/queries.js';

export interface SourceStatus {
  source: string;
  lastSyncAt: string | null;
  lastStatus: string | null;
  lastError: string | null;
  lastSuccessAt: string | null;
  watermark: string | null;
  runs: number;
  openRuns: number;
  quarantined24h: number;
}

/** Where each source stands: configured sources plus any the warehouse has seen. */
export async function sourceStatus(client: ClickHouseClient, configured: string[]): Promise<SourceStatus[]> {
  const syncs = await select<{ source: string; last_at: string; last_status: string; last_error: string; last_ok: string | null }>(
    client,
    `SELECT source, max(started_at) AS last_at, argMax(status, started_at) AS last_status, argMax(error, started_at) AS last_error,
            maxIf(finished_at, status = 'succeeded') AS last_ok
     FROM sync_runs GROUP BY source`,
  );
  const state = await select<{ source: string; watermark: string | null }>(client, `SELECT source, watermark FROM sync_state FINAL`);
  const runs = await select<{ source: string; runs: string; open: string }>(client, `SELECT source, count() AS runs, countIf(is_terminal = 0) AS open FROM runs GROUP BY source`);
  const quarantine = await select<{ source: string; n: string }>(
    client,
    `SELECT source, count() AS n FROM quarantine WHERE severity = 'error' AND received_at >= now64(3) - INTERVAL 1 DAY GROUP BY source`,
  );
  const names = [...new Set([...configured, ...syncs.map((s) => s.source), ...runs.map((r) => r.source)])].sort();
  return names.map((source) => {
    const s = syncs.find((x) => x.source === source);
    const r = runs.find((x) => x.source === source);
    return {
      source,
      lastSyncAt: s?.last_at ?? null,
      lastStatus: s?.last_status ?? null,
      lastError: s?.last_error || null,
      lastSuccessAt: s?.last_ok && !s.last_ok.startsWith('1970') ? s.last_ok : null,
      watermark: state.find((x) => x.source === source)?.watermark ?? null,
      runs: Number(r?.runs ?? 0),
      openRuns: Number(r?.open ?? 0),
      quarantined24h: Number(quarantine.find((x) => x.source === source)?.n ?? 0),
    };
  });
}
