import type { ClickHouseClient, DataFormat } from '@clickhouse/client';

const FORMAT_CLAUSE = /\bFORMAT\s+([A-Za-z][A-Za-z0-9]*)\s*;?\s*$/i;

/**
 * Runs a user's query and returns its text. A trailing `FORMAT X` is honoured (the
 * client sets the format itself, so the clause is lifted out of the SQL); the
 * default is PrettyCompactMonoBlock for people, like clickhouse-client.
 */
export async function runUserQuery(client: ClickHouseClient, sql: string, defaultFormat = 'PrettyCompactMonoBlock'): Promise<string> {
  let query = sql.trim().replace(/;\s*$/, '');
  let format = defaultFormat;
  const m = FORMAT_CLAUSE.exec(query);
  if (m) {
    format = m[1];
    query = query.slice(0, m.index).trim();
  }
  const rs = await client.query({ query, format: format as DataFormat });
  return rs.text();
}
