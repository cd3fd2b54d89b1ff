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
 * functions in FROM must be on a short safe list. A SETTINGS clause anywhere (a
 * subquery's or a CTE's too) is refused: the limits are the connection's. Of the
 * `system` database only the tables an analyst needs (see SYSTEM_TABLES) are read,
 * without their file-path columns, and functions that tell about the server (paths,
 * host) are refused. The connection itself is readonly = 1, with execution limits, as a
 * second line.
 *
 * Queries run in a bounded pool with a short and a long lane (query-pool.ts): a full
 * queue answers 503 at once, and a query whose client goes away is cancelled.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Route, RouteContext } from './app.js';
import type { Services } from '../runtime/services.js';
import { DEFAULT_QUERY_LIMITS, openReadOnlyEngine, sqlString, type QueryLimits, type ReadOnlyEngine } from './readonly-engine.js';
import { QueryAbortedError, ServerBusyError, type PoolOptions } from './query-pool.js';
import { logger } from '../core/log.js';
import { escapeControl } from '../core/escape.js';

export { decodeParamValue } from './readonly-engine.js';

const log = logger({ component: 'sql-endpoint' });

/** ClickHouse's default max_query_size. */
export const MAX_QUERY_BYTES = 262_144;

/**
 * Table functions that only compute or read this warehouse's own tables. Names are compared
 * in lower case: the parser keeps the spelling (`VALUES(…)`), the engine does not care.
 */
const SAFE_TABLE_FUNCTIONS = new Set(
  ['numbers', 'numbers_mt', 'zeros', 'zeros_mt', 'generate_series', 'generateSeries', 'generateRandom', 'primes',
    'values', 'SQLStandardValues', 'view', 'viewIfPermitted', 'null', 'format'].map((n) => n.toLowerCase()),
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
/** Functions that tell about the server rather than the data: its paths, host, disks, certificate; or write to its log. */
const SERVER_FUNCTIONS = new Set(
  [
    'getServerSetting', 'getServerSettingOrDefault', 'hostName', 'fqdn', 'getMacro', 'getOSKernelVersion', 'buildId', 'serverUUID',
    'filesystemAvailable', 'filesystemCapacity', 'filesystemUnreserved', 'filesystemFree', 'getServerPort', 'tcpPort', 'displayName',
    'getClientHTTPHeader', 'showCertificate', 'logTrace', 'currentProfiles', 'enabledProfiles', 'defaultProfiles',
  ].map((n) => n.toLowerCase()),
);
/** Table functions refused for what they read rather than where they reach. */
const REFUSED_TABLE_FUNCTIONS: Record<string, string> = { merge: "reads the tables of any database by pattern (the server's own included)" };

/**
 * The `system` tables an analyst may read: what the warehouse holds (tables, columns, parts
 * and their sizes, databases) and what the SQL dialect offers. Everything else there is about
 * the server (processes, errors, logs, disks, settings, users, stack traces) and refused.
 */
export const SYSTEM_TABLES = new Set([
  'tables', 'columns', 'databases', 'parts', 'parts_columns', 'projection_parts', 'projection_parts_columns', 'projections',
  'data_skipping_indices', 'functions', 'table_functions', 'aggregate_function_combinators', 'data_type_families', 'formats',
  'table_engines', 'database_engines', 'time_zones', 'collations', 'keywords', 'one', 'numbers', 'numbers_mt', 'zeros', 'zeros_mt',
]);
/** Columns of allowed system tables that hold the server's file paths; `*` on those tables would read them. */
const SYSTEM_PATH_COLUMNS = new Set(['path', 'data_path', 'data_paths', 'metadata_path']);
const SYSTEM_TABLES_WITH_PATHS = new Set(['tables', 'databases', 'parts', 'parts_columns', 'projection_parts', 'projection_parts_columns']);
/** SHOW statements that read only names and definitions (SHOW PROCESSLIST, SETTINGS, MERGES, CLUSTERS… are not). */
const SHOW_ALLOWED = /^SHOW\s+(FULL\s+)?(EXTENDED\s+)?(TEMPORARY\s+)?(TABLES|DATABASES|COLUMNS|FIELDS|INDEX|INDEXES|INDICES|KEYS|FUNCTIONS|ENGINES|DICTIONARIES|CREATE\s+(TEMPORARY\s+)?(TABLE|VIEW|DATABASE|DICTIONARY))\b/i;
/** Families: lake formats (files or object stores), time-series storages, dictionaries (their sources can be HTTP or programs). */
const REFUSED_FAMILIES = /^(iceberg|deltalake|hudi|paimon|prometheusquery|timeseries(data|metrics|samples|selector|tags)$|mergetree(index|projection|textindex|analyzeindexes)|dict(get|has|isin))/;

/** True when the function (scalar or table) is refused anywhere in a query. */
export function isRefusedFunction(name: string): boolean {
  const n = name.toLowerCase();
  return REFUSED_FUNCTIONS.has(n) || REFUSED_FAMILIES.test(n) || SERVER_FUNCTIONS.has(n) || n in REFUSED_TABLE_FUNCTIONS;
}

/** True when the table function may appear in FROM. */
export function isSafeTableFunction(name: string): boolean {
  return SAFE_TABLE_FUNCTIONS.has(name.toLowerCase());
}

const CODE_NAMES: Record<number, string> = {
  62: 'SYNTAX_ERROR', 81: 'UNKNOWN_DATABASE', 164: 'READONLY', 1: 'UNSUPPORTED_METHOD', 36: 'BAD_ARGUMENTS', 202: 'TOO_MANY_SIMULTANEOUS_QUERIES', 394: 'QUERY_WAS_CANCELLED',
};

/** ClickHouse's exception code → HTTP status mapping (the codes runsync users meet). */
export function statusForCode(code: number): number {
  if ([164, 497, 291].includes(code)) return 403; // READONLY, ACCESS_DENIED, DATABASE_ACCESS_DENIED
  if ([516, 192, 193, 194].includes(code)) return 401; // authentication
  if ([60, 81, 46, 47, 73, 115].includes(code)) return 404; // unknown table/db/function/identifier/format/setting
  if ([62, 6, 26, 27, 36, 53, 43, 44, 456, 457, 386, 70].includes(code)) return 400; // syntax, parse, type, parameter errors
  if (code === 1) return 405;
  if (code === 202) return 503;
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

function sendError(res: ServerResponse, text: string, extra: { status?: number; headers?: Record<string, string> } = {}): void {
  if (res.headersSent || res.destroyed) return void res.end();
  const code = Number(/Code: (\d+)\./.exec(text)?.[1] ?? 0);
  const body = text.endsWith('\n') ? text : text + '\n';
  res.writeHead(extra.status ?? statusForCode(code), {
    'content-type': 'text/plain; charset=UTF-8',
    'x-clickhouse-exception-code': String(code),
    'x-clickhouse-server-display-name': 'runsync',
    ...extra.headers,
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
  /** The query's form without its literal values: queries of one shape share a lane (query-pool.ts). */
  shape: string;
}

const refuse = (what: string) => new ClickHouseHttpError(164, `Cannot execute query in readonly mode: ${what}`);
const refuseFunction = (name: string, table: boolean) => {
  const n = name.toLowerCase();
  const why = REFUSED_TABLE_FUNCTIONS[n] ?? (SERVER_FUNCTIONS.has(n) ? "tells about the server (its paths, host or configuration), not the warehouse's data," : 'reaches files, other servers or programs');
  return refuse(`${table ? 'table function' : 'function'} ${name}() ${why} and is refused by runsync's SQL endpoint`);
};
const refuseSystem = (table: string) =>
  refuse(`system.${table} is about the server, not the warehouse, and is refused by runsync's SQL endpoint; readable system tables: ${[...SYSTEM_TABLES].join(', ')}`);

/** The engine's own error when it is one (ClickHouse text), else a refusal: an unchecked query does not run. */
function engineError(e: unknown, what: string): Error {
  const msg = (e as Error)?.message ?? String(e);
  return /^Code: \d+\./.test(msg) ? new Error(msg) : refuse(`${what} could not be checked (${msg})`);
}

/** EXPLAIN AST prints an aliased name as `name (alias a)`. */
const unaliased = (name: string) => name.replace(/ \(alias .*\)$/s, '');

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
      await engine.inspect({ sql: `SELECT formatQuerySingleLine(${sqlString(sql)})`, format: 'TSVRaw', params: {} });
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
    ast = astNodes((await engine.inspect({ sql: `EXPLAIN AST ${sql}`, format: 'TSVRaw', params, database })).toString('utf8'));
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
  const explainRoot = /^Explain /.test(root.name) ? root : null;
  const systemTables = new Set<string>();
  let settingsClauses = 0;
  for (const n of ast) {
    // SETTINGS of any SELECT, a subquery's or a CTE's included (readonly = 1 only guards the outer one).
    // Under EXPLAIN, its own options (`EXPLAIN header = 1 …`) are a Set too.
    if (n.name === 'Set' && n.parent !== explainRoot) {
      settingsClauses++;
      continue;
    }
    const t = /^(TableIdentifier|Identifier) (.+)$/.exec(n.name);
    if (t) {
      const parts = unaliased(t[2]).split('.');
      // A bare name is a table in FROM, and as the right side of IN (`x IN processes`).
      const asTable = t[1] === 'TableIdentifier' || /^Function (global)?(not)?(null)?in(ignoreset)?$/i.test(n.parent?.parent?.name ?? '');
      const table = parts.length === 2 && parts[0] === 'system' ? parts[1] : parts.length === 1 && asTable && database === 'system' ? parts[0] : null;
      if (table !== null) {
        if (!SYSTEM_TABLES.has(table)) throw refuseSystem(table);
        systemTables.add(table);
      }
      continue;
    }
    const m = /^Function (\S+)/.exec(n.name);
    if (!m) continue;
    if (n.parent?.name === 'TableExpression' && !isSafeTableFunction(m[1])) throw refuseFunction(m[1], true);
    if (isRefusedFunction(m[1])) throw refuseFunction(m[1], false);
  }
  if (settingsClauses) await onlyOutputSettings(engine, sql, settingsClauses);
  const withPaths = [...systemTables].filter((t) => SYSTEM_TABLES_WITH_PATHS.has(t));
  if (withPaths.length) {
    for (const n of ast) {
      const col = /^Identifier (.+)$/.exec(n.name)?.[1] && unaliased(n.name.slice('Identifier '.length)).split('.').pop();
      if (col && SYSTEM_PATH_COLUMNS.has(col)) throw refuse(`column ${col} holds the server's file paths and is refused by runsync's SQL endpoint`);
      if (/^(Asterisk|QualifiedAsterisk|ColumnsRegexpMatcher|ColumnsListMatcher|QualifiedColumns)/.test(n.name)) {
        throw refuse(`* on system.${withPaths[0]} would read the server's file paths (${[...SYSTEM_PATH_COLUMNS].join(', ')}): name the columns you need`);
      }
    }
  }
  if (/^show/i.test(root.name)) {
    // EXPLAIN AST prints SHOW statements without their WHERE and LIMIT expressions.
    let canonical: string;
    try {
      canonical = (await engine.inspect({ sql: `SELECT formatQuerySingleLine(${sqlString(sql)})`, format: 'TSVRaw', params: {} })).toString('utf8');
    } catch (e) {
      throw engineError(e, 'the SHOW statement');
    }
    const bad = calledFunctions(canonical).find(isRefusedFunction);
    if (bad) throw refuseFunction(bad, false);
    if (!SHOW_ALLOWED.test(canonical.trim())) throw refuse(`${canonical.trim().split(/\s+/).slice(0, 2).join(' ')} is about the server, not the warehouse; runsync's SQL endpoint shows tables, databases, columns, indexes, functions, engines and definitions`);
    if (/\bSETTINGS\b/i.test(canonical.replace(/'(?:[^'\\]|\\.)*'/g, "''"))) throw refuse("a SETTINGS clause is refused by runsync's SQL endpoint wherever it appears");
  }
  const formatNode = children(root).find((n) => /^Identifier [A-Za-z0-9_]+$/.test(n.name));
  // Literals out: `SELECT sleep(3)` and `SELECT sleep(2)` are one shape.
  const shapeText = ast.map((n) => `${n.depth} ${n.name.replace(/^Literal .*/, 'Literal')}`).join('\n');
  const shape = createHash('sha256').update(`${database ?? ''}\n${shapeText}`).digest('hex').slice(0, 32);
  return { format: formatNode ? formatNode.name.slice('Identifier '.length) : null, shape };
}

/**
 * Settings that only shape how an answer is printed (runsync's own readers ask for 64-bit
 * integers as JSON numbers); nothing else may be changed by a query.
 */
const OUTPUT_SETTINGS = new Set(['output_format_json_quote_64bit_integers', 'output_format_json_quote_64bit_floats', 'output_format_json_quote_decimals', 'output_format_json_quote_denormals', 'output_format_decimal_trailing_zeros']);

/**
 * A SETTINGS clause anywhere (a subquery's or a CTE's included; readonly = 1 guards only the
 * outer one) is refused unless every setting it names only shapes the output. The parser
 * counts the clauses; the canonical text names their settings, and the two must agree.
 */
async function onlyOutputSettings(engine: ReadOnlyEngine, sql: string, clauses: number): Promise<void> {
  const refused = () => refuse("a SETTINGS clause is refused by runsync's SQL endpoint wherever it appears (subqueries and CTEs too): the endpoint's settings and limits are fixed");
  let canonical: string;
  try {
    canonical = (await engine.inspect({ sql: `SELECT formatQuerySingleLine(${sqlString(sql)})`, format: 'TSVRaw', params: {} })).toString('utf8');
  } catch {
    throw refused();
  }
  const text = canonical.replace(/'(?:[^'\\]|\\.)*'/g, "''");
  const found = [...text.matchAll(/\bSETTINGS\s+((?:\w+\s*=\s*[^,\s()]+\s*,\s*)*\w+\s*=\s*[^,\s()]+)/gi)];
  if (found.length !== clauses) throw refused();
  for (const m of found) for (const pair of m[1].split(',')) if (!OUTPUT_SETTINGS.has(pair.split('=')[0].trim().toLowerCase())) throw refused();
}

// One read-only engine per running service, opened on first use.
const engines = new WeakMap<Services, Promise<ReadOnlyEngine>>();
const opened = new Set<Promise<ReadOnlyEngine>>();
const limitsFor = new WeakMap<Services, QueryLimits>();
const poolFor = new WeakMap<Services, Partial<PoolOptions>>();

/**
 * Overrides the query limits (readonly-engine's DEFAULT_QUERY_LIMITS) of a service's endpoint.
 * They are fixed when its connection opens, at the first query.
 */
export function setSqlQueryLimits(services: Services, limits: Partial<QueryLimits>): void {
  limitsFor.set(services, { ...DEFAULT_QUERY_LIMITS, ...limits });
}

/** Overrides the query pool's sizes (query-pool's defaultPoolOptions), before the first query. */
export function setSqlPoolOptions(services: Services, pool: Partial<PoolOptions>): void {
  poolFor.set(services, pool);
}

function engineFor(services: Services): Promise<ReadOnlyEngine> {
  let e = engines.get(services);
  if (!e) {
    e = openReadOnlyEngine(services.warehouse, { limits: limitsFor.get(services), pool: poolFor.get(services) });
    engines.set(services, e);
    opened.add(e);
    e.catch(() => {
      engines.delete(services);
      opened.delete(e!);
    });
  }
  return e;
}

/** The endpoint's engine of a running service (tests read its pool's state). */
export function sqlEngineOf(services: Services): Promise<ReadOnlyEngine> {
  return engineFor(services);
}

/** Closes the read-only connections (service shutdown, before the writer closes). */
export async function closeSqlEngines(): Promise<void> {
  const all = [...opened];
  opened.clear();
  await Promise.all(all.map(async (p) => (await p.catch(() => null))?.close().catch(() => undefined)));
}

/** True when the request is for the SQL endpoint (as opposed to the dashboard on GET /). */
export async function isSqlRequest(ctx: RouteContext): Promise<boolean> {
  return ctx.url.searchParams.has('query') || (ctx.req.method !== 'GET' && ctx.req.method !== 'HEAD');
}

/**
 * Guard results by query text, database and parameters: dashboards and BI tools repeat their
 * queries, and the check costs engine round trips. Checks in flight are shared; failures are
 * not kept.
 */
const guardCache = new Map<string, Promise<GuardResult>>();
function cachedGuard(engine: ReadOnlyEngine, sql: string, params: Record<string, string>, database: string | undefined): Promise<GuardResult> {
  const key = JSON.stringify([sql, database ?? '', Object.entries(params).sort()]);
  const hit = guardCache.get(key);
  if (hit) {
    guardCache.delete(key);
    guardCache.set(key, hit);
    return hit;
  }
  const g = guardQuery(engine, sql, params, database);
  guardCache.set(key, g);
  g.catch(() => guardCache.delete(key));
  if (guardCache.size > 500) guardCache.delete(guardCache.keys().next().value as string);
  return g;
}

/** Control characters are refused in the request's parameters (a query and `param_` values may hold them). */
const CONTROL = /[\u0000-\u001f\u007f]/;
const MAX_QUERY_ID = 128;

export async function handleSql(ctx: RouteContext): Promise<void> {
  const { url, res } = ctx;
  if (ctx.req.method !== 'GET' && ctx.req.method !== 'POST') {
    return sendError(res, new ClickHouseHttpError(1, `HTTP method ${escapeControl(ctx.req.method ?? '')} is not supported: the SQL endpoint takes GET and POST`).message, { headers: { allow: 'GET, POST' } });
  }
  for (const [k, v] of url.searchParams) {
    if (CONTROL.test(k) || (k !== 'query' && !k.startsWith('param_') && CONTROL.test(v))) {
      return sendError(res, new ClickHouseHttpError(36, `URL parameter ${JSON.stringify(k)} contains a control character (CR, LF, NUL…)`).message);
    }
  }
  const queryIdParam = url.searchParams.get('query_id');
  if (queryIdParam && queryIdParam.length > MAX_QUERY_ID) return sendError(res, new ClickHouseHttpError(36, `query_id is longer than ${MAX_QUERY_ID} characters`).message);
  let body = '';
  try {
    body = (await ctx.body()).toString('utf8');
  } catch (e) {
    const status = (e as { status?: number }).status;
    return sendError(res, new ClickHouseHttpError(62, `Max query size exceeded: ${(e as Error).message}`).message, status === 413 ? { status: 413, headers: { connection: 'close' } } : {});
  }
  const sql = [url.searchParams.get('query') ?? '', body].filter((s) => s.trim() !== '').join('\n');
  const params: Record<string, string> = {};
  for (const [k, v] of url.searchParams) if (k.startsWith('param_')) params[k.slice(6)] = v;
  const database = url.searchParams.get('database') ?? undefined;
  const defaultFormat = url.searchParams.get('default_format') || 'TabSeparated';
  const queryId = queryIdParam || randomUUID();
  let engine: ReadOnlyEngine;
  try {
    engine = await engineFor(ctx.services);
  } catch (e) {
    log.warn('read-only engine failed to open', { error: escapeControl((e as Error).message) });
    return sendError(res, `Code: 1000. DB::Exception: the read-only connection could not be opened: ${(e as Error).message}. (POCO_EXCEPTION)`);
  }
  // A client that goes away cancels its query: queued, it leaves the queue; running, it is killed.
  const gone = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) gone.abort();
  };
  res.once('close', onClose);
  try {
    const guard = await cachedGuard(engine, sql, params, database);
    const format = guard.format ?? defaultFormat;
    const started = process.hrtime.bigint();
    const out = await engine.execute({ sql, format: defaultFormat, params, database }, { shape: guard.shape, signal: gone.signal });
    if (res.destroyed) return;
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
    if (e instanceof QueryAbortedError || gone.signal.aborted) return;
    if (e instanceof ServerBusyError) {
      return sendError(res, new ClickHouseHttpError(202, `Too many simultaneous queries: ${e.message}`).message, { headers: { 'retry-after': String(e.retryAfterSeconds) } });
    }
    const msg = (e as Error).message;
    sendError(res, /Code: \d+\./.test(msg) ? msg.replace(/^Code: \d+\. DB::Exception: (Code: \d+\.)/, '$1') : `Code: 1001. DB::Exception: ${msg}. (STD_EXCEPTION)`);
  } finally {
    res.off('close', onClose);
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
