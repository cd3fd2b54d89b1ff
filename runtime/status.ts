import type { ClickHouseClient } from '@clickhouse/client';
import { sql } from 'kysely';
import { warehouseDb } from '../warehouse/kysely.js';

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
  const db = warehouseDb(client);
  const syncs = await db
    .selectFrom('sync_runs')
    .select([
      'source',
      sql<string>`max(started_at)`.as('last_at'),
      sql<string>`argMax(status, started_at)`.as('last_status'),
      sql<string>`argMax(error, started_at)`.as('last_error'),
      sql<string | null>`maxIf(finished_at, status = 'succeeded')`.as('last_ok'),
    ])
    .groupBy('source')
    .execute();
  // The latest version per source, as FINAL would give it.
  const state = await db
    .selectFrom('sync_state')
    .select(['source', sql<string | null>`argMax(watermark, version)`.as('watermark')])
    .groupBy('source')
    .execute();
  const runs = await db
    .selectFrom('runs')
    .select(['source', (eb) => eb.fn.countAll<number>().as('runs'), sql<number>`countIf(is_terminal = 0)`.as('open')])
    .groupBy('source')
    .execute();
  const quarantine = await db
    .selectFrom('quarantine')
    .select(['source', (eb) => eb.fn.countAll<number>().as('n')])
    .where('severity', '=', 'error')
    .where('received_at', '>=', sql<string>`now64(3) - INTERVAL 1 DAY`)
    .groupBy('source')
    .execute();
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
