import { resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { Connection, Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { RunsyncConfig } from '../config/schema.js';
import { openWarehouse, type Warehouse } from '../warehouse/client.js';
import { migrate } from '../warehouse/migrate.js';
import { startDevServer } from './temporal-server.js';
import { logger } from '../core/log.js';
import { registerWarehouseMetrics, startMetricsServer } from '../core/metrics.js';
import { temporalConnectOptions } from './temporal-connection.js';
import { checkStopping, onStop, stopping } from './lifecycle.js';

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
  // Each thing started is registered with the lifecycle at once, so a signal at any
  // moment stops what exists; close() stops the same things in the same order.
  const cleanups: { name: string; fn: () => Promise<void>; unregister: () => void }[] = [];
  const push = (name: string, stop: () => Promise<void>) => {
    // Once: a signal's shutdown and close() may both reach it.
    let done: Promise<void> | null = null;
    const fn = () => (done ??= stop());
    cleanups.push({ name, fn, unregister: onStop(name, fn) });
  };
  const close = async () => {
    // Unregistered only once stopped: a signal's shutdown running meanwhile awaits the
    // same step, in the same order, instead of skipping ahead to the next one.
    for (const c of cleanups.reverse()) {
      try {
        await c.fn();
      } catch (e) {
        log.warn(`stopping ${c.name} failed`, { error: (e as Error).message });
      }
      c.unregister();
    }
    cleanups.length = 0;
  };
  // Loaded only where a worker runs (the worker SDK, with its workflow bundler, is large), and
  // from the start, while the engines below come up.
  const workerModules = opts.worker !== false ? Promise.all([import('@temporalio/worker'), import('../worker.js')]) : null;
  workerModules?.catch(() => undefined);
  // Settled before the warehouse closes (closing chDB under a running statement can hang).
  let migrated: Promise<void> | null = null;
  try {
    // The warehouse (open, migrate) and the embedded Temporal dev server start at the same
    // time: neither needs the other, and each takes seconds. Each registers its stop as soon
    // as it is up; when one fails, close() stops the other once it is up too. The worker is
    // created while the migrations run (it needs the warehouse's client, not its tables), and
    // runs only once they are done.
    const address0 = env.TEMPORAL_ADDRESS ?? config.temporal.address;
    const warehouseOpen = (async () => {
      const warehouse = await openWarehouse({ dataDir, env });
      // Closed only once the migrations stopped (at the next statement, on a signal).
      push('warehouse', async () => {
        await migrated?.catch(() => undefined);
        await warehouse.close();
      });
      return warehouse;
    })();
    migrated = (async () => {
      const warehouse = await warehouseOpen;
      checkStopping();
      // Not abandoned on a signal: it stops between statements and releases its lock, and the
      // warehouse is closed only after (closing chDB under a running statement can hang).
      const applied = await migrate(warehouse.client, { cluster: config.clickhouse.cluster, exclusive: warehouse.kind === 'chdb', signal: stopping });
      if (applied.length) log.info('migrations applied', { migrations: applied });
    })();
    migrated.catch(() => undefined);
    const devUp = (async () => {
      if (address0) return null;
      const dev = await startDevServer({ dataDir, port: opts.temporalPort ?? 7233, ui: opts.ui, namespace: config.temporal.namespace, log: (m) => log.info(m) });
      push('embedded Temporal dev server', () => dev.stop());
      log.info('embedded Temporal dev server started', { address: dev.address, ui: dev.uiUrl ?? 'off' });
      return dev;
    })();
    const [warehouseResult, devResult] = await Promise.allSettled([warehouseOpen, devUp]);
    if (warehouseResult.status === 'rejected') throw warehouseResult.reason;
    if (devResult.status === 'rejected') throw devResult.reason;
    const warehouse = warehouseResult.value;
    const dev = devResult.value;
    const address = dev ? dev.address : address0!;
    checkStopping();
    const namespace = env.TEMPORAL_NAMESPACE ?? config.temporal.namespace;
    const taskQueue = config.temporal.taskQueue;
    const where = dev ? 'the embedded dev server' : env.TEMPORAL_ADDRESS ? 'TEMPORAL_ADDRESS' : 'temporal.address in the config';
    const connection = await Connection.connect(temporalConnectOptions(address, env, namespace)).catch((e: Error) => {
      throw new Error(`cannot reach Temporal at ${address} (${where}): ${e.message}`);
    });
    push('Temporal client connection', () => connection.close());
    const client = new Client({ connection, namespace });

    // Nothing below reads the tables before the migrations are done.
    if (env.RUNSYNC_METRICS_PORT) {
      await migrated;
      // Prometheus scrapes workers here (/metrics, and /healthz for the container's HEALTHCHECK).
      registerWarehouseMetrics(warehouse.client);
      const m = await startMetricsServer(Number(env.RUNSYNC_METRICS_PORT));
      push('metrics server', () => m.close());
      log.info('metrics served', { url: `${m.url}/metrics` });
    }
    let worker: Worker | null = null;
    if (opts.worker !== false) {
      const [{ NativeConnection }, { createWorker, installTemporalRuntime }] = await workerModules!;
      installTemporalRuntime();
      checkStopping();
      const native = await NativeConnection.connect(temporalConnectOptions(address, env, namespace));
      push('worker connection', () => native.close());
      checkStopping();
      const creating = createWorker({ connection: native, config: { ...config, temporal: { ...config.temporal, namespace } }, client: warehouse.client, env, taskQueue });
      let running: Promise<void> | null = null;
      // Registered before the worker exists: a signal while it is being created waits for it
      // and shuts it down, instead of closing its connection under it and exiting.
      push('worker', async () => {
        const w = await creating.catch(() => null);
        if (!w) return;
        await migrated?.catch(() => undefined);
        running ??= w.run();
        if (w.getState() === 'RUNNING') w.shutdown();
        await running.catch(() => undefined);
      });
      worker = await creating;
      await migrated;
      checkStopping();
      running ??= worker.run();
    }
    await migrated;
    return { config, dataDir, warehouse, temporal: { address, namespace, taskQueue, embedded: !!dev, uiUrl: dev?.uiUrl ?? null }, client, worker, close };
  } catch (e) {
    await close();
    throw e;
  }
}
