import type { Command } from '../args.js';
import { cliContext, out } from '../context.js';
import { startServices } from '../../runtime/services.js';
import { applyReportSchedule, applySchedules } from '../../runtime/schedules.js';
import { missingTokens } from '../../runtime/tokens.js';

export const workerCommand: Command = {
  name: 'worker',
  summary: 'production: run a worker against the configured Temporal (TEMPORAL_ADDRESS) and ClickHouse (CLICKHOUSE_URL)',
  usage: 'runsync worker [--schedules [--prune-schedules]] [--config PATH]',
  options: { schedules: { type: 'boolean' }, 'prune-schedules': { type: 'boolean' } },
  async run({ values }) {
    const ctx = cliContext(values);
    if (!process.env.TEMPORAL_ADDRESS && !ctx.config.temporal.address) {
      out('runsync worker joins an existing Temporal cluster: set TEMPORAL_ADDRESS (or temporal.address in the config). For everything embedded use `runsync start`.');
      return 2;
    }
    const missing = missingTokens(ctx.config, process.env);
    if (missing.length) {
      out(`API tokens are not set for: ${missing.join(', ')}; set them (the deployment's runsync.env) or disable those sources`);
      return 2;
    }
    const services = await startServices({ config: ctx.config, dataDir: ctx.dataDir });
    try {
      if (values.schedules) {
        // Several workers may run with different configs: removing other sources' schedules is opt-in.
        const ids = await applySchedules(services.client, ctx.config, services.temporal.taskQueue, { prune: !!values['prune-schedules'] });
        const report = await applyReportSchedule(services.client, ctx.config, services.temporal.taskQueue);
        out(`schedules: ${[...ids, ...(report ? [report] : [])].join(', ') || 'none'}`);
      }
      out(`worker on task queue ${services.temporal.taskQueue} at ${services.temporal.address}; warehouse ${services.warehouse.describe}`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      return 0;
    } finally {
      await services.close();
    }
  },
};
