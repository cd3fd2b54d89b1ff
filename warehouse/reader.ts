import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { ClickHouseLog } from '../core/log.js';
import { openWarehouse } from './client.js';
import { migrate } from './migrate.js';
import { readServiceFile } from '../server/service-file.js';

export interface Reader {
  client: ClickHouseClient;
  /** Where the reads go, for messages. */
  describe: string;
  close(): Promise<void>;
}

/**
 * A client for commands that only read (status, report, sql). While `runsync start`
 * runs on this data directory it owns the embedded chDB (one process per directory),
 * so reads go to its read-only ClickHouse-compatible endpoint; otherwise the warehouse
 * is opened directly (and migrated, so a fresh directory answers too).
 */
export async function openReader(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<Reader> {
  const service = env.CLICKHOUSE_URL ? null : readServiceFile(dataDir);
  if (service) {
    const token = service.tokenEnv ? env[service.tokenEnv] : undefined;
    if (service.tokenEnv && !token) throw new Error(`the running service at ${service.url} wants a bearer token: set ${service.tokenEnv}`);
    const client = createClient({ url: service.url, ...(token ? { access_token: token } : {}), application: 'runsync', log: { LoggerClass: ClickHouseLog } });
    return { client, describe: `the running service at ${service.url}`, close: () => client.close() };
  }
  const wh = await openWarehouse({ dataDir, env });
  // A real server is migrated by `migrate`, `start` and `worker`; readers may lack DDL grants.
  if (wh.kind === 'chdb') {
    try {
      await migrate(wh.client, { exclusive: true });
    } catch (e) {
      await wh.close();
      throw e;
    }
  }
  return { client: wh.client, describe: wh.describe, close: () => wh.close() };
}
