/**
 * TEST-ONLY STAND-IN FOR A CLICKHOUSE SERVER.
 *
 * No ClickHouse server installs from the registries this project can reach, so the HTTP path
 * (CLICKHOUSE_URL) is exercised against this: a small HTTP server that speaks the part of
 * ClickHouse's HTTP interface `@clickhouse/client` and BI tools use, in front of the real
 * ClickHouse engine (chDB) on a data directory. Every request gets its own engine connection,
 * as a ClickHouse HTTP request gets its own query context (no session state leaks between them).
 *
 * Spoken here, as ClickHouse does it:
 * - the query in `?query=` and/or the POST body (joined by a newline: an INSERT's data follows
 *   its `FORMAT` clause), GET requests read-only;
 * - `param_<name>` values in their escaped text form, `database`, `default_format`
 *   (TabSeparated when absent), `query_id`, and any other URL parameter as a setting;
 * - HTTP basic auth, the `X-ClickHouse-User`/`X-ClickHouse-Key` headers, or `user`/`password`
 *   parameters; unknown user or wrong password → code 516 (AUTHENTICATION_FAILED);
 * - errors as `Code: N. DB::Exception: … (NAME)` with ClickHouse's HTTP status for the code and
 *   the `X-ClickHouse-Exception-Code` header; `X-ClickHouse-Summary`, `-Format`, `-Query-Id`;
 * - `GET /ping` → `Ok.`; URIs up to 1 MiB (ClickHouse's default http_max_uri_size).
 *
 * Users mirror deploy/clickhouse/users.xml: a writer, and a read-only `bi` user (on the real
 * server `readonly = 2` with SELECT grants only; here its settings are applied first and then
 * the connection is made `readonly = 1`, which refuses writes, DDL and file()/url() alike).
 * Not emulated: compression, sessions, progress headers, multi-statement refusal, quotas.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface StandinUser {
  password: string;
  readonly?: boolean;
}

export interface ClickHouseStandin {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Requests received, for tests that check what travelled (query text and parameters). */
  requests: { user: string; params: Record<string, string>; sql: string }[];
  close(): Promise<void>;
}

const HTTP_ONLY = new Set([
  'query', 'database', 'default_format', 'query_id', 'user', 'password', 'session_id', 'session_timeout', 'session_check',
  'quota_key', 'role', 'compress', 'decompress', 'buffer_size', 'wait_end_of_query', 'enable_http_compression',
  'http_zlib_compression_level', 'send_progress_in_http_headers', 'http_headers_progress_interval_ms', 'cancel_http_readonly_queries_on_client_close',
]);

const CODE_NAMES: Record<number, string> = { 516: 'AUTHENTICATION_FAILED', 81: 'UNKNOWN_DATABASE', 62: 'SYNTAX_ERROR', 164: 'READONLY', 1: 'UNSUPPORTED_METHOD' };

/** ClickHouse's mapping of exception codes to HTTP statuses (src/Server/HTTPHandler.cpp), the codes met here. */
export function httpStatusOf(code: number): number {
  if ([516, 194, 192].includes(code)) return 401;
  if ([164, 497, 291, 495].includes(code)) return 403;
  if ([60, 81, 46, 47, 73, 115].includes(code)) return 404;
  if ([62, 6, 26, 27, 53, 43, 44, 456, 457, 386, 70, 36, 130].includes(code)) return 400;
  if (code === 1) return 501;
  if (code === 159) return 504;
  return 500;
}

const sqlString = (t: string) => "'" + t.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
const ident = (t: string) => '`' + t.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';

function fail(res: ServerResponse, code: number, message: string): void {
  const text = /^Code: \d+\./.test(message) ? message : `Code: ${code}. DB::Exception: ${message}. (${CODE_NAMES[code] ?? 'UNKNOWN'})`;
  res.writeHead(httpStatusOf(code), {
    'content-type': 'text/plain; charset=UTF-8',
    'x-clickhouse-exception-code': String(code),
    'x-clickhouse-server-display-name': 'clickhouse-standin',
  });
  res.end(text.endsWith('\n') ? text : text + '\n');
}

function credentials(req: IncomingMessage, params: URLSearchParams): { user: string; password: string } {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return { user: decodeURIComponent(decoded.slice(0, i)), password: decodeURIComponent(decoded.slice(i + 1)) };
  }
  const hUser = req.headers['x-clickhouse-user'];
  if (typeof hUser === 'string') return { user: hUser, password: String(req.headers['x-clickhouse-key'] ?? '') };
  return { user: params.get('user') ?? 'default', password: params.get('password') ?? '' };
}

function formatOf(name: string): string {
  if (/JSON/i.test(name)) return 'application/json; charset=UTF-8';
  if (/^CSV/i.test(name)) return 'text/csv; charset=UTF-8; header=absent';
  if (/^(TSV|TabSeparated)/i.test(name)) return 'text/tab-separated-values; charset=UTF-8';
  return 'text/plain; charset=UTF-8';
}

/** Starts the stand-in on 127.0.0.1 over the chDB data directory `path`. */
export async function startClickHouseStandin(opts: { path: string; users: Record<string, StandinUser> }): Promise<ClickHouseStandin> {
  const { Session } = await import('chdb');
  const requests: ClickHouseStandin['requests'] = [];
  const active = new Set<Promise<unknown>>();
  // Held open for the stand-in's life: when a path's last connection closes the engine shuts
  // down, and starting it again costs ~200 ms per request.
  const keeper = new Session(opts.path);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://standin');
    if (url.pathname === '/ping' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' });
      res.end('Ok.\n');
      return;
    }
    if (url.pathname !== '/') return fail(res, 1, `There is no handle ${url.pathname}`);
    if (req.method !== 'GET' && req.method !== 'POST') return fail(res, 1, `HTTP method ${req.method} is not supported`);
    const { user, password } = credentials(req, url.searchParams);
    const account = opts.users[user];
    if (!account || account.password !== password) {
      return fail(res, 516, `${user}: Authentication failed: password is incorrect, or there is no user with such name`);
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const sql = [url.searchParams.get('query') ?? '', body].filter((s) => s !== '').join('\n');
    if (!sql.trim()) return fail(res, 62, 'Empty query');
    const params = Object.fromEntries(url.searchParams);
    requests.push({ user, params, sql });
    const format = url.searchParams.get('default_format') || 'TabSeparated';
    const queryId = url.searchParams.get('query_id') || randomUUID();

    const session = new Session(opts.path);
    try {
      const database = url.searchParams.get('database');
      if (database) {
        const known = await session.queryBindAsync('SELECT count() FROM system.databases WHERE name = {db:String}', { db: database }, { format: 'TSV' });
        if (known.text().trim() !== '1') return fail(res, 81, `Database ${ident(database)} does not exist`);
        await session.queryAsync(`USE ${ident(database)}`);
      }
      for (const [k, v] of url.searchParams) {
        if (k.startsWith('param_')) {
          if (!/^param_[A-Za-z_][A-Za-z0-9_]*$/.test(k)) return fail(res, 36, `Bad query parameter name ${k}`);
          // The value is the parameter's text form, exactly as sent over HTTP.
          await session.queryAsync(`SET ${k} = ${sqlString(v)}`);
        } else if (!HTTP_ONLY.has(k)) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) return fail(res, 115, `Unknown setting ${k}`);
          await session.queryAsync(`SET ${k} = ${/^-?\d+(\.\d+)?$/.test(v) ? v : sqlString(v)}`);
        }
      }
      // GET requests are read-only on a ClickHouse server; the bi user is read-only always.
      if (account.readonly || req.method === 'GET') await session.queryAsync('SET readonly = 1');
      const started = process.hrtime.bigint();
      const result = await session.queryAsync(sql, { format });
      const out = Buffer.from(result.bytes());
      const isInsert = /^\s*INSERT\b/i.test(sql);
      res.writeHead(200, {
        'content-type': formatOf(format),
        'x-clickhouse-format': format,
        'x-clickhouse-query-id': queryId,
        'x-clickhouse-timezone': 'UTC',
        'x-clickhouse-server-display-name': 'clickhouse-standin',
        'x-clickhouse-summary': JSON.stringify({
          read_rows: String(isInsert ? 0 : result.rowsRead),
          read_bytes: String(isInsert ? 0 : result.bytesRead),
          written_rows: String(isInsert ? result.rowsRead : 0),
          written_bytes: String(isInsert ? result.bytesRead : 0),
          total_rows_to_read: '0',
          result_rows: '0',
          result_bytes: String(out.length),
          elapsed_ns: String(process.hrtime.bigint() - started),
        }),
      });
      res.end(out);
    } catch (e) {
      const msg = (e as Error).message ?? String(e);
      const code = Number(/^Code: (\d+)\./.exec(msg)?.[1] ?? 1001);
      fail(res, code, /^Code: \d+\./.test(msg) ? msg : `${msg}`);
    } finally {
      session.close();
    }
  }

  // ClickHouse accepts URIs up to http_max_uri_size (1 MiB by default): parameters travel there.
  const server: Server = createServer({ maxHeaderSize: 1024 * 1024 + 64 * 1024 }, (req, res) => {
    const p = handle(req, res).catch((e) => {
      if (!res.headersSent) fail(res, 1001, (e as Error).message);
      else res.destroy();
    });
    active.add(p);
    void p.finally(() => active.delete(p));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...active]);
      keeper.close();
    },
  };
}
