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
 *
 * Analysts' queries run on a pool of such connections under {@link QueryScheduler}'s lanes;
 * the endpoint's own checks (EXPLAIN AST, formatQuery) on a connection of their own, and
 * cancellations (`KILL QUERY … ASYNC`) on another, so neither waits behind a slow query.
 * chDB gives queries its own ids, so each analyst query carries a marker comment that
 * KILL QUERY finds in `system.processes`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type ClickHouseClient, type DataFormat } from '@clickhouse/client';
import { httpClientOptions, type Warehouse } from '../warehouse/client.js';
import type { QueryAnalysis } from 'chdb/durable';
import type { Session } from 'chdb';
import { OutgrewShortLaneError, QueryScheduler, defaultPoolOptions, type Lane, type PoolOptions, type PoolStats } from './query-pool.js';
import { logger } from '../core/log.js';
import { escapeControl } from '../core/escape.js';

const log = logger({ component: 'sql-endpoint' });

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
  /** Query parameters in ClickHouse's HTTP text form (`param_<name>` values as sent). */
  params: Record<string, string>;
  database?: string;
}

export interface QueryResult {
  body: Buffer;
  rowsRead: number;
  bytesRead: number;
}

export interface ReadOnlyEngine {
  analyze(sql: string): Promise<QueryAnalysis>;
  /** The endpoint's own short checks of a query (EXPLAIN AST, formatQuery), outside the analysts' lanes. */
  inspect(req: ExecuteRequest): Promise<Buffer>;
  /**
   * An analyst's query, through the lanes. `shape` groups queries of one form (slow ones go
   * straight to the long lane); `signal` fires when the client goes away: the query is then
   * cancelled in the engine and the call settles once the engine has let go of it.
   */
  execute(req: ExecuteRequest, opts?: { shape?: string; signal?: AbortSignal }): Promise<QueryResult>;
  stats(): PoolStats;
  close(): Promise<void>;
}

/** The marker put in an analyst query's text; `KILL QUERY` finds the query by it. */
export const QUERY_MARKER = 'runsync-query:';

/** A ClickHouse string literal: backslash escapes, so nothing in `s` ends it early. */
export function sqlString(s: string): string {
  return "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\0/g, '\\0') + "'";
}

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * HTTP parameter values are in ClickHouse's escaped text form (`\t`, `\n`, `\\`, `\'`);
 * a client that escapes strings itself gets them decoded once.
 */
export function decodeParamValue(text: string): string {
  const map: Record<string, string> = { b: '\b', f: '\f', r: '\r', n: '\n', t: '\t', '0': '\0', a: '\x07', v: '\v', '\\': '\\', "'": "'", '"': '"' };
  return text.replace(/\\(.)/gs, (_, c: string) => map[c] ?? `\\${c}`);
}

/** Runs one operation at a time on a connection. */
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
const settingsSql = (settings: Record<string, string>) => `SET ${Object.entries(settings).map(([k, v]) => `${k} = ${/^\d+$/.test(v) ? v : sqlString(v)}`).join(', ')}`;

/**
 * One read-only chDB connection with the state a query leaves on it (current database,
 * query parameters). Parameters are session `SET param_…`s rather than chdb's bound
 * queries: those are serialized process-wide, the writer's included.
 */
class ChdbConn {
  private db = 'default';
  private params = new Set<string>();
  private constructor(
    private session: Session,
    private readonly open: () => Promise<Session>,
  ) {}

  static async connect(path: string, settings: Record<string, string>): Promise<ChdbConn> {
    const { Session: SessionCtor } = await import('chdb');
    const open = async () => {
      const session = new SessionCtor(path);
      // Limits first: after readonly = 1 nothing can change them, this connection included.
      await session.queryAsync(settingsSql(settings));
      await session.queryAsync('SET readonly = 1');
      return session;
    };
    return new ChdbConn(await open(), open);
  }

  async run(req: ExecuteRequest, marker?: string): Promise<QueryResult> {
    const names = Object.keys(req.params);
    for (const n of names) if (!PARAM_NAME.test(n)) throw new Error(`Code: 36. DB::Exception: Query parameter name ${JSON.stringify(n)} is not an identifier. (BAD_ARGUMENTS)`);
    if ([...this.params].some((n) => !(n in req.params))) {
      // A parameter cannot be unset: a fresh connection, so an earlier query's value is not used.
      const old = this.session;
      this.session = await this.open();
      this.db = 'default';
      this.params.clear();
      old.close();
    }
    const db = req.database || 'default';
    if (db !== this.db) {
      const known = await this.session.queryAsync(`SELECT count() FROM system.databases WHERE name = ${sqlString(db)}`, { format: 'TSV' });
      if (known.text().trim() !== '1') throw new Error(`Code: 81. DB::Exception: Database ${quoteIdent(db)} does not exist. (UNKNOWN_DATABASE)`);
      await this.session.queryAsync(`USE ${quoteIdent(db)}`);
      this.db = db;
    }
    if (names.length) {
      await this.session.queryAsync(`SET ${names.map((n) => `param_${n} = ${sqlString(req.params[n])}`).join(', ')}`);
      for (const n of names) this.params.add(n);
    }
    try {
      const r = await this.session.queryAsync(marker ? `/* ${QUERY_MARKER}${marker} */\n${req.sql}` : req.sql, { format: req.format });
      return { body: Buffer.from(r.bytes()), rowsRead: r.rowsRead, bytesRead: r.bytesRead };
    } catch (e) {
      // chDB keeps a failed (or cancelled) query in system.processes until the connection's next query.
      await this.session.queryAsync('SELECT 1').catch(() => undefined);
      throw e;
    }
  }

  /**
   * A statement run on the calling thread, not on libuv's pool: a cancellation must not wait
   * for a pool thread that the queries it cancels are holding. For quick statements only.
   */
  runNow(sql: string): void {
    this.session.query(sql, 'TSV');
  }

  /** Never throws; chdb defers the teardown while a query still runs on it. */
  close(): void {
    this.session.close();
  }
}

export interface EngineOptions {
  limits?: QueryLimits;
  pool?: Partial<PoolOptions>;
}

export async function openReadOnlyEngine(warehouse: Warehouse, opts: EngineOptions = {}): Promise<ReadOnlyEngine> {
  const settings = limitSettings(opts.limits ?? DEFAULT_QUERY_LIMITS);
  const scheduler = new QueryScheduler({ ...defaultPoolOptions(), ...opts.pool });
  if (warehouse.kind === 'chdb') {
    const path = warehouse.describe.replace(/^chdb:/, '');
    // The short lane's connections stop a query at shortMs of engine time (or the limit, if lower).
    const limit = Number(settings.max_execution_time) || Infinity;
    const shortSeconds = Math.min(limit, scheduler.opts.shortMs / 1000);
    const free: Record<Lane, ChdbConn[]> = { short: [], long: [] };
    for (let i = 0; i < scheduler.opts.shortSlots; i++) free.short.push(await ChdbConn.connect(path, { ...settings, max_execution_time: String(shortSeconds) }));
    for (let i = 0; i < scheduler.opts.longSlots; i++) free.long.push(await ChdbConn.connect(path, settings));
    const all = [...free.short, ...free.long];
    // The checks read queries up to the endpoint's size limit, wrapped in a statement of their own.
    const inspector = await ChdbConn.connect(path, { ...settings, max_query_size: String(4 * 262_144) });
    const killer = await ChdbConn.connect(path, settings);
    const inspectOne = serial();
    const cls = await classifier(path);
    const kill = (marker: string) => {
      try {
        // ASYNC: only marks the query; the engine stops it at its next check.
        killer.runNow(`KILL QUERY WHERE query LIKE concat('%', ${sqlString(QUERY_MARKER)}, ${sqlString(marker)}, '%') ASYNC`);
      } catch (e) {
        log.warn('could not cancel an abandoned query', { error: escapeControl((e as Error).message) });
      }
    };
    return {
      analyze: cls.analyze,
      inspect: (req) => inspectOne(async () => (await inspector.run(req)).body),
      execute: (req, { shape = req.sql, signal } = {}) =>
        scheduler.run(shape, signal, async (lane) => {
          // The scheduler holds a slot per connection: one is free.
          const conn = free[lane].pop()!;
          const marker = randomUUID().replace(/-/g, '');
          // A query still waiting for a libuv thread is not in system.processes yet: the
          // cancellation is repeated until the query settles.
          let again: NodeJS.Timeout | undefined;
          const onStop = () => {
            kill(marker);
            again = setInterval(() => kill(marker), 100);
          };
          signal?.addEventListener('abort', onStop, { once: true });
          try {
            return await conn.run(req, marker);
          } catch (e) {
            // Only the lane's own limit (shorter than the endpoint's) sends a query on to the long lane.
            if (lane === 'short' && shortSeconds < limit && /^Code: 159\./.test((e as Error).message ?? '')) throw new OutgrewShortLaneError();
            throw e;
          } finally {
            signal?.removeEventListener('abort', onStop);
            clearInterval(again);
            free[lane].push(conn);
          }
        }),
      stats: () => scheduler.stats(),
      close: async () => {
        for (const c of [...all, inspector, killer]) c.close();
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
  const exec = async (req: ExecuteRequest, queryId?: string, signal?: AbortSignal, extra: Record<string, string> = {}): Promise<QueryResult> => {
    const rs = await clientFor(req.database).exec({
      query: req.sql,
      query_params: Object.fromEntries(Object.entries(req.params).map(([k, v]) => [k, decodeParamValue(v)])),
      query_id: queryId,
      abort_signal: signal,
      // HTTP: these travel as URL parameters of this one request. The bi user's profile
      // (readonly = 2 with constraints) holds it read-only and caps the limits.
      clickhouse_settings: { ...settings, ...extra, ...(asBi ? {} : { readonly: '1' }), default_format: req.format as DataFormat },
    });
    const chunks: Buffer[] = [];
    for await (const c of rs.stream) chunks.push(Buffer.from(c as Buffer));
    return { body: Buffer.concat(chunks), rowsRead: Number(rs.summary?.read_rows ?? 0), bytesRead: Number(rs.summary?.read_bytes ?? 0) };
  };
  return {
    // Without chDB installed (a server-only image), the statement is classified by the server:
    // guardQuery's EXPLAIN AST runs there and refuses anything but SELECT/SHOW/DESCRIBE/EXPLAIN,
    // the server refuses multi-statements, and the bi user's profile is read-only.
    analyze: cls ? cls.analyze : async () => ({ statementCount: 1, queryClass: 0, hasSecrets: false, writesOnlyTargetDatabase: false, changesDatabaseLifecycle: false }) as QueryAnalysis,
    inspect: async (req) => (await exec(req)).body,
    execute: (req, { shape = req.sql, signal } = {}) =>
      scheduler.run(shape, signal, async (lane) => {
        // ClickHouse keeps running a query whose HTTP request is gone unless told otherwise.
        const queryId = `${QUERY_MARKER}${randomUUID()}`;
        const onStop = () =>
          void clientFor(req.database).command({ query: 'KILL QUERY WHERE query_id = {id:String} ASYNC', query_params: { id: queryId } }).catch(() => undefined);
        signal?.addEventListener('abort', onStop, { once: true });
        const limit = Number(settings.max_execution_time) || Infinity;
        const shortSeconds = Math.min(limit, scheduler.opts.shortMs / 1000);
        try {
          return await exec(req, queryId, signal, lane === 'short' ? { max_execution_time: String(shortSeconds) } : {});
        } catch (e) {
          if (lane === 'short' && shortSeconds < limit && /Code: 159\./.test((e as Error).message ?? '')) throw new OutgrewShortLaneError();
          throw e;
        } finally {
          signal?.removeEventListener('abort', onStop);
        }
      }),
    stats: () => scheduler.stats(),
    close: async () => {
      await Promise.all([...clients.values()].map((c) => c.close()));
      await cls?.close();
    },
  };
}
