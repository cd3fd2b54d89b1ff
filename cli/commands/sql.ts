import type { Command } from '../args.js';
import { cliContext } from '../context.js';
import { UsageError } from '../errors.js';

const HUMAN_FORMAT = 'PrettyCompactMonoBlock';

export const sqlCommand: Command = {
  name: 'sql',
  summary: 'run a read-only SQL query against the warehouse and print the rows',
  args: '[query...]',
  help: 'example: runsync sql "SELECT status, count() FROM runs GROUP BY status FORMAT TSV"',
  async run({ values, positionals }) {
    const { openWarehouse } = await import('../../warehouse/client.js');
    const { migrate } = await import('../../warehouse/migrate.js');
    const { readServiceFile } = await import('../../server/service-file.js');
    const { openReader } = await import('../../warehouse/reader.js');
    const { runUserQuery } = await import('../../warehouse/user-query.js');
    const { openReadOnlyEngine } = await import('../../server/readonly-engine.js');
    const { guardQuery } = await import('../../server/sql-endpoint.js');
    const query = positionals.join(' ').trim();
    if (!query) throw new UsageError('give a query, e.g. runsync sql "SELECT status, count() FROM runs GROUP BY status"');
    const ctx = cliContext(values);
    // Through the running service's read-only endpoint, or a real server (CLICKHOUSE_URL,
    // where the user's own grants apply).
    if (process.env.CLICKHOUSE_URL || readServiceFile(ctx.dataDir)) {
      const reader = await openReader(ctx.dataDir);
      try {
        process.stdout.write(await runUserQuery(reader.client, query, HUMAN_FORMAT));
        return 0;
      } finally {
        await reader.close();
      }
    }
    // Embedded and no service: the same read-only guard as the endpoint, on a read-only connection.
    const wh = await openWarehouse({ dataDir: ctx.dataDir });
    try {
      await migrate(wh.client);
      const engine = await openReadOnlyEngine(wh);
      try {
        await guardQuery(engine, query, {});
        const res = await engine.execute({ sql: query, format: HUMAN_FORMAT, params: {} });
        process.stdout.write(res.body);
        return 0;
      } finally {
        await engine.close();
      }
    } finally {
      await wh.close();
    }
  },
};
