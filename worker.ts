import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, Runtime, type WorkerOptions } from '@temporalio/worker';
import { temporalLogger } from './core/log.js';
import type { ClickHouseClient } from '@clickhouse/client';
import type { RunsyncConfig } from './config/schema.js';
import { createActivities } from './activities/index.js';

const require = createRequire(import.meta.url);
let runtimeInstalled = false;

/**
 * Temporal's own logs go through runsync's logger, at WARN and above (below that with
 * --verbose); must run before the first NativeConnection.
 */
export function installTemporalRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    // RUNSYNC_TEMPORAL_METRICS_ADDRESS (e.g. 0.0.0.0:9465): the SDK's own Prometheus endpoint (workflow/activity task metrics).
    const metricsAddress = process.env.RUNSYNC_TEMPORAL_METRICS_ADDRESS;
    // No shutdownSignals: runsync's lifecycle decides what a signal does (cancel syncs first, then drain).
    Runtime.install({
      logger: temporalLogger((process.env.RUNSYNC_TEMPORAL_LOG as 'WARN') ?? 'WARN'),
      shutdownSignals: [],
      ...(metricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress } } } } : {}),
    });
  } catch {
    // Already installed by the embedding process: keep its settings.
  }
}

export interface WorkerDeps {
  connection: NativeConnection;
  config: RunsyncConfig;
  client: ClickHouseClient;
  env?: NodeJS.ProcessEnv;
  taskQueue?: string;
  /** How much work one paging activity call does before handing back to the workflow. */
  budget?: { maxPages: number; maxMs: number };
  workerOptions?: Partial<WorkerOptions>;
}

/**
 * Where the workflow code comes from: RUNSYNC_WORKFLOW_BUNDLE, else the bundle `npm run build`
 * made next to this module when running compiled (dist/workflow-bundle.js, built from the
 * same sources in the same build), else the sources, bundled now (webpack, about a second).
 */
function workflowCode(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const fromEnv = process.env.RUNSYNC_WORKFLOW_BUNDLE;
  if (fromEnv) return { workflowBundle: { codePath: fromEnv } };
  const compiled = import.meta.url.endsWith('.js');
  const built = fileURLToPath(new URL('./workflow-bundle.js', import.meta.url));
  if (compiled && existsSync(built)) return { workflowBundle: { codePath: built } };
  return { workflowsPath: require.resolve(compiled ? './workflows/index.js' : './workflows/index.ts') };
}

/**
 * The worker: registers runsync's workflows (bundled from workflows/index.ts) and the
 * activities bound to this process's warehouse client and configuration.
 */
export async function createWorker(deps: WorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.config.temporal.namespace,
    taskQueue: deps.taskQueue ?? deps.config.temporal.taskQueue,
    ...workflowCode(),
    activities: createActivities({ client: deps.client, config: deps.config, env: deps.env, budget: deps.budget }),
    // Heartbeats reach the server every few seconds, so progress read from them is current.
    maxHeartbeatThrottleInterval: '3 seconds',
    // On shutdown, activities in flight get a moment to finish their page before they are cancelled.
    shutdownGraceTime: '3 seconds',
    ...deps.workerOptions,
  });
}
