/**
 * A read-only, ClickHouse-compatible HTTP SQL endpoint (the subset of ClickHouse's
 * HTTP interface that clients and BI tools use): the query in the POST body
 * and/or `?query=`, a FORMAT clause or `default_format`, `database`, and
 * `param_<name>` values for `{name:Type}` placeholders. Errors are ClickHouse's
 * text (`Code: N. DB::Exception: … (NAME)`) with ClickHouse's status codes and
 * the X-ClickHouse-Exception-Code header, so `@clickhouse/client` reports them.
 *
 * Refused before anything runs: more than one statement, anything ClickHouse's
 * parser does not classify as read-only (writes, DDL, SET, USE, SYSTEM, KILL,
 * INTO OUTFILE…), and table functions that reach files, other servers or
 * programs. The connection itself is readonly = 1 as a second line.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Route, RouteContext } from './app.js';
import type { Services } from '../runtime/services.js';
import { openReadOnlyEngine, type ReadOnlyEngine } from './readonly-engine.js';
import { logger } from '../core/log.js';

const log = logger({ component: 'sql-endpoint' });

/** ClickHouse's default max_query_size. */
export const MAX_QUERY_BYTES = 262_144;

/** Table functions that only compute or read this warehouse's own tables. */
const SAFE_TABLE_FUNCTIONS = new Set([
  'numbers', 'numbers_mt', 'zeros', 'zeros_mt', 'generate_series', 'generateSeries', 'generateRandom',
  'values', 'view', 'viewIfPermitted', 'merge', 'null', 'format',
]);

const CODE_NAMES: Record<number, string> = { 62: 'SYNTAX_ERROR', 81: 'UNKNOWN_DATABASE', 164: 'READONLY', 1: 'UNSUPPORTED_METHOD' };

/** ClickHouse's exception code → HTTP status mapping (the codes runsync users meet). */
export function statusForCode(code: number): number {
  if ([164, 497, 291].includes(code)) return 403; // READONLY, ACCESS_DENIED, DATABASE_ACCESS_DENIED
  if ([516, 192, 193, 194].includes(code)) return 401; // authentication
  if ([60, 81, 46, 47, 73, 115].includes(code)) return 404; // unknown table/db/function/identifier/format/setting
  if ([62, 6, 26, 27, 36, 53, 43, 44, 456, 457, 386, 70].includes(code)) return 400; // syntax, parse, type, parameter errors
  if (code === 1) return 405;
  if (code === 48) return 501;
  if (code === 159) return 504;
  return 500;
}

export class ClickHouseHttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(`Code: ${code}. DB::Exception: ${message}. (${CODE_NAMES[code] ?? 'UNKNOWN'})`);
  }
}

function sendError(res: ServerResponse, text: string): void {
  const code = Number(/Code: (\d+)\./.exec(text)?.[1] ?? 0);
  const body = text.endsWith('\n') ? text : text + '\n';
  res.writeHead(statusForCode(code), {
    'content-type': 'text/plain; charset=UTF-8',
    'x-clickhouse-exception-code': String(code),
    'x-clickhouse-server-display-name': 'runsync',
  });
  res.end(body);
}

const CONTENT_TYPES: [RegExp, string][] = [
  [/^JSON(Compact)?(Strings)?(EachRow)?(WithNames)?(AndTypes)?(WithProgress)?$|^NDJSON$|^JSONLines$|^JSONObjectEachRow$|^JSONColumns/i, 'application/json; charset=UTF-8'],
  [/^CSV/i, 'text/csv; charset=UTF-8; header=absent'],
  [/^(TabSeparated|TSV)/i, 'text/tab-separated-values; charset=UTF-8'],
  [/^(Parquet|Arrow|ArrowStream|Native|RowBinary.*|ORC|Avro|MsgPack)$/i, 'application/octet-stream'],
];
const contentType = (format: string) => CONTENT_TYPES.find(([re]) => re.test(format))?.[1] ?? 'text/plain; charset=UTF-8';

/**
 * HTTP parameter values are in ClickHouse's escaped text form (`\t`, `\n`, `\\`, `\'`);
 * the engine binding escapes strings itself, so they are decoded once here.
 */
export function decodeParamValue(text: string): string {
  const map: Record<string, string> = { b: '\b', f: '\f', r: '\r', n: '\n', t: '\t', '0': '\0', a: '\x07', v: '\v', '\\': '\\', "'": "'", '"': '"' };
  return text.replace(/\\(.)/gs, (_, c: string) => map[c] ?? `\\${c}`);
}

interface AstNode {
  name: string;
  depth: number;
  parent: AstNode | null;
}

/** Parses `EXPLAIN AST` output (one node per line, one space of indent per level). */
function astNodes(text: string): AstNode[] {
  const nodes: AstNode[] = [];
  const stack: AstNode[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const depth = line.length - line.trimStart().length;
    const name = line.trim().replace(/ \(children \d+\)$/, '');
    while (stack.length && stack[stack.length - 1].depth >= depth) stack.pop();
    const node = { name, depth, parent: stack[stack.length - 1] ?? null };
    nodes.push(node);
    stack.push(node);
  }
  return nodes;
}

export interface GuardResult {
  /** The FORMAT clause of the query, if it has one. */
  format: string | null;
}

/** Refuses what the endpoint does not run; returns what the AST says about the output format. */
export async function guardQuery(engine: ReadOnlyEngine, sql: string, params: Record<string, string>, database?: string): Promise<GuardResult> {
  const size = Buffer.byteLength(sql);
  if (size > MAX_QUERY_BYTES) throw new ClickHouseHttpError(62, `Max query size exceeded: the query is ${size} bytes, the limit is ${MAX_QUERY_BYTES} (max_query_size)`);
  if (!sql.trim()) throw new ClickHouseHttpError(62, 'Empty query');
  const a = await engine.analyze(sql);
  // Not parsed: let the engine produce ClickHouse's own syntax error (nothing runs).
  if (a.statementCount === 0 && a.queryClass === 4) return { format: null };
  if (a.statementCount > 1) throw new ClickHouseHttpError(62, `Multi-statements are not allowed: found ${a.statementCount} statements`);
  if (a.queryClass !== 0) {
    const kind = ['read-only', 'a write or DDL statement', 'a statement with global effects (users, grants, functions)', 'a session or server control statement (SET, USE, SYSTEM, KILL, INTO OUTFILE, …)', 'a statement this endpoint cannot classify'][a.queryClass] ?? 'not read-only';
    throw new ClickHouseHttpError(164, `Cannot execute query in readonly mode: runsync's SQL endpoint runs SELECT, SHOW, DESCRIBE and EXPLAIN only, and this is ${kind}`);
  }
  let ast: AstNode[] = [];
  try {
    const out = await engine.execute({ sql: `EXPLAIN AST ${sql}`, format: 'TSVRaw', params, database });
    ast = astNodes(out.body.toString('utf8'));
  } catch {
    // EXPLAIN AST does not wrap every read statement (SHOW, DESCRIBE): the readonly
    // connection still refuses table functions there.
    return { format: null };
  }
  for (const n of ast) {
    const m = /^Function (\S+)(?: \(alias .*\))?$/.exec(n.name);
    if (m && n.parent?.name === 'TableExpression' && !SAFE_TABLE_FUNCTIONS.has(m[1])) {
      throw new ClickHouseHttpError(164, `Cannot execute query in readonly mode: table function ${m[1]}() reaches files, other servers or programs and is refused by runsync's SQL endpoint`);
    }
  }
  const root = ast[0];
  const formatNode = ast.find((n) => n.parent === root && /^Identifier \S+$/.test(n.name));
  return { format: formatNode ? formatNode.name.slice('Identifier '.length) : null };
}

// One read-only engine per running service, opened on first use.
const engines = new WeakMap<Services, Promise<ReadOnlyEngine>>();
const opened = new Set<Promise<ReadOnlyEngine>>();

function engineFor(services: Services): Promise<ReadOnlyEngine> {
  let e = engines.get(services);
  if (!e) {
    e = openReadOnlyEngine(services.warehouse);
    engines.set(services, e);
    opened.add(e);
    e.catch(() => {
      engines.delete(services);
      opened.delete(e!);
    });
  }
  return e;
}

/** Closes the read-only connections (service shutdown, before the writer closes). */
export async function closeSqlEngines(): Promise<void> {
  const all = [...opened];
  opened.clear();
  await Promise.all(all.map(async (p) => (await p.catch(() => null))?.close().catch(() => undefined)));
}

/** True when the request is a SQL request (as opposed to the dashboard on GET /). */
export async function isSqlRequest(ctx: RouteContext): Promise<boolean> {
  return ctx.url.searchParams.has('query') || ctx.req.method === 'POST';
}

export async function handleSql(ctx: RouteContext): Promise<void> {
  const { url, res } = ctx;
  if (ctx.req.method !== 'GET' && ctx.req.method !== 'POST') {
    return sendError(res, new ClickHouseHttpError(1, `HTTP method ${ctx.req.method} is not supported`).message);
  }
  let body = '';
  try {
    body = (await ctx.body()).toString('utf8');
  } catch (e) {
    return sendError(res, new ClickHouseHttpError(62, `Max query size exceeded: ${(e as Error).message}`).message);
  }
  const sql = [url.searchParams.get('query') ?? '', body].filter((s) => s.trim() !== '').join('\n');
  const params: Record<string, string> = {};
  for (const [k, v] of url.searchParams) if (k.startsWith('param_')) params[k.slice(6)] = decodeParamValue(v);
  const database = url.searchParams.get('database') ?? undefined;
  const defaultFormat = url.searchParams.get('default_format') || 'TabSeparated';
  const queryId = url.searchParams.get('query_id') || randomUUID();
  let engine: ReadOnlyEngine;
  try {
    engine = await engineFor(ctx.services);
  } catch (e) {
    log.warn('read-only engine failed to open', { error: (e as Error).message });
    return sendError(res, `Code: 1000. DB::Exception: the read-only connection could not be opened: ${(e as Error).message}. (POCO_EXCEPTION)`);
  }
  try {
    const guard = await guardQuery(engine, sql, params, database);
    const format = guard.format ?? defaultFormat;
    const started = process.hrtime.bigint();
    const out = await engine.execute({ sql, format: defaultFormat, params, database });
    const elapsed = String(process.hrtime.bigint() - started);
    res.writeHead(200, {
      'content-type': contentType(format),
      'x-clickhouse-format': format,
      'x-clickhouse-query-id': queryId,
      'x-clickhouse-server-display-name': 'runsync',
      'x-clickhouse-summary': JSON.stringify({ read_rows: String(out.rowsRead), read_bytes: String(out.bytesRead), written_rows: '0', written_bytes: '0', total_rows_to_read: '0', result_rows: '0', result_bytes: String(out.body.length), elapsed_ns: elapsed }),
    });
    res.end(out.body);
  } catch (e) {
    const msg = (e as Error).message;
    sendError(res, /Code: \d+\./.test(msg) ? msg.replace(/^Code: \d+\. DB::Exception: (Code: \d+\.)/, '$1') : `Code: 1001. DB::Exception: ${msg}. (STD_EXCEPTION)`);
  }
}

/** `GET /ping` as ClickHouse answers it (clients and BI tools probe it). */
export const pingRoute: Route = {
  method: 'GET',
  path: '/ping',
  public: true,
  handle: ({ res }) => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' });
    res.end('Ok.\n');
  },
};
