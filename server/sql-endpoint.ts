/**
 * A read-only, ClickHouse-compatible HTTP SQL endpoint (the subset of ClickHouse's
 * HTTP interface that clients and BI tools use): the query in the POST body
 * and/or `?query=`, a FORMAT clause or `default_format`, `database`, and
 * `param_<name>` values for `{name:Type}` placeholders. Errors are ClickHouse's
 * text (`Code: N. DB::Exception: … (NAME)`) with ClickHouse's status codes and
 * the X-ClickHouse-Exception-Code header, so `@clickhouse/client` reports them.
 *
 * Refused before anything runs: text ClickHouse's parser cannot read, more than
 * one statement, anything the parser does not classify as read-only (writes,
 * DDL, SET, USE, SYSTEM, KILL, INTO OUTFILE…), EXPLAIN of anything but SELECT,
 * and functions, scalar or table, anywhere in the query, that reach files,
 * other servers or programs (readonly = 1 does not stop scalar file()). Table
 * functions in FROM must be on a short safe list. The connection itself is
 * readonly = 1, with execution limits, as a second line.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Route, RouteContext } from './app.js';
import type { Services } from '../runtime/services.js';
import { DEFAULT_QUERY_LIMITS, openReadOnlyEngine, type QueryLimits, type ReadOnlyEngine } from './readonly-engine.js';
import { logger } from '../core/log.js';

const log = logger({ component: 'sql-endpoint' });

/** ClickHouse's default max_query_size. */
export const MAX_QUERY_BYTES = 262_144;

/**
 * Table functions that only compute or read this warehouse's own tables. Names are compared
 * in lower case: the parser keeps the spelling (`VALUES(…)`), the engine does not care.
 */
const SAFE_TABLE_FUNCTIONS = new Set(
  ['numbers', 'numbers_mt', 'zeros', 'zeros_mt', 'generate_series', 'generateSeries', 'generateRandom', 'primes',
    'values', 'SQLStandardValues', 'view', 'viewIfPermitted', 'merge', 'null', 'format'].map((n) => n.toLowerCase()),
);

/**
 * Functions that read files, reach other servers or run programs, refused wherever they appear
 * (scalar `file()` reads any file, `/proc/self/environ` included, even with readonly = 1).
 * Table functions outside the safe list are refused in FROM anyway; they are named here so
 * that a call outside FROM, or inside a SHOW … WHERE that EXPLAIN AST does not show, is caught too.
 */
const REFUSED_FUNCTIONS = new Set(
  [
    'file', 'fileCluster', 'filesystem', 'url', 'urlCluster', 's3', 's3Cluster', 'gcs', 'oss', 'cosn', 'hdfs', 'hdfsCluster',
    'azureBlobStorage', 'azureBlobStorageCluster', 'remote', 'remoteSecure', 'cluster', 'clusterAllReplicas',
    'mysql', 'postgresql', 'mongodb', 'redis', 'sqlite', 'jdbc', 'odbc', 'ytsaurus', 'arrowFlight', 'arrowstream',
    'executable', 'executablePool', 'eval', 'input', 'dictionary', 'viewExplain', 'loop', 'fuzzJSON', 'fuzzQuery',
    // A model or the server's own binary, loaded from a path.
    'catboostEvaluate', 'modelEvaluate', 'addressToLine', 'addressToLineWithInlines', 'addressToSymbol', 'demangle',
  ].map((n) => n.toLowerCase()),
);
/** Families: lake formats (files or object stores), time-series storages, dictionaries (their sources can be HTTP or programs). */
const REFUSED_FAMILIES = /^(iceberg|deltalake|hudi|paimon|prometheusquery|timeseries(data|metrics|samples|selector|tags)$|mergetree(index|projection|textindex|analyzeindexes)|dict(get|has|isin))/;

/** True when the function (scalar or table) is refused anywhere in a query. */
export function isRefusedFunction(name: string): boolean {
  const n = name.toLowerCase();
  return REFUSED_FUNCTIONS.has(n) || REFUSED_FAMILIES.test(n);
}

/** True when the table function may appear in FROM. */
export function isSafeTableFunction(name: string): boolean {
  return SAFE_TABLE_FUNCTIONS.has(name.toLowerCase());
}

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

/**
 * Parses `EXPLAIN AST` output (one node per line, one space of indent per level). Null when
 * the text is not one tree: an alias or identifier can hold a raw newline, and a query that
 * does that is refused rather than half-read.
 */
function astNodes(text: string): AstNode[] | null {
  const nodes: AstNode[] = [];
  const stack: AstNode[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const depth = line.length - line.trimStart().length;
    if (nodes.length === 0 ? depth !== 0 : depth === 0 || depth > stack[stack.length - 1].depth + 1) return null;
    const name = line.trim().replace(/ \(children \d+\)$/, '');
    while (stack.length && stack[stack.length - 1].depth >= depth) stack.pop();
    const node = { name, depth, parent: stack[stack.length - 1] ?? null };
    nodes.push(node);
    stack.push(node);
  }
  return nodes.length ? nodes : null;
}

/**
 * Names called as functions in `formatQuerySingleLine` output. That text is canonical (no
 * comments, no heredocs, strings in '…' with backslash escapes, escapes in names resolved), so
 * a small scanner reads it exactly; it is used where EXPLAIN AST shows no expressions (SHOW).
 */
export function calledFunctions(canonical: string): string[] {
  const names: string[] = [];
  const quoted = (i: number, q: string) => {
    let j = i + 1;
    while (j < canonical.length) {
      if (canonical[j] === '\\') j += 2;
      else if (canonical[j] === q && canonical[j + 1] === q) j += 2;
      else if (canonical[j] === q) break;
      else j++;
    }
    return { text: canonical.slice(i + 1, j), end: j + 1 };
  };
  let i = 0;
  while (i < canonical.length) {
    const c = canonical[i];
    let name: string;
    if (c === "'") {
      i = quoted(i, c).end;
      continue;
    } else if (c === '`' || c === '"') {
      const q = quoted(i, c);
      name = q.text;
      i = q.end;
    } else if (/[A-Za-z_]/.test(c)) {
      name = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(canonical.slice(i))![0];
      i += name.length;
    } else {
      i++;
      continue;
    }
    if (/^\s*\(/.test(canonical.slice(i, i + 64))) names.push(name);
  }
  return names;
}

export interface GuardResult {
  /** The FORMAT clause of the query, if it has one. */
  format: string | null;
}

const refuse = (what: string) => new ClickHouseHttpError(164, `Cannot execute query in readonly mode: ${what}`);
const refuseFunction = (name: string, table: boolean) =>
  refuse(`${table ? 'table function' : 'function'} ${name}() reaches files, other servers or programs and is refused by runsync's SQL endpoint`);

/** The engine's own error when it is one (ClickHouse text), else a refusal: an unchecked query does not run. */
function engineError(e: unknown, what: string): Error {
  const msg = (e as Error)?.message ?? String(e);
  return /^Code: \d+\./.test(msg) ? new Error(msg) : refuse(`${what} could not be checked (${msg})`);
}

const SELECT_ROOT = /^(SelectWithUnionQuery|SelectIntersectExceptQuery)\b/;

/** Refuses what the endpoint does not run; returns what the AST says about the output format. */
export async function guardQuery(engine: ReadOnlyEngine, sql: string, params: Record<string, string>, database?: string): Promise<GuardResult> {
  const size = Buffer.byteLength(sql);
  if (size > MAX_QUERY_BYTES) throw new ClickHouseHttpError(62, `Max query size exceeded: the query is ${size} bytes, the limit is ${MAX_QUERY_BYTES} (max_query_size)`);
  if (!sql.trim()) throw new ClickHouseHttpError(62, 'Empty query');
  const a = await engine.analyze(sql);
  if (a.statementCount === 0) {
    // Not parsed: nothing runs. ClickHouse's own message (with the position) comes from
    // formatQuery, which only parses.
    let parsed = false;
    try {
      await engine.execute({ sql: 'SELECT formatQuerySingleLine({q:String})', format: 'TSVRaw', params: { q: sql }, database });
      parsed = true;
    } catch (e) {
      const msg = (e as Error).message ?? '';
      if (/^Code: 62\./.test(msg)) throw new Error(msg);
    }
    throw new ClickHouseHttpError(62, `Syntax error: the query could not be parsed${parsed ? ' as one statement' : ''}`);
  }
  if (a.statementCount > 1) throw new ClickHouseHttpError(62, `Multi-statements are not allowed: found ${a.statementCount} statements`);
  if (a.queryClass !== 0) {
    const kind = ['read-only', 'a write or DDL statement', 'a statement with global effects (users, grants, functions)', 'a session or server control statement (SET, USE, SYSTEM, KILL, INTO OUTFILE, …)', 'a statement this endpoint cannot classify'][a.queryClass] ?? 'not read-only';
    throw refuse(`runsync's SQL endpoint runs SELECT, SHOW, DESCRIBE and EXPLAIN only, and this is ${kind}`);
  }
  // The whole tree is checked: a scalar file() in a lambda, a CTE or view() reads as well as
  // FROM file() does. When EXPLAIN AST fails (SETTINGS the readonly connection refuses, a
  // missing parameter…) the query fails the same way, so its error is the answer.
  let ast: AstNode[] | null;
  try {
    const out = await engine.execute({ sql: `EXPLAIN AST ${sql}`, format: 'TSVRaw', params, database });
    ast = astNodes(out.body.toString('utf8'));
  } catch (e) {
    throw engineError(e, 'the query');
  }
  if (!ast) throw refuse('the query could not be checked (a name or alias spans lines)');
  const root = ast[0];
  const children = (n: AstNode) => ast!.filter((c) => c.parent === n);
  if (/^Explain /.test(root.name)) {
    // EXPLAIN of a write builds its pipeline (INSERT INTO FUNCTION file(…) included): SELECT only.
    const inner = children(root).filter((c) => c.name !== 'Set' && !/^Identifier /.test(c.name));
    if (inner.some((c) => !SELECT_ROOT.test(c.name))) throw refuse("runsync's SQL endpoint explains SELECT queries only");
  } else if (!SELECT_ROOT.test(root.name) && !/^(DescribeQuery|Exists\w*Query)\b/.test(root.name) && !/^show/i.test(root.name)) {
    throw refuse(`runsync's SQL endpoint runs SELECT, SHOW, DESCRIBE, EXISTS and EXPLAIN only, and this is ${root.name.split(' ')[0]}`);
  }
  for (const n of ast) {
    const m = /^Function (\S+)/.exec(n.name);
    if (!m) continue;
    if (n.parent?.name === 'TableExpression' && !isSafeTableFunction(m[1])) throw refuseFunction(m[1], true);
    if (isRefusedFunction(m[1])) throw refuseFunction(m[1], false);
  }
  if (/^show/i.test(root.name)) {
    // EXPLAIN AST prints SHOW statements without their WHERE and LIMIT expressions.
    let canonical: string;
    try {
      const out = await engine.execute({ sql: 'SELECT formatQuerySingleLine({q:String})', format: 'TSVRaw', params: { q: sql }, database });
      canonical = out.body.toString('utf8');
    } catch (e) {
      throw engineError(e, 'the SHOW statement');
    }
    const bad = calledFunctions(canonical).find(isRefusedFunction);
    if (bad) throw refuseFunction(bad, false);
  }
  const formatNode = children(root).find((n) => /^Identifier [A-Za-z0-9_]+$/.test(n.name));
  return { format: formatNode ? formatNode.name.slice('Identifier '.length) : null };
}

// One read-only engine per running service, opened on first use.
const engines = new WeakMap<Services, Promise<ReadOnlyEngine>>();
const opened = new Set<Promise<ReadOnlyEngine>>();
const limitsFor = new WeakMap<Services, QueryLimits>();

/**
 * Overrides the query limits (readonly-engine's DEFAULT_QUERY_LIMITS) of a service's endpoint.
 * They are fixed when its connection opens, at the first query.
 */
export function setSqlQueryLimits(services: Services, limits: Partial<QueryLimits>): void {
  limitsFor.set(services, { ...DEFAULT_QUERY_LIMITS, ...limits });
}

function engineFor(services: Services): Promise<ReadOnlyEngine> {
  let e = engines.get(services);
  if (!e) {
    e = openReadOnlyEngine(services.warehouse, limitsFor.get(services));
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
