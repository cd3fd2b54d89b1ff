import type { Command } from '../args.js';
import { cliContext, out } from '../context.js';
import { claimDataDir } from '../../runtime/instance.js';
import { logger } from '../../core/log.js';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply pending warehouse migrations (schema/migrations) and exit',
  async run({ values }) {
    const { openWarehouse } = await import('../../warehouse/client.js');
    const { migrate } = await import('../../warehouse/migrate.js');
    const ctx = cliContext(values);
    if (!process.env.CLICKHOUSE_URL) await claimDataDir(ctx.dataDir, 'migrate', (m) => logger().warn(m));
    const wh = await openWarehouse({ dataDir: ctx.dataDir });
    try {
      const applied = await migrate(wh.client, { cluster: ctx.config.clickhouse.cluster });
      out(applied.length ? `applied ${applied.length} migration(s) to ${wh.describe}:\n${applied.map((a) => '  ' + a).join('\n')}` : `${wh.describe} is up to date`);
      return 0;
    } finally {
      await wh.close();
    }
  },
};
