/**
 * The engine behind the read-only SQL endpoint.
 *
 * Embedded mode: a second chDB connection to the writer's data directory with
 * `SET readonly = 1` issued once on it (engines.md: read-only while the writer
 * keeps writing; a readonly connection refuses INSERT, DDL, file()/url() and
 * `SET readonly = 0`). HTTP mode (CLICKHOUSE_URL): the warehouse client, each
 * request sent with readonly=1 (on HTTP a client setting is a per-request URL
 * parameter, not a session SET); a ClickHouse user with readonly=1 in its
 * profile is the stronger setup and is what docs/analysts.md recommends.
 *
 * Every query runs under {@link QueryLimits}, set on the connection before readonly = 1, so
 * that a query cannot raise them (readonly = 1 refuses any setting change, a SETTINGS clause
 * included): one runaway query must not hold the endpoint's queue, or the writer's CPU, for hours.
 *
 * Statements are classified before they run by ClickHouse's own parser
 * (chdb's `analyze`), which needs a chDB connection: the writer's directory in
 * embedded mode, a scratch directory in HTTP mode.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type ClickHouseClient, type DataFormat } from '@clickhouse/client';
import { httpClientOptions, type Warehouse } from '../warehouse/client.js';
import type { QueryAnalysis } from 'chdb/durable';

/** ClickHouse settings that bound one query of the endpoint. */
export interface QueryLimits {
  /** Seconds. */
  max_execution_time: number;
  max_rows_to_read: number;
  /** Uncompressed bytes. */
  max_bytes_to_read: number;
  max_result_rows: number;
  max_result_bytes: number;
  max_memory_usage: number;
  max_threads: number;
}

export const DEFAULT_QUERY_LIMITS: Readonly<QueryLimits> = Object.freeze({
  max_execution_time: 60,
  max_rows_to_read: 10_000_000_000,
  max_bytes_to_read: 500 * 1024 ** 3,
  max_result_rows: 10_000_000,
  max_result_bytes: 100 * 1024 ** 2,
  max_memory_usage: 4 * 1024 ** 3,
  // Half the cores at most: the writer shares the process.
  max_threads: Math.max(1, Math.floor(availableParallelism() / 2)),
});

/** The limits as settings; overflow modes are pinned to throw so a limit never truncates a result silently. */
export function limitSettings(limits: QueryLimits): Record<string, string> {
  const out: Record<string, string> = { timeout_overflow_mode: 'throw', read_overflow_mode: 'throw', result_overflow_mode: 'throw' };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`query limit ${k} must be a non-negative integer, got ${v}`);
    out[k] = String(v);
  }
  return out;
}

export interface ExecuteRequest {
  sql: string;
  /** Output format when the query has no FORMAT clause. */
  format: string;
  /** Query parameters as JS strings (already unescaped from the HTTP text form). */
  params: Record<string, string>;
  database?: string;
}

export interface ReadOnlyEngine {
  analyze(sql: string): Promise<QueryAnalysis>;
  execute(req: ExecuteRequest): Promise<{ body: Buffer; rowsRead: number; bytesRead: number }>;
  close(): Promise<void>;
}

/** Runs one operation at a time: `USE` and the query after it must not interleave. */
function serial() {
  let chain: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };
}

async function classifier(dataPath: string | null) {
  const { ChdbNodeEngine } = await import('chdb/durable/node');
  const scratch = dataPath ? null : mkdtempSync(join(tmpdir(), 'runsync-classify-'));
  const engine = new ChdbNodeEngine();
  const path = dataPath ?? scratch!;
  await engine.start({ dataPath: path, backupsAllowedPath: path });
  return {
    analyze: (sql: string) => engine.analyze(sql, 'default'),
    close: async () => {
      await engine.close();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    },
  };
}

const quoteIdent = (name: string) => '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';

export async function openReadOnlyEngine(warehouse: Warehouse, limits: QueryLimits = DEFAULT_QUERY_LIMITS): Promise<ReadOnlyEngine> {
  const settings = limitSettings(limits);
  if (warehouse.kind === 'chdb') {
    const path = warehouse.describe.replace(/^chdb:/, '');
    const { Session } = await import('chdb');
    const session = new Session(path);
    // Limits first: after readonly = 1 nothing can change them, this connection included.
    await session.queryAsync(`SET ${Object.entries(settings).map(([k, v]) => `${k} = ${/^\d+$/.test(v) ? v : `'${v}'`}`).join(', ')}`);
    await session.queryAsync('SET readonly = 1');
    const cls = await classifier(path);
    const one = serial();
    let current = 'default';
    return {
      analyze: cls.analyze,
      execute: (req) =>
        one(async () => {
          const db = req.database || 'default';
          if (db !== current) {
            const known = await session.queryBindAsync('SELECT count() FROM system.databases WHERE name = {db:String}', { db }, { format: 'TSV' });
            if (known.text().trim() !== '1') {
              throw new Error(`Code: 81. DB::Exception: Database ${quoteIdent(db)} does not exist. (UNKNOWN_DATABASE)`);
            }
            await session.queryAsync(`USE ${quoteIdent(db)}`);
            current = db;
          }
          const r = Object.keys(req.params).length
            ? await session.queryBindAsync(req.sql, req.params, { format: req.format })
            : await session.queryAsync(req.sql, { format: req.format });
          return { body: Buffer.from(r.bytes()), rowsRead: r.rowsRead, bytesRead: r.bytesRead };
        }),
      close: async () => {
        await one(async () => session.close());
        await cls.close();
      },
    };
  }
  // Forwarding mode: queries go to the ClickHouse server as the read-only `bi` user
  // (CLICKHOUSE_BI_USER), one client per requested database. Without a bi user the writer's
  // client is used with readonly=1 on each request.
  const env = warehouse.env ?? process.env;
  const asBi = Boolean(env.CLICKHOUSE_BI_USER);
  const clients = new Map<string, ClickHouseClient>();
  const clientFor = (database?: string): ClickHouseClient => {
    if (!asBi && !database) return warehouse.client;
    const key = database ?? '';
    let c = clients.get(key);
    if (!c) {
      c = createClient(httpClientOptions(env, 'reader', database)!);
      clients.set(key, c);
    }
    return c;
  };
  const cls = await classifier(null).catch(() => null);
  return {
    // Without chDB installed (a server-only image), the statement is classified by the server:
    // guardQuery's EXPLAIN AST runs there and refuses anything but SELECT/SHOW/DESCRIBE/EXPLAIN,
    // the server refuses multi-statements, and the bi user's profile is read-only.
    analyze: cls ? cls.analyze : async () => ({ statementCount: 1, queryClass: 0, hasSecrets: false, writesOnlyTargetDatabase: false, changesDatabaseLifecycle: false }) as QueryAnalysis,
    async execute(req) {
      const rs = await clientFor(req.database).exec({
        query: req.sql,
        query_params: req.params,
        // HTTP: these travel as URL parameters of this one request. The bi user's profile
        // (readonly = 2 with constraints) holds it read-only and caps the limits.
        clickhouse_settings: { ...settings, ...(asBi ? {} : { readonly: '1' }), default_format: req.format as DataFormat },
      });
      const chunks: Buffer[] = [];
      for await (const c of rs.stream) chunks.push(Buffer.from(c as Buffer));
      return { body: Buffer.concat(chunks), rowsRead: Number(rs.summary?.read_rows ?? 0), bytesRead: Number(rs.summary?.read_bytes ?? 0) };
    },
    close: async () => {
      await Promise.all([...clients.values()].map((c) => c.close()));
      await cls?.close();
    },
  };
}
