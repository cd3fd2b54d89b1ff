import { resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { Connection, Client } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { RunsyncConfig } from '../config/schema.js';
import { openWarehouse, type Warehouse } from '../warehouse/client.js';
import { migrate } from '../warehouse/migrate.js';
import { startDevServer, type DevServer } from './temporal-server.js';
import { createWorker, installTemporalRuntime } from '../worker.js';
import { logger } from '../core/log.js';
import { registerWarehouseMetrics, startMetricsServer } from '../core/metrics.js';
import { temporalConnectOptions } from './temporal-connection.js';

const log = logger({ component: 'services' });

export interface Services {
  config: RunsyncConfig;
  dataDir: string;
  warehouse: Warehouse;
  temporal: { address: string; namespace: string; taskQueue: string; embedded: boolean; uiUrl: string | null };
  client: Client;
  worker: Worker | null;
  close(): Promise<void>;
}

export interface ServiceOptions {
  config: RunsyncConfig;
  dataDir?: string;
  worker?: boolean;
  ui?: boolean;
  /** Port for an embedded Temporal server (0 = any free port). */
  temporalPort?: number;
  env?: NodeJS.ProcessEnv;
}


/**
 * Brings up what runsync needs: the warehouse (migrated), Temporal (the configured
 * cluster, or an embedded dev server in the data directory), and optionally a worker.
 */
export async function startServices(opts: ServiceOptions): Promise<Services> {
  const env = opts.env ?? process.env;
  const config = opts.config;
  const dataDir = resolve(opts.dataDir ?? config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        log.warn('shutdown step failed', { error: (e as Error).message });
      }
    }
    cleanups.length = 0;
  };
  try {
    const warehouse = await openWarehouse({ dataDir, env });
    cleanups.push(() => warehouse.close());
    const applied = await migrate(warehouse.client, { cluster: config.clickhouse.cluster });
    if (applied.length) log.info('migrations applied', { migrations: applied });

    let address = env.TEMPORAL_ADDRESS ?? config.temporal.address;
    let dev: DevServer | null = null;
    if (!address) {
      dev = await startDevServer({ dataDir, port: opts.temporalPort ?? 7233, ui: opts.ui, namespace: config.temporal.namespace, log: (m) => log.info(m) });
      cleanups.push(() => dev!.stop());
      address = dev.address;
      log.info('embedded Temporal dev server started', { address, ui: dev.uiUrl ?? 'off' });
    }
    const namespace = env.TEMPORAL_NAMESPACE ?? config.temporal.namespace;
    const taskQueue = config.temporal.taskQueue;
    const where = dev ? 'the embedded dev server' : env.TEMPORAL_ADDRESS ? 'TEMPORAL_ADDRESS' : 'temporal.address in the config';
    const connection = await Connection.connect(temporalConnectOptions(address, env, namespace)).catch((e: Error) => {
      throw new Error(`cannot reach Temporal at ${address} (${where}): ${e.message}`);
    });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace });

    if (env.RUNSYNC_METRICS_PORT) {
      // Prometheus scrapes workers here (/metrics, and /healthz for the container's HEALTHCHECK).
      registerWarehouseMetrics(warehouse.client);
      const m = await startMetricsServer(Number(env.RUNSYNC_METRICS_PORT));
      cleanups.push(() => m.close());
      log.info('metrics served', { url: `${m.url}/metrics` });
    }
    let worker: Worker | null = null;
    if (opts.worker !== false) {
      installTemporalRuntime();
      const native = await NativeConnection.connect(temporalConnectOptions(address, env, namespace));
      cleanups.push(() => native.close());
      worker = await createWorker({ connection: native, config: { ...config, temporal: { ...config.temporal, namespace } }, client: warehouse.client, env, taskQueue });
      const running = worker.run();
      const w = worker;
      cleanups.push(async () => {
        if (w.getState() === 'RUNNING') w.shutdown();
        await running.catch(() => undefined);
      });
    }
    return { config, dataDir, warehouse, temporal: { address, namespace, taskQueue, embedded: !!dev, uiUrl: dev?.uiUrl ?? null }, client, worker, close };
  } catch (e) {
    await close();
    throw e;
  }
}
