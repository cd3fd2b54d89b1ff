import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { ClickHouseLog } from '../core/log.js';

export interface WarehouseOptions {
  /** runsync's data directory; chDB keeps its files in `<dataDir>/clickhouse`. */
  dataDir: string;
  env?: NodeJS.ProcessEnv;
}

export interface Warehouse {
  client: ClickHouseClient;
  kind: 'chdb' | 'http';
  /** Where it points, without credentials (for logs and `status`). */
  describe: string;
  close(): Promise<void>;
}

/**
 * The one place a ClickHouse client is made. Embedded chDB by default; a real server
 * (or ClickHouse Cloud) over HTTP when CLICKHOUSE_URL is set. Everything else in
 * runsync talks to the returned `@clickhouse/client` instance and never knows which.
 */
export async function openWarehouse(opts: WarehouseOptions): Promise<Warehouse> {
  const env = opts.env ?? process.env;
  if (env.CLICKHOUSE_URL) {
    const url = new URL(env.CLICKHOUSE_URL);
    const client = createClient({
      url: `${url.protocol}//${url.host}`,
      username: env.CLICKHOUSE_USER ?? (decodeURIComponent(url.username) || 'default'),
      password: env.CLICKHOUSE_PASSWORD ?? decodeURIComponent(url.password),
      database: env.CLICKHOUSE_DATABASE ?? (url.pathname.replace(/^\//, '') || 'default'),
      request_timeout: 120_000,
      application: 'runsync',
      log: { LoggerClass: ClickHouseLog },
    });
    return { client, kind: 'http', describe: `${url.protocol}//${url.host}`, close: () => client.close() };
  }
  const path = resolve(join(opts.dataDir, 'clickhouse'));
  mkdirSync(path, { recursive: true });
  // Imported lazily: the 500 MB engine is only loaded when the embedded warehouse is used.
  const { createChdbConnection } = await import('chdb/connection');
  let client: ClickHouseClient;
  try {
    client = createClient({ connection: createChdbConnection({ path }), log: { LoggerClass: ClickHouseLog } } as Parameters<typeof createClient>[0]);
    await client.query({ query: 'SELECT 1', format: 'JSONEachRow' }).then((r) => r.json());
  } catch (e) {
    const msg = (e as Error).message;
    if (/lock|already running/i.test(msg)) {
      throw new Error(
        `the embedded ClickHouse in ${path} is held by another runsync process (chDB allows one process per data directory): ` +
          `stop it, use another --data-dir, or query the running service's SQL endpoint`,
      );
    }
    throw e;
  }
  return { client, kind: 'chdb', describe: `chdb:${path}`, close: () => client.close() };
}
