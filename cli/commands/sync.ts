import type { Command } from '../args.js';
import { JSON_OPTION } from '../args.js';
import { cliContext, out, outJson } from '../context.js';
import { UsageError } from '../errors.js';
import { claimDataDir } from '../../runtime/instance.js';
import { checkStopping } from '../../runtime/lifecycle.js';
import { logger } from '../../core/log.js';

export const syncCommand: Command = {
  name: 'sync',
  summary: 'run one sync of each source through Temporal, print counts, exit (non-zero if a source failed)',
  options: [
    { flags: '--once', description: 'required: one sync, then exit (continuous syncing is `runsync start`)' },
    { flags: '--full', description: 'list the whole backfill window, not only since the watermark' },
    { flags: '--source <name>', description: 'only this source (repeatable)', multiple: true },
    JSON_OPTION,
  ],
  async run({ values }) {
    const { startServices } = await import('../../runtime/services.js');
    const { formatOutcomes, syncOnce } = await import('../../runtime/run-sync.js');
    if (!values.once) throw new UsageError('runsync sync runs one sync and exits: pass --once (for continuous syncing use `runsync start`)');
    const ctx = cliContext(values);
    if (ctx.config.sources.length === 0) throw new UsageError('no sources configured: add them to runsync.config.json (see README) or try `runsync start --demo --once`');
    const unknown = ((values.source as string[] | undefined) ?? []).filter((n) => !ctx.config.sources.some((s) => s.name === n));
    if (unknown.length) throw new UsageError(`unknown source(s): ${unknown.join(', ')} (configured: ${ctx.config.sources.map((s) => s.name).join(', ')})`);
    const embedded = !process.env.CLICKHOUSE_URL || !(process.env.TEMPORAL_ADDRESS ?? ctx.config.temporal.address);
    if (embedded) await claimDataDir(ctx.dataDir, 'sync', (m) => logger().warn(m));
    checkStopping();
    const services = await startServices({ config: ctx.config, dataDir: ctx.dataDir });
    try {
      const outcomes = await syncOnce(services.client, ctx.config, services.temporal.taskQueue, values.source, { full: !!values.full });
      checkStopping();
      if (values.json) outJson(outcomes);
      else out(`sync finished:\n${formatOutcomes(outcomes)}`);
      return outcomes.every((o) => o.ok) ? 0 : 1;
    } finally {
      await services.close();
    }
  },
};
