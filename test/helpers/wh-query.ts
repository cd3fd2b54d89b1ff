/**
 * Reads a runsync data directory from its own short-lived process (chDB allows one process
 * per directory; a test that restarts runsync must not hold it).
 * stdin: JSON array of `{ sql, params }`; stdout: JSON array of row arrays.
 * Usage: node --import tsx test/helpers/wh-query.ts DATA_DIR
 */
import { openWarehouse } from '../../warehouse/client.js';
import { select } from '../../warehouse/queries.js';

const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write('usage: wh-query.ts DATA_DIR < queries.json\n');
  process.exit(2);
}
let input = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) input += chunk;
const queries = JSON.parse(input) as { sql: string; params?: Record<string, unknown> }[];
const wh = await openWarehouse({ dataDir });
try {
  const out: unknown[] = [];
  for (const q of queries) out.push(await select(wh.client, q.sql, q.params ?? {}));
  process.stdout.write(JSON.stringify(out));
} finally {
  await wh.close();
}
