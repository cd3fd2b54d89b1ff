/** Sync health of the report's span: syncs, failures, quarantined records, the last error. */
import { sql } from 'kysely';
import { at } from '../../warehouse/kysely.js';
import { num, numOrNull, type ReportContext } from './context.js';

/** A source's syncs within the report's span, from sync_runs and quarantine. */
export interface SyncFacts {
  source: string;
  provider: string;
  /** Syncs started in the span, and how many of them failed. */
  syncs: number;
  sync_failures: number;
  /** Records quarantined (severity error) and data warnings received in the span. */
  quarantined: number;
  warnings: number;
  /** The error of the last failed sync started in the span; '' and null if none failed. */
  last_error: string;
  last_error_at: string | null;
  /** The state now (sync_health): only in a report of the week in progress. */
  live: { last_sync_status: string; last_success_at: string | null; freshness_s: number | null; open_runs: number } | null;
}

/**
 * Sync facts of [from, to): syncs started, failed, records quarantined, the last
 * error with its time. The week in progress also gets the state now (freshness).
 */
export async function syncSection(ctx: ReportContext): Promise<SyncFacts[]> {
  const { db, filter, sourceWhere } = ctx;
  const [from, to, live] = [ctx.week.start, ctx.until, ctx.inProgress];
  const [syncs, quarantined, now] = await Promise.all([
    db
      .selectFrom('sync_runs')
      .select([
        'source',
        sql<string>`any(provider)`.as('provider'),
        sql<number>`toUInt32(count())`.as('syncs'),
        sql<number>`toUInt32(countIf(status = 'failed'))`.as('sync_failures'),
        sql<string>`argMaxIf(error, started_at, status = 'failed')`.as('last_error'),
        sql<string | null>`if(countIf(status = 'failed') = 0, NULL, maxIf(started_at, status = 'failed'))`.as('last_error_at'),
      ])
      .where('started_at', '>=', at(from))
      .where('started_at', '<', at(to))
      .where(sourceWhere)
      .groupBy('source')
      .execute(),
    db
      .selectFrom('quarantine')
      .select([
        'source',
        sql<string>`any(provider)`.as('provider'),
        sql<number>`toUInt32(countIf(severity = 'error'))`.as('quarantined'),
        sql<number>`toUInt32(countIf(severity != 'error'))`.as('warnings'),
      ])
      .where('received_at', '>=', at(from))
      .where('received_at', '<', at(to))
      .where(sourceWhere)
      .groupBy('source')
      .execute(),
    live ? db.selectFrom('sync_health').selectAll().where(sourceWhere).execute() : Promise.resolve([]),
  ]);
  const names = [...new Set([...syncs, ...quarantined, ...now].map((r) => r.source))].filter((s) => !filter.length || filter.includes(s)).sort();
  return names.map((source) => {
    const s = syncs.find((r) => r.source === source);
    const q = quarantined.find((r) => r.source === source);
    const h = now.find((r) => r.source === source);
    return {
      source,
      provider: s?.provider || q?.provider || h?.provider || '',
      syncs: num(s?.syncs),
      sync_failures: num(s?.sync_failures),
      quarantined: num(q?.quarantined),
      warnings: num(q?.warnings),
      last_error: s?.last_error ?? '',
      last_error_at: s?.last_error_at ?? null,
      live: h ? { last_sync_status: h.last_sync_status, last_success_at: h.last_success_at, freshness_s: numOrNull(h.freshness_s), open_runs: num(h.open_runs) } : null,
    };
  });
}
