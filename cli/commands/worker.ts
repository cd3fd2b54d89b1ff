import type { Command } from '../args.js';
import { cliContext, out } from '../context.js';
import { UsageError } from '../errors.js';
import { setSignalExitCode } from '../../runtime/lifecycle.js';
import { claimDataDir } from '../../runtime/instance.js';
import { logger } from '../../core/log.js';

export const workerCommand: Command = {
  name: 'worker',
  summary: 'production: run a worker against the configured Temporal (TEMPORAL_ADDRESS) and ClickHouse (CLICKHOUSE_URL)',
  options: [
    { flags: '--schedules', description: "create or update one schedule per configured source (and the report's and the alerts')" },
    { flags: '--prune-schedules', description: 'with --schedules: delete schedules of sources not in this config' },
  ],
  async run({ values }) {
    const { startServices } = await import('../../runtime/services.js');
    const { applyReportSchedule, applySchedules } = await import('../../runtime/schedules.js');
    const { applyAlertsSchedule } = await import('../../runtime/alerts-schedule.js');
    const { missingTokens } = await import('../../runtime/tokens.js');
    const ctx = cliContext(values);
    if (!process.env.TEMPORAL_ADDRESS && !ctx.config.temporal.address) {
      throw new UsageError('runsync worker joins an existing Temporal cluster: set TEMPORAL_ADDRESS (or temporal.address in the config); for everything embedded use `runsync start`');
    }
    if (!process.env.CLICKHOUSE_URL) await claimDataDir(ctx.dataDir, 'worker', (m) => logger().warn(m));
    const missing = missingTokens(ctx.config, process.env);
    if (missing.length) {
      out(`API tokens are not set for: ${missing.join(', ')}; set them (the deployment's runsync.env) or disable those sources`);
      return 2;
    }
    const services = await startServices({ config: ctx.config, dataDir: ctx.dataDir });
    try {
      if (values.schedules) {
        // Several workers may run with different configs: removing other sources' schedules is opt-in.
        const ids = await applySchedules(services.client, ctx.config, services.temporal.taskQueue, { prune: !!values.pruneSchedules });
        const report = await applyReportSchedule(services.client, ctx.config, services.temporal.taskQueue);
        const alerts = await applyAlertsSchedule(services.client, ctx.config, services.temporal.taskQueue);
        out(`schedules: ${[...ids, ...(report ? [report] : []), ...(alerts ? [alerts] : [])].join(', ') || 'none'}`);
      }
      out(`worker on task queue ${services.temporal.taskQueue} at ${services.temporal.address}; warehouse ${services.warehouse.describe}`);
      // A worker asked to stop drains (activities in flight finish or are handed back) and exits 0.
      setSignalExitCode(() => 0);
      await new Promise<void>(() => undefined);
      return 0;
    } finally {
      await services.close();
    }
  },
};
