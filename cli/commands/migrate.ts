import type { Command } from '../args.js';
import { cliContext, out } from '../context.js';
import { openWarehouse } from '../../warehouse/client.js';
import { migrate } from '../../warehouse/migrate.js';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply pending warehouse migrations (schema/migrations) and exit',
  usage: 'runsync migrate [--config PATH] [--data-dir DIR]',
  async run({ values }) {
    const ctx = cliContext(values);
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
