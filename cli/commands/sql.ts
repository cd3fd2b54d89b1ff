import type { Command } from '../args.js';
import { cliContext, out } from '../context.js';
import { openWarehouse } from '../../warehouse/client.js';
import { migrate } from '../../warehouse/migrate.js';
import { runUserQuery } from '../../warehouse/user-query.js';

export const sqlCommand: Command = {
  name: 'sql',
  summary: 'run a read-only SQL query against the warehouse and print the rows',
  usage: 'runsync sql "SELECT … [FORMAT TSV]" [--config PATH] [--data-dir DIR]',
  async run({ values, positionals }) {
    const query = positionals.join(' ').trim();
    if (!query) {
      out('usage: runsync sql "SELECT status, count() FROM runs GROUP BY status"');
      return 2;
    }
    const ctx = cliContext(values);
    const wh = await openWarehouse({ dataDir: ctx.dataDir });
    try {
      await migrate(wh.client);
      process.stdout.write(await runUserQuery(wh.client, query));
      return 0;
    } finally {
      await wh.close();
    }
  },
};
