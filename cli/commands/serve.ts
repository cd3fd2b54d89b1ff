import type { Command } from '../args.js';
import { cliContext, out } from '../context.js';
import type { Warehouse } from '../../warehouse/client.js';
import type { Route } from '../../server/app.js';
import type { Services } from '../../runtime/services.js';
import type { RunsyncConfig } from '../../config/schema.js';

/** `/metrics` on the service's own port; public like `/ping` (counts and source names only). */
export const metricsRoute: Route = {
  method: 'GET',
  path: '/metrics',
  public: true,
  handle: async ({ res }) => {
    const { scrape } = await import('../../core/metrics.js');
    const { contentType, body } = await scrape();
    res.writeHead(200, { 'content-type': contentType });
    res.end(body);
  },
};

export interface ServeOptions {
  config: RunsyncConfig;
  dataDir: string;
  host: string;
  port: number;
  token: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * The HTTP face of a deployment without a worker in the process: dashboard, DX run inbox,
 * read-only SQL (forwarded to ClickHouse as the `bi` user when CLICKHOUSE_BI_USER is set), /metrics.
 */
export async function startServe(o: ServeOptions): Promise<{ url: string; warehouse: Warehouse; close(): Promise<void> }> {
  const { openWarehouse } = await import('../../warehouse/client.js');
  const { migrate } = await import('../../warehouse/migrate.js');
  const { startHttpServer } = await import('../../server/app.js');
  const { serviceRoutes } = await import('../../server/routes.js');
  const { closeSqlEngines } = await import('../../server/sql-endpoint.js');
  const { collectProcessMetrics, registerWarehouseMetrics } = await import('../../core/metrics.js');
  const warehouse = await openWarehouse({ dataDir: o.dataDir, env: o.env });
  try {
    // Workers migrate too; the lock makes the first one to start do it.
    await migrate(warehouse.client, { cluster: o.config.clickhouse.cluster });
    registerWarehouseMetrics(warehouse.client);
    collectProcessMetrics();
    // The routes read config, dataDir and warehouse only; there is no Temporal client here.
    const services = { config: o.config, dataDir: o.dataDir, warehouse } as unknown as Services;
    const http = await startHttpServer(services, [metricsRoute, ...serviceRoutes()], { host: o.host, port: o.port, token: o.token });
    return {
      url: http.url,
      warehouse,
      async close() {
        await http.close();
        await closeSqlEngines();
        await warehouse.close();
      },
    };
  } catch (e) {
    await warehouse.close();
    throw e;
  }
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'production: serve the dashboard, the DX run inbox, read-only SQL and /metrics (no worker), behind a bearer token',
  help: 'The bearer token is read from the variable named by server.tokenEnv, else RUNSYNC_TOKEN.',
  options: [
    { flags: '--host <host>', description: 'address to listen on (default server.host)' },
    { flags: '--port <port>', description: 'port to listen on (default server.port)' },
  ],
  async run({ values }) {
    const { startMetricsServer } = await import('../../core/metrics.js');
    const ctx = cliContext(values);
    const host = values.host ?? ctx.config.server.host;
    const port = values.port !== undefined ? Number(values.port) : ctx.config.server.port;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      out(`--port must be a port number, not ${JSON.stringify(values.port)}`);
      return 2;
    }
    const tokenEnv = ctx.config.server.tokenEnv ?? 'RUNSYNC_TOKEN';
    const token = process.env[tokenEnv];
    if (!token) {
      out(`runsync serve needs a bearer token: set ${tokenEnv}${ctx.config.server.tokenEnv ? ' (server.tokenEnv)' : ' (or name another variable in server.tokenEnv)'}`);
      return 2;
    }
    const svc = await startServe({ config: ctx.config, dataDir: ctx.dataDir, host, port, token });
    const metricsPort = process.env.RUNSYNC_METRICS_PORT;
    const extra = metricsPort ? await startMetricsServer(Number(metricsPort)) : null;
    out(`serving ${svc.url} (dashboard, run inbox, SQL, /metrics); warehouse ${svc.warehouse.describe}`);
    try {
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      return 0;
    } finally {
      await extra?.close();
      await svc.close();
    }
  },
};
