import type { ClickHouseClient } from '@clickhouse/client';
import { fromCh, toCh } from '../core/time.js';
import { nextVersion } from './version.js';
import type { SyncCounts } from '../sync/types.js';
import type { CursorColumn } from '../providers/types.js';

/** The run columns a cursor may follow, spelled out so no other text reaches the SQL. */
const CURSOR_COLUMNS: Record<CursorColumn, string> = { created_at: 'created_at', started_at: 'started_at', finished_at: 'finished_at' };

/** Small typed helper: a parameterised SELECT returning JSON rows. */
export async function select<T>(client: ClickHouseClient, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const rs = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  return rs.json<T>();
}

/**
 * Runs to poll by id: still open, finished within the settle window, or handed in
 * through the inbox and never fetched. Runs this sync already wrote are left out, and
 * so are runs the provider said are gone (unless written again since: a listing saw them).
 */
export async function runsToRepoll(
  client: ClickHouseClient,
  p: { source: string; syncId: string; kind: 'known' | 'inbox'; settleSince: number; listedSince: number | null; cursorColumn: CursorColumn | null; after: string; limit: number },
): Promise<{ ids: string[]; next: string }> {
  const params = { source: p.source, syncId: p.syncId, settleSince: toCh(p.settleSince), listedSince: toCh(p.listedSince), after: p.after, limit: p.limit };
  if (p.kind === 'known') {
    // Runs this sync's listing already saw (and fetched if they needed it) are not asked for again.
    const listed = p.listedSince !== null && p.cursorColumn ? `AND NOT (r.${CURSOR_COLUMNS[p.cursorColumn]} >= {listedSince:DateTime64(3, 'UTC')})` : '';
    const rows = await select<{ run_id: string }>(
      client,
      `SELECT r.run_id AS run_id FROM run_versions AS r FINAL
       LEFT JOIN (SELECT run_id, max(gone_at) AS gone_at FROM gone_runs WHERE source = {source:String} GROUP BY run_id) AS g
         ON g.run_id = r.run_id
       WHERE r.source = {source:String} AND r.sync_id != {syncId:String}
         AND (r.is_terminal = 0 OR r.finished_at >= {settleSince:DateTime64(3, 'UTC')})
         AND g.gone_at < r.synced_at
         ${listed}
         AND r.run_id > {after:String}
       ORDER BY run_id
       LIMIT {limit:UInt32}`,
      params,
    );
    const ids = rows.map((r) => r.run_id);
    return { ids, next: ids.at(-1) ?? p.after };
  }
  // The inbox's position: `<ms the id was handed in>:<id>`; anything else begins again.
  const m = /^(\d+):(.*)$/s.exec(p.after);
  const position = m ? 'AND (at < {afterAt:Int64} OR (at = {afterAt:Int64} AND run_id > {afterId:String}))' : '';
  const rows = await select<{ run_id: string; at: string | number }>(
    client,
    `SELECT run_id, at FROM (
       SELECT run_id, toUnixTimestamp64Milli(min(added_at)) AS at FROM inbox
       WHERE source = {source:String}
         AND run_id NOT IN (SELECT run_id FROM run_versions WHERE source = {source:String})
         AND run_id NOT IN (SELECT run_id FROM gone_runs WHERE source = {source:String})
       GROUP BY run_id)
     WHERE 1 ${position}
     ORDER BY at DESC, run_id
     LIMIT {limit:UInt32}`,
    { ...params, afterAt: m ? Number(m[1]) : 0, afterId: m ? m[2] : '' },
  );
  const last = rows.at(-1);
  return { ids: rows.map((r) => r.run_id), next: last ? `${Number(last.at)}:${last.run_id}` : p.after };
}

export interface SourceState {
  watermark: number | null;
  lastSyncId: string;
}

export async function readState(client: ClickHouseClient, source: string): Promise<SourceState> {
  const rows = await select<{ watermark: string | null; last_sync_id: string }>(
    client,
    `SELECT watermark, last_sync_id FROM sync_state FINAL WHERE source = {source:String}`,
    { source },
  );
  return rows.length ? { watermark: fromCh(rows[0].watermark), lastSyncId: rows[0].last_sync_id } : { watermark: null, lastSyncId: '' };
}

export async function writeState(client: ClickHouseClient, source: string, watermark: number | null, syncId: string): Promise<void> {
  await client.insert({
    table: 'sync_state',
    values: [{ source, watermark: toCh(watermark), last_sync_id: syncId, updated_at: toCh(Date.now()), version: nextVersion() }],
    format: 'JSONEachRow',
  });
}

export async function addToInbox(client: ClickHouseClient, source: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const now = toCh(Date.now());
  const version = nextVersion();
  await client.insert({ table: 'inbox', values: ids.map((run_id) => ({ source, run_id, added_at: now, version })), format: 'JSONEachRow' });
}

/** A new version of a sync's record in `sync_runs` (written when it starts and when it ends). */
export async function writeSyncRecord(
  client: ClickHouseClient,
  r: {
    source: string;
    sync_id: string;
    provider: string;
    started_at: number;
    finished_at?: number;
    status: 'running' | 'succeeded' | 'failed' | 'cancelled';
    counts?: SyncCounts;
    error?: string;
    watermark_before: number | null;
    watermark_after?: number | null;
  },
): Promise<void> {
  const c = r.counts;
  await client.insert({
    table: 'sync_run_versions',
    values: [
      {
        source: r.source,
        sync_id: r.sync_id,
        provider: r.provider,
        started_at: toCh(r.started_at),
        finished_at: toCh(r.finished_at),
        status: r.status,
        pages: c?.pages ?? 0,
        api_calls: c?.api_calls ?? 0,
        runs_new: c?.runs_new ?? 0,
        runs_updated: c?.runs_updated ?? 0,
        runs_failed: c?.runs_failed ?? 0,
        rows_written: c?.rows_written ?? 0,
        retries: c?.retries ?? 0,
        rate_limited: c?.rate_limited ?? 0,
        quarantined: c?.quarantined ?? 0,
        error: r.error ?? '',
        watermark_before: toCh(r.watermark_before),
        watermark_after: toCh(r.watermark_after),
        version: nextVersion(),
      },
    ],
    format: 'JSONEachRow',
  });
}
