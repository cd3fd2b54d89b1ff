import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { openWarehouse, type Warehouse } from '../../warehouse/client.js';
import { migrate } from '../../warehouse/migrate.js';
import { parseConfig } from '../../config/load.js';
import type { RunsyncConfig } from '../../config/schema.js';
import { createWorker, installTemporalRuntime } from '../../worker.js';
import { select } from '../../warehouse/queries.js';
import { syncSource, type SyncResult } from '../../workflows/sync-source.js';

export interface Harness {
  config: RunsyncConfig;
  /** The environment the worker's activities read tokens from; tests may change it between syncs. */
  env: Record<string, string>;
  warehouse: Warehouse;
  client: Client;
  taskQueue: string;
  /** Runs one sync of `source` through Temporal and returns its result. */
  sync(source: string, input?: { historyLimit?: number; workflowId?: string; full?: boolean }): Promise<SyncResult>;
  /** Runs one sync expected to fail; returns the root failure message. */
  syncFailure(source: string): Promise<string>;
  query<T = Record<string, unknown>>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  close(): Promise<void>;
}

/**
 * A real worker on the shared Temporal dev server, bound to a fresh chDB directory.
 * Only provider APIs are simulated; Temporal and ClickHouse are the real engines.
 */
export async function startHarness(opts: {
  sources: unknown[];
  env: Record<string, string>;
  budget?: { maxPages: number; maxMs: number };
  /** Opens the warehouse with these variables (CLICKHOUSE_URL: a server, or the test stand-in for one). */
  warehouseEnv?: NodeJS.ProcessEnv;
}): Promise<Harness> {
  const address = inject('temporalAddress');
  const dataDir = mkdtempSync(join(tmpdir(), 'runsync-test-'));
  const taskQueue = `test-${randomUUID()}`;
  const config = parseConfig({ dataDir, sources: opts.sources, temporal: { taskQueue } }, 'test config');
  const warehouse = await openWarehouse({ dataDir, env: opts.warehouseEnv ?? process.env });
  await migrate(warehouse.client);
  installTemporalRuntime();
  const native = await NativeConnection.connect({ address });
  const env = opts.env;
  const worker: Worker = await createWorker({ connection: native, config, client: warehouse.client, env, taskQueue, budget: opts.budget });
  const running = worker.run();
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });

  const execute = (source: string, input: { historyLimit?: number; workflowId?: string; full?: boolean } = {}) =>
    client.workflow.execute(syncSource, {
      taskQueue,
      workflowId: input.workflowId ?? `test-sync-${source}-${randomUUID()}`,
      args: [{ source, historyLimit: input.historyLimit, full: input.full }],
    });

  return {
    config,
    env,
    warehouse,
    client,
    taskQueue,
    sync: (source, input) => execute(source, input),
    async syncFailure(source) {
      try {
        await execute(source);
      } catch (e) {
        if (!(e instanceof WorkflowFailedError)) throw e;
        let err: any = e;
        while (err.cause) err = err.cause;
        return String(err.message);
      }
      throw new Error(`sync of ${source} was expected to fail but succeeded`);
    },
    query: (sql, params = {}) => select(warehouse.client, sql, params),
    async close() {
      worker.shutdown();
      await running.catch(() => undefined);
      await native.close();
      await connection.close();
      await warehouse.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A source pointed at a simulator, with the windows tests use (settle off, so re-polls
 * are only the open runs), and the token variable that goes with it.
 */
export function simSource(
  sim: { provider: string; url: string; token: string },
  s: { name: string; options?: Record<string, unknown>; [k: string]: unknown },
): { source: Record<string, unknown>; env: Record<string, string> } {
  const tokenEnv = (s.tokenEnv as string | undefined) ?? `${sim.provider.toUpperCase()}_TOKEN`;
  return {
    source: { provider: sim.provider, baseUrl: sim.url, tokenEnv, lookback: '30m', settle: '0s', backfill: '30d', rateLimit: 500, ...s },
    env: { [tokenEnv]: sim.token },
  };
}

/** A harness with one source on one simulator. */
export async function startSimHarness(sim: { provider: string; url: string; token: string }, s: Parameters<typeof simSource>[1]): Promise<Harness> {
  const { source, env } = simSource(sim, s);
  return startHarness({ sources: [source], env });
}
