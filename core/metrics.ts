/**
 * runsync's Prometheus metrics (prom-client), served on `/metrics` by workers
 * (RUNSYNC_METRICS_PORT) and by `runsync serve`. Counters count in this process; sums
 * across workers are PromQL's job. Freshness is read from the warehouse at scrape time,
 * so every process reports the same, true answer whichever worker synced.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ClickHouseClient } from '@clickhouse/client';

export const registry = new Registry();

let processMetrics = false;
/**
 * Node's own process metrics (CPU, memory, event-loop lag, GC), from the moment something can
 * scrape them: their GC observer and lag timer cost every sync (3–4% of its CPU), which a
 * `sync --once` or a service without a metrics port would pay for nobody.
 */
export function collectProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: registry, prefix: 'runsync_process_' });
}

const labels = ['source', 'provider'] as const;

export const metrics = {
  /** Every HTTP request to a provider API, as it goes out (retries included). */
  apiRequests: new Counter({ name: 'runsync_api_requests_total', help: 'Requests sent to provider APIs, retries included', labelNames: ['host'], registers: [registry] }),
  /** 429 answers, as they come in. */
  apiRateLimited: new Counter({ name: 'runsync_api_rate_limited_total', help: 'Provider answers of HTTP 429 (rate limited)', labelNames: ['host'], registers: [registry] }),
  syncs: new Counter({ name: 'runsync_syncs_total', help: 'Finished syncs by outcome', labelNames: [...labels, 'status'], registers: [registry] }),
  syncDuration: new Histogram({
    name: 'runsync_sync_duration_seconds',
    help: 'Wall time of a sync, begin to finish',
    labelNames: [...labels, 'status'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [registry],
  }),
  syncApiCalls: new Counter({ name: 'runsync_sync_api_calls_total', help: 'Provider API calls of finished syncs', labelNames: labels, registers: [registry] }),
  syncRetries: new Counter({ name: 'runsync_sync_retries_total', help: 'Retried provider requests of finished syncs', labelNames: labels, registers: [registry] }),
  syncRateLimited: new Counter({ name: 'runsync_sync_rate_limited_total', help: 'Rate-limited (429) answers met by finished syncs', labelNames: labels, registers: [registry] }),
  rowsWritten: new Counter({ name: 'runsync_rows_written_total', help: 'Rows written to the warehouse by finished syncs', labelNames: labels, registers: [registry] }),
  runsNew: new Counter({ name: 'runsync_runs_new_total', help: 'Runs seen for the first time', labelNames: labels, registers: [registry] }),
  runsUpdated: new Counter({ name: 'runsync_runs_updated_total', help: 'Runs that changed since they were last written', labelNames: labels, registers: [registry] }),
  quarantined: new Counter({ name: 'runsync_quarantined_total', help: 'Provider records quarantined (bad input kept aside)', labelNames: labels, registers: [registry] }),
  /** Seconds spent waiting before retrying a provider (Retry-After or backoff). */
  retryWait: new Counter({ name: 'runsync_api_retry_wait_seconds_total', help: 'Seconds waited before retrying provider requests (Retry-After or backoff)', labelNames: ['host'], registers: [registry] }),
};

/** The counts a finished sync reports (sync/types.ts SyncCounts, structurally). */
export interface FinishedSyncCounts {
  api_calls: number;
  retries: number;
  rate_limited: number;
  rows_written: number;
  runs_new: number;
  runs_updated: number;
  quarantined: number;
}

/** Records one finished sync (called once, by the activity that closes its record). */
export function recordSync(source: string, provider: string, status: string, counts: FinishedSyncCounts, seconds: number): void {
  const l = { source, provider };
  metrics.syncs.inc({ ...l, status });
  metrics.syncDuration.observe({ ...l, status }, Math.max(0, seconds));
  metrics.syncApiCalls.inc(l, counts.api_calls);
  metrics.syncRetries.inc(l, counts.retries);
  metrics.syncRateLimited.inc(l, counts.rate_limited);
  metrics.rowsWritten.inc(l, counts.rows_written);
  metrics.runsNew.inc(l, counts.runs_new);
  metrics.runsUpdated.inc(l, counts.runs_updated);
  metrics.quarantined.inc(l, counts.quarantined);
}

/** A request's host, for labels: bounded (one per configured provider), never a path or a token. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'unknown';
  }
}

let warehouseGauges = false;

/**
 * Per-source freshness from the warehouse's sync_health view, read at scrape time:
 * seconds since the last successful sync, and whether the latest sync failed.
 */
export function registerWarehouseMetrics(client: ClickHouseClient): void {
  if (warehouseGauges) return;
  warehouseGauges = true;
  // A warehouse that does not answer leaves the gauges empty rather than failing the scrape.
  const read = async () =>
    (
      await client.query({
        query: `SELECT source, toFloat64(toUnixTimestamp64Milli(max(finished_at)) / 1000) AS last_success
                FROM sync_runs WHERE status = 'succeeded' AND finished_at IS NOT NULL GROUP BY source`,
        format: 'JSONEachRow',
      })
    )
      .json<{ source: string; last_success: number }>()
      .catch(() => []);
  new Gauge({
    name: 'runsync_source_last_success_timestamp_seconds',
    help: 'When the last successful sync of the source finished (Unix seconds)',
    labelNames: ['source'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await read()) this.set({ source: r.source }, r.last_success);
    },
  });
  new Gauge({
    name: 'runsync_source_freshness_seconds',
    help: 'Seconds since the last successful sync of the source finished',
    labelNames: ['source'],
    registers: [registry],
    async collect() {
      this.reset();
      const now = Date.now() / 1000;
      for (const r of await read()) this.set({ source: r.source }, Math.max(0, now - r.last_success));
    },
  });
}

/** The exposition text and its content type. */
export async function scrape(): Promise<{ contentType: string; body: string }> {
  collectProcessMetrics();
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/**
 * A small HTTP server for workers: `/metrics`, and `/healthz` (200 while the process serves).
 * Listens on all interfaces by default: Prometheus scrapes it from another container.
 */
export async function startMetricsServer(port: number, host = '0.0.0.0'): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  collectProcessMetrics();
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      try {
        const { contentType, body } = await scrape();
        res.writeHead(200, { 'content-type': contentType });
        res.end(body);
      } catch (e) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`metrics failed: ${(e as Error).message}\n`);
      }
      return;
    }
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
