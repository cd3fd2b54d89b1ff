import type { Command } from '../args.js';
import { cliContext, out } from '../context.js';
import { openWarehouse } from '../../warehouse/client.js';
import { migrate } from '../../warehouse/migrate.js';
import { runUserQuery } from '../../warehouse/user-query.js';
import { readServiceFile } from '../../server/service-file.js';

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
    // A running service holds the embedded chDB: ask its read-only SQL endpoint instead.
    const service = process.env.CLICKHOUSE_URL ? null : readServiceFile(ctx.dataDir);
    if (service) {
      const token = service.tokenEnv ? process.env[service.tokenEnv] : undefined;
      const res = await fetch(`${service.url}/?default_format=PrettyCompactMonoBlock`, { method: 'POST', body: query, headers: token ? { authorization: `Bearer ${token}` } : {} });
      const text = await res.text();
      if (!res.ok) {
        process.stderr.write(text.endsWith('\n') ? text : text + '\n');
        return 1;
      }
      process.stdout.write(text);
      return 0;
    }
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
