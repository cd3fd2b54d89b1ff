import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { openWarehouse, type Warehouse } from '../../warehouse/client.js';
import { migrate } from '../../warehouse/migrate.js';
import { startHttpServer } from '../../server/app.js';
import { serviceRoutes } from '../../server/routes.js';
import { calledFunctions, closeSqlEngines, decodeParamValue, isRefusedFunction, isSafeTableFunction, setSqlQueryLimits } from '../../server/sql-endpoint.js';
import { DEFAULT_QUERY_LIMITS } from '../../server/readonly-engine.js';
import type { Services } from '../../runtime/services.js';
import { parseConfig } from '../../config/load.js';
import { buildFixtures, insertFixtures } from './fixtures.js';
import { toCh } from '../../core/time.js';

const TOKEN = 'test-token-5b1f';
let dir: string;
let wh: Warehouse;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let ch: ClickHouseClient;
/** A second service on the same warehouse, with small query limits. */
let tight: Awaited<ReturnType<typeof startHttpServer>>;

async function post(query: string, params: Record<string, string> = {}, token: string | null = TOKEN, server = http) {
  const u = new URL(server.url + '/');
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  const res = await fetch(u, { method: 'POST', body: query, headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-'));
  wh = await openWarehouse({ dataDir: dir });
  await migrate(wh.client);
  await insertFixtures(wh.client, buildFixtures());
  const services = { config: parseConfig({ dataDir: dir }), dataDir: dir, warehouse: wh } as unknown as Services;
  http = await startHttpServer(services, serviceRoutes(), { host: '127.0.0.1', port: 0, token: TOKEN });
  ch = createClient({ url: http.url, access_token: TOKEN });
  const tightServices = { ...services } as Services;
  setSqlQueryLimits(tightServices, { max_execution_time: 1, max_result_rows: 100 });
  tight = await startHttpServer(tightServices, serviceRoutes(), { host: '127.0.0.1', port: 0, token: TOKEN });
});

afterAll(async () => {
  await ch?.close();
  await http?.close();
  await tight?.close();
  await closeSqlEngines();
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('reads through @clickhouse/client', () => {
  it('runs ordinary queries with JSON formats and typed parameters', async () => {
    const rs = await ch.query({
      query: `SELECT source, toUInt32(sum(runs)) AS runs FROM failure_rates_weekly WHERE week = {week:Date} AND source IN {sources:Array(String)} GROUP BY source ORDER BY source`,
      query_params: { week: '2026-11-16', sources: ['tc', 'strait-prod'] },
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{ source: string; runs: number }>();
    expect(rows.map((r) => r.source)).toEqual(['strait-prod', 'tc']);
    expect(rows.every((r) => r.runs > 0)).toBe(true);
    const j = (await (await ch.query({ query: "SELECT count() AS n FROM runs", format: "JSON" })).json()) as unknown as { data: { n: string }[] };
    expect(Number(j.data[0].n)).toBeGreaterThan(100);
    expect(await ch.ping()).toMatchObject({ success: true });
  });

  it('sends hostile strings as parameters and gets them back unchanged', async () => {
    for (const s of ["'", '\\', "\\'", "'; DROP TABLE runs; --", 'tab\tnew\nline', 'ünï ✓ 🚀']) {
      const rows = await (await ch.query({ query: 'SELECT {s:String} AS s', query_params: { s }, format: 'JSONEachRow' })).json<{ s: string }>();
      expect(rows).toEqual([{ s }]);
    }
  });

  it('sees rows the writer adds while it serves', async () => {
    const count = async () => Number((await (await ch.query({ query: "SELECT count() AS n FROM runs WHERE source = 'late'", format: 'JSONEachRow' })).json<{ n: string }>())[0].n);
    expect(await count()).toBe(0);
    await wh.client.insert({ table: 'run_versions', format: 'JSONEachRow', values: [{ source: 'late', run_id: 'r1', status: 'running', synced_at: toCh(Date.now()), first_seen_at: toCh(Date.now()), version: 1 }] });
    expect(await count()).toBe(1);
  });

  it('reports ClickHouse errors as ClickHouse errors', async () => {
    await expect(ch.query({ query: 'SELECT * FROM no_such_table', format: 'JSONEachRow' })).rejects.toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
    await expect(ch.command({ query: 'DROP TABLE runs' })).rejects.toMatchObject({ code: '164', type: 'READONLY' });
  });
});

describe('ClickHouse HTTP interface', () => {
  it('takes the query from ?query= (GET) or the body, honours FORMAT and default_format', async () => {
    const get = await fetch(`${http.url}/?query=${encodeURIComponent('SELECT 1 AS a, 2 AS b')}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('1\t2\n');
    expect(get.headers.get('content-type')).toMatch(/tab-separated/);
    const fmt = await post('SELECT 1 AS a FORMAT JSONEachRow');
    expect(fmt.text).toBe('{"a":1}\n');
    expect(fmt.headers.get('x-clickhouse-format')).toBe('JSONEachRow');
    expect(fmt.headers.get('content-type')).toMatch(/application\/json/);
    const csv = await post('SELECT 1 AS a, \'x\' AS b', { default_format: 'CSVWithNames' });
    expect(csv.text).toBe('"a","b"\n1,"x"\n');
    const both = await fetch(`${http.url}/?query=${encodeURIComponent('SELECT 40 +')}`, { method: 'POST', body: '2 AS x FORMAT TSV', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await both.text()).toBe('42\n');
  });

  it('binds param_ values in ClickHouse text form and selects a database', async () => {
    const r = await post('SELECT {a:String} AS a, {n:UInt32} + 1 AS n, {xs:Array(String)} AS xs FORMAT JSONEachRow', { param_a: "it\\'s a\\ttab", param_n: '41', param_xs: "['p','q']" });
    expect(JSON.parse(r.text)).toEqual({ a: "it's a\ttab", n: 42, xs: ['p', 'q'] });
    const sys = await post('SELECT currentDatabase() AS d', { database: 'system' });
    expect(sys.text).toBe('system\n');
    const back = await post('SELECT count() > 0 FROM runs');
    expect(back.text).toBe('1\n');
    const none = await post('SELECT 1', { database: 'nope' });
    expect(none.status).toBe(404);
    expect(none.text).toMatch(/^Code: 81\. DB::Exception: .*\(UNKNOWN_DATABASE\)/);
    expect(decodeParamValue('a\\\\b\\nc')).toBe('a\\b\nc');
  });

  it('wants the bearer token when one is configured', async () => {
    const r = await post('SELECT 1', {}, null);
    expect(r.status).toBe(401);
    const wrong = await post('SELECT 1', {}, 'nope');
    expect(wrong.status).toBe(401);
    const ping = await fetch(`${http.url}/ping`);
    expect(await ping.text()).toBe('Ok.\n');
  });
});

describe('refusals', () => {
  const HOSTILE: [string, string, RegExp, number][] = [
    ['insert', "INSERT INTO run_versions (source, run_id) VALUES ('x', 'y')", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode.*write or DDL.*\(READONLY\)/, 403],
    ['insert select', 'INSERT INTO quarantine SELECT * FROM quarantine', /Code: 164\..*\(READONLY\)/, 403],
    ['drop', 'DROP TABLE run_versions', /Code: 164\..*\(READONLY\)/, 403],
    ['truncate', 'TRUNCATE TABLE runs', /Code: 164\..*\(READONLY\)/, 403],
    ['alter delete', 'ALTER TABLE run_versions DELETE WHERE 1', /Code: 164\..*\(READONLY\)/, 403],
    ['create', 'CREATE TABLE evil (a Int8) ENGINE = Memory', /Code: 164\..*\(READONLY\)/, 403],
    ['create view', 'CREATE VIEW evil AS SELECT 1', /Code: 164\..*\(READONLY\)/, 403],
    ['optimize', 'OPTIMIZE TABLE run_versions FINAL', /Code: 164\..*\(READONLY\)/, 403],
    ['set', 'SET readonly = 0', /Code: 164\..*control statement.*\(READONLY\)/, 403],
    ['set other', "SET max_memory_usage = 1", /Code: 164\..*\(READONLY\)/, 403],
    ['use', 'USE system', /Code: 164\..*\(READONLY\)/, 403],
    ['system', 'SYSTEM SHUTDOWN', /Code: 164\..*\(READONLY\)/, 403],
    ['kill', 'KILL QUERY WHERE 1', /Code: 164\..*\(READONLY\)/, 403],
    ['grant', 'GRANT ALL ON *.* TO default', /Code: 164\..*\(READONLY\)/, 403],
    ['into outfile', "SELECT 1 INTO OUTFILE '/tmp/runsync-evil.txt'", /Code: 164\..*\(READONLY\)/, 403],
    ['file()', "SELECT * FROM file('/etc/passwd', 'LineAsString')", /Code: 164\..*table function file\(\).*\(READONLY\)/, 403],
    ['url()', "SELECT * FROM url('http://127.0.0.1:1/x', 'CSV', 'a String')", /Code: 164\..*table function url\(\).*\(READONLY\)/, 403],
    ['s3()', "SELECT * FROM s3('http://127.0.0.1:1/b/k.csv', 'CSV', 'a String')", /Code: 164\..*table function s3\(\).*\(READONLY\)/, 403],
    ['remote()', "SELECT * FROM remote('127.0.0.1:1', system.one)", /Code: 164\..*table function remote\(\).*\(READONLY\)/, 403],
    ['executable()', "SELECT * FROM executable('id', 'TSV', 'a String')", /Code: 164\..*table function executable\(\).*\(READONLY\)/, 403],
    ['file() in a subquery', "SELECT count() FROM runs WHERE run_id IN (SELECT * FROM file('/etc/hostname', 'LineAsString'))", /Code: 164\..*table function file\(\).*\(READONLY\)/, 403],
    ['file() in a join', "SELECT * FROM runs AS r JOIN file('/etc/hostname', 'LineAsString') AS f ON 1", /Code: 164\..*table function file\(\).*\(READONLY\)/, 403],
    ['insert into function', "INSERT INTO FUNCTION file('/tmp/runsync-evil.csv', 'CSV', 'a String') SELECT 'x'", /Code: 164\..*\(READONLY\)/, 403],
    ['scalar file()', "SELECT file('/etc/passwd')", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: function file\(\).*\(READONLY\)/, 403],
    ['scalar file() as an oracle', "SELECT position(file('/proc/self/environ'), 'X') > 0", /Code: 164\..*function file\(\).*\(READONLY\)/, 403],
    ['file() inside view()', "SELECT * FROM view(SELECT file('/etc/hostname'))", /Code: 164\..*function file\(\).*\(READONLY\)/, 403],
    ['file() in a lambda', "SELECT arrayMap(x -> file('/etc/hostname'), [1])", /Code: 164\..*function file\(\).*\(READONLY\)/, 403],
    ['file() in a CTE', "WITH (SELECT file('/etc/hostname')) AS x SELECT x", /Code: 164\..*function file\(\).*\(READONLY\)/, 403],
    ['file() in WHERE', "SELECT count() FROM runs WHERE run_id = file('/etc/hostname')", /Code: 164\..*function file\(\).*\(READONLY\)/, 403],
    ['file() spelt with an escape', "SELECT `fi\\x6ce`('/etc/hostname')", /Code: 164\..*function file\(\).*\(READONLY\)/, 403],
    ['file() folded by EXPLAIN QUERY TREE', "EXPLAIN QUERY TREE SELECT file('/etc/hostname')", /Code: 164\..*function file\(\).*\(READONLY\)/, 403],
    ['file() folded by EXPLAIN PLAN', "EXPLAIN PLAN SELECT file('/etc/hostname')", /Code: 164\..*function file\(\).*\(READONLY\)/, 403],
    ['file() in SELECT FROM (EXPLAIN)', "SELECT * FROM (EXPLAIN QUERY TREE SELECT file('/etc/hostname'))", /Code: 164\..*function (viewExplain|file)\(\).*\(READONLY\)/, 403],
    ['DESCRIBE file()', "DESCRIBE file('/etc/passwd')", /Code: 164\..*table function file\(\).*\(READONLY\)/, 403],
    ['DESCRIBE of a subquery with file()', "DESCRIBE (SELECT file('/etc/hostname') AS x)", /Code: 164\..*function file\(\).*\(READONLY\)/, 403],
    ['SHOW COLUMNS … WHERE file()', "SHOW COLUMNS FROM runs WHERE position(file('/proc/self/environ'), 'X') > 0", /Code: 164\..*function file\(\).*\(READONLY\)/, 403],
    ['SHOW INDEX … WHERE file()', "SHOW INDEX FROM runs WHERE length(file('/etc/hostname')) > 0", /Code: 164\..*function file\(\).*\(READONLY\)/, 403],
    ['SHOW TABLES LIMIT file()', "SHOW TABLES LIMIT length(`fi\\x6ce`('/etc/hostname'))", /Code: 164\..*function file\(\).*\(READONLY\)/, 403],
    ['catboostEvaluate()', "SELECT catboostEvaluate('/etc/passwd', 1)", /Code: 164\..*function catboostEvaluate\(\).*\(READONLY\)/, 403],
    ['dictGet()', "SELECT dictGet('d', 'a', toUInt64(1))", /Code: 164\..*function dictGet\(\).*\(READONLY\)/, 403],
    ['VALUES spelt upper case still checked', "SELECT * FROM VALUES('a String', file('/etc/hostname'))", /Code: 164\..*function file\(\).*\(READONLY\)/, 403],
    ['EXPLAIN of an insert', 'EXPLAIN SYNTAX INSERT INTO run_versions SELECT * FROM run_versions', /Code: 164\..*explains SELECT queries only.*\(READONLY\)/, 403],
    ['EXPLAIN PIPELINE of an insert into file()', "EXPLAIN PIPELINE INSERT INTO FUNCTION file('/tmp/runsync-evil.csv', 'CSV', 'a String') SELECT 'x'", /Code: 164\..*\(READONLY\)/, 403],
    ['CHECK TABLE', 'CHECK TABLE runs', /Code: 164\..*SELECT, SHOW, DESCRIBE, EXISTS and EXPLAIN only.*\(READONLY\)/, 403],
    ['from infile', "INSERT INTO quarantine FROM INFILE '/etc/hostname' FORMAT CSV", /Code: 164\..*write or DDL.*\(READONLY\)/, 403],
    ['settings raising a limit', 'SELECT 1 SETTINGS max_execution_time = 0', /Code: 164\..*Cannot modify 'max_execution_time' setting in readonly mode.*\(READONLY\)/, 403],
    ['settings with file()', "SELECT file('/etc/hostname') SETTINGS max_threads = 64", /Code: 164\..*\(READONLY\)/, 403],
    ['a format reading a file', "SELECT 1 FORMAT Template SETTINGS format_template_resultset = '/etc/passwd'", /Code: 164\..*\(READONLY\)/, 403],
    ['an alias spanning lines', 'SELECT 1 AS `a\nb`', /Code: 164\..*could not be checked.*\(READONLY\)/, 403],
    ['unparsable', 'SELECT 1 FROM', /^Code: 62\. DB::Exception: Syntax error: failed at position.*\(SYNTAX_ERROR\)/, 400],
    ['only a comment', '-- nothing', /^Code: 62\..*\(SYNTAX_ERROR\)/, 400],
    ['multi-statement', 'SELECT 1; DROP TABLE run_versions', /^Code: 62\. DB::Exception: Multi-statements are not allowed.*\(SYNTAX_ERROR\)/, 400],
    ['two selects', 'SELECT 1; SELECT 2', /Code: 62\..*Multi-statements.*\(SYNTAX_ERROR\)/, 400],
    ['settings override', 'SELECT 1 SETTINGS readonly = 0', /Code: 164\..*\(READONLY\)/, 403],
    ['syntax', 'SELEC 1', /Code: 62\..*\(SYNTAX_ERROR\)/, 400],
    ['too large', `SELECT '${'x'.repeat(300_000)}'`, /Code: 62\..*Max query size exceeded.*\(SYNTAX_ERROR\)/, 400],
    ["settings in a subquery", "SELECT * FROM (SELECT getSetting('max_threads') SETTINGS max_threads = 64)", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: a SETTINGS clause is refused by runsync's SQL endpoint wherever it appears.*\(READONLY\)$/, 403],
    ["settings lifting the time limit in a subquery", "SELECT * FROM (SELECT getSetting('max_execution_time') SETTINGS max_execution_time = 0)", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: a SETTINGS clause is refused by runsync's SQL endpoint wherever it appears.*\(READONLY\)$/, 403],
    ["settings lowering a limit in a subquery", "SELECT count() FROM (SELECT number FROM numbers(10) SETTINGS max_execution_time = 1)", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: a SETTINGS clause is refused by runsync's SQL endpoint wherever it appears.*\(READONLY\)$/, 403],
    ["settings in a CTE", "WITH x AS (SELECT 1 SETTINGS max_threads = 64) SELECT * FROM x", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: a SETTINGS clause is refused by runsync's SQL endpoint wherever it appears.*\(READONLY\)$/, 403],
    ["settings in a scalar CTE", "WITH (SELECT getSetting('max_threads') SETTINGS max_threads = 64) AS t SELECT t", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: a SETTINGS clause is refused by runsync's SQL endpoint wherever it appears.*\(READONLY\)$/, 403],
    ["settings in an IN subquery", "SELECT 1 WHERE 1 IN (SELECT 1 SETTINGS max_threads = 64)", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: a SETTINGS clause is refused by runsync's SQL endpoint wherever it appears.*\(READONLY\)$/, 403],
    ["settings inside view()", "SELECT * FROM view(SELECT 1 SETTINGS max_threads = 64)", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: a SETTINGS clause is refused by runsync's SQL endpoint wherever it appears.*\(READONLY\)$/, 403],
    ["settings in a UNION arm", "SELECT 1 UNION ALL (SELECT 2 SETTINGS max_threads = 64)", /^Code: 164\. DB::Exception: (Cannot execute query in readonly mode: a SETTINGS clause is refused|Cannot modify 'max_threads' setting in readonly mode).*\(READONLY\)$/, 403],
    ["settings equal to the limit", "SELECT 1 SETTINGS max_execution_time = 60", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: a SETTINGS clause is refused by runsync's SQL endpoint wherever it appears.*\(READONLY\)$/, 403],
    ["settings under EXPLAIN", "EXPLAIN SELECT * FROM (SELECT 1 SETTINGS max_threads = 64)", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: a SETTINGS clause is refused by runsync's SQL endpoint wherever it appears.*\(READONLY\)$/, 403],
    ["system.processes", "SELECT query FROM system.processes", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: system\.processes is about the server, not the warehouse, and is refused.*\(READONLY\)$/, 403],
    ["system.errors", "SELECT name, last_error_message FROM system.errors", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: system\.errors is about the server, not the warehouse, and is refused.*\(READONLY\)$/, 403],
    ["system.disks", "SELECT path FROM system.disks", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: system\.disks is about the server, not the warehouse, and is refused.*\(READONLY\)$/, 403],
    ["system.query_log", "SELECT query FROM system.query_log", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: system\.query_log is about the server, not the warehouse, and is refused.*\(READONLY\)$/, 403],
    ["system.settings", "SELECT name, value FROM system.settings", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: system\.settings is about the server, not the warehouse, and is refused.*\(READONLY\)$/, 403],
    ["system.server_settings", "SELECT name, value FROM system.server_settings", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: system\.server_settings is about the server, not the warehouse, and is refused.*\(READONLY\)$/, 403],
    ["system.stack_trace", "SELECT * FROM system.stack_trace", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: system\.stack_trace is about the server, not the warehouse, and is refused.*\(READONLY\)$/, 403],
    ["system.mutations", "SELECT command FROM system.mutations", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: system\.mutations is about the server, not the warehouse, and is refused.*\(READONLY\)$/, 403],
    ["system.detached_parts", "SELECT * FROM system.detached_parts", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: system\.detached_parts is about the server, not the warehouse, and is refused.*\(READONLY\)$/, 403],
    ["system.build_options", "SELECT * FROM system.build_options", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: system\.build_options is about the server, not the warehouse, and is refused.*\(READONLY\)$/, 403],
    ["system.users", "SELECT * FROM system.users", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: system\.users is about the server, not the warehouse, and is refused.*\(READONLY\)$/, 403],
    ["system table quoted", "SELECT * FROM `system`.`processes`", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: system\.processes is about the server, not the warehouse, and is refused.*\(READONLY\)$/, 403],
    ["system table in a subquery", "SELECT count() FROM (SELECT * FROM system.processes)", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: system\.processes is about the server, not the warehouse, and is refused.*\(READONLY\)$/, 403],
    ["system table inside view()", "SELECT * FROM view(SELECT query FROM system.processes)", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: system\.processes is about the server, not the warehouse, and is refused.*\(READONLY\)$/, 403],
    ["system table on the right of IN", "SELECT 'x' IN system.errors", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: system\.errors is about the server, not the warehouse, and is refused.*\(READONLY\)$/, 403],
    ["system table in a join", "SELECT 1 FROM runs AS r JOIN system.errors AS e ON 1", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: system\.errors is about the server, not the warehouse, and is refused.*\(READONLY\)$/, 403],
    ["DESCRIBE system.processes", "DESCRIBE system.processes", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: system\.processes is about the server, not the warehouse, and is refused.*\(READONLY\)$/, 403],
    ["merge() over system", "SELECT * FROM merge('system', '^proc')", /^Code: 164\..*table function merge\(\) reads the tables of any database.*\(READONLY\)$/, 403],
    ["SHOW PROCESSLIST", "SHOW PROCESSLIST", /^Code: 164\..*SHOW PROCESSLIST is about the server.*\(READONLY\)$/, 403],
    ["SHOW SETTINGS", "SHOW SETTINGS LIKE '%path%'", /^Code: 164\..*SHOW SETTINGS is about the server.*\(READONLY\)$/, 403],
    ["SHOW MERGES", "SHOW MERGES", /^Code: 164\..*SHOW MERGES is about the server.*\(READONLY\)$/, 403],
    ["* on system.tables (file paths)", "SELECT * FROM system.tables", /^Code: 164\..*\* on system\.tables would read the server's file paths.*\(READONLY\)$/, 403],
    ["system table under an alias", "SELECT p.query FROM system.processes AS p", /^Code: 164\..*system\.processes is about the server.*\(READONLY\)$/, 403],
    ["a path column under an alias", "SELECT path AS p FROM system.parts AS t", /^Code: 164\..*column path holds the server's file paths.*\(READONLY\)$/, 403],
    ["system.tables.data_paths", "SELECT name, data_paths FROM system.tables", /^Code: 164\..*column data_paths holds the server's file paths.*\(READONLY\)$/, 403],
    ["system.parts.path", "SELECT table, path FROM system.parts", /^Code: 164\..*column path holds the server's file paths.*\(READONLY\)$/, 403],
    ["system.databases.data_path", "SELECT data_path FROM system.databases", /^Code: 164\..*column data_path holds.*\(READONLY\)$/, 403],
    ["getServerSetting()", "SELECT getServerSetting('path')", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: function getServerSetting\(\) tells about the server.*\(READONLY\)$/, 403],
    ["hostName()", "SELECT hostName()", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: function hostName\(\) tells about the server.*\(READONLY\)$/, 403],
    ["fqdn()", "SELECT fqdn()", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: function fqdn\(\) tells about the server.*\(READONLY\)$/, 403],
    ["filesystemAvailable()", "SELECT filesystemAvailable()", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: function filesystemAvailable\(\) tells about the server.*\(READONLY\)$/, 403],
    ["logTrace()", "SELECT logTrace('forged line')", /^Code: 164\. DB::Exception: Cannot execute query in readonly mode: function logTrace\(\) tells about the server.*\(READONLY\)$/, 403],
  ];

  it.each(HOSTILE)('refuses %s', async (_name, query, message, status) => {
    const r = await post(query);
    // The first line is the whole answer: one ClickHouse error line.
    expect(r.text.split('\n')[0]).toMatch(message);
    expect(r.status).toBe(status);
    expect(r.headers.get('x-clickhouse-exception-code')).toBe(/Code: (\d+)/.exec(r.text)![1]);
  });

  it('refuses server tables named without their database when database=system', async () => {
    for (const q of ['SELECT query FROM processes', "SELECT 'x' IN errors", 'DESCRIBE TABLE query_log']) {
      const r = await post(q, { database: 'system' });
      expect([q, r.status, r.text.split('\n')[0]]).toEqual([q, 403, expect.stringMatching(/^Code: 164\. DB::Exception: Cannot execute query in readonly mode: system\.(processes|errors|query_log) is about the server, not the warehouse.*\(READONLY\)$/)]);
    }
    const ok = await post("SELECT name FROM tables WHERE database = 'default' AND name = 'runs'", { database: 'system' });
    expect([ok.status, ok.text]).toEqual([200, 'runs\n']);
  });

  it('refuses every table function outside the safe list, in FROM and as a scalar', async () => {
    const names = (await (await wh.client.query({ query: 'SELECT name FROM system.table_functions ORDER BY name', format: 'JSONEachRow' })).json<{ name: string }>()).map((r) => r.name);
    expect(names.length).toBeGreaterThan(30);
    const unsafe = names.filter((n) => !isSafeTableFunction(n));
    for (const n of ['file', 'url', 's3', 's3Cluster', 'gcs', 'hdfs', 'azureBlobStorage', 'remote', 'remoteSecure', 'cluster', 'clusterAllReplicas', 'mysql', 'postgresql', 'mongodb', 'redis', 'sqlite', 'jdbc', 'odbc', 'executable', 'input', 'dictionary', 'iceberg', 'icebergS3', 'deltaLake', 'hudi', 'urlCluster', 'eval', 'filesystem', 'fuzzJSON']) {
      if (names.includes(n)) expect(unsafe).toContain(n);
    }
    for (const n of unsafe) {
      const r = await post(`SELECT * FROM ${n}('x')`);
      expect([n, r.status, r.text]).toEqual([n, 403, expect.stringMatching(new RegExp(`^Code: 164\\..*table function ${n}\\(\\)`))]);
      // Named too, so that a call outside FROM (or in SHOW … WHERE) is caught.
      expect([n, isRefusedFunction(n)]).toEqual([n, true]);
    }
    for (const n of ['file', 'url', 'remote', 'executable', 'executablePool', 'icebergLocal', 'deltaLakeS3', 'hudiCluster', 'dictGetString', 'addressToLine']) {
      const r = await post(`SELECT ${n}('x')`);
      expect([n, r.status, r.text]).toEqual([n, 403, expect.stringMatching(new RegExp(`^Code: 164\\..*function ${n}\\(\\)`))]);
    }
  });

  it('still runs what analysts and BI tools send', async () => {
    const ok = async (q: string) => {
      const r = await post(q);
      expect([q, r.status, r.text]).toEqual([q, 200, expect.any(String)]);
      return r.text;
    };
    expect(await ok("SELECT * FROM VALUES('a Int8', 1, 2)")).toBe('1\n2\n');
    expect(await ok('SELECT * FROM (VALUES (1, 2))')).toBe('1\t2\n');
    expect(await ok('SELECT arrayMap(x -> x + 1, [1, 2])')).toBe('[2,3]\n');
    expect(await ok("SELECT 'file(' AS s, formatQuery('SELECT file(1)') AS q")).toBe("file(\tSELECT file(1)\n");
    expect(await ok('SELECT count() FROM numbers(10) AS n JOIN view(SELECT 1 AS k) AS v ON 1')).toBe('10\n');
    expect(await ok('SHOW TABLES')).toMatch(/^runs$/m);
    expect(await ok("SHOW COLUMNS FROM runs WHERE field LIKE 'run_%' LIMIT 1")).toMatch(/^run_id\t/);
    expect(await ok('DESCRIBE runs')).toMatch(/^source\t/m);
    expect(await ok('EXISTS runs')).toBe('1\n');
    expect(await ok('EXPLAIN SYNTAX SELECT count() FROM runs')).toMatch(/SELECT count\(\)/);
    expect(await ok('EXPLAIN SELECT 1 UNION ALL SELECT 2')).toMatch(/Union/);
    expect(await ok('EXPLAIN header = 1 SELECT 1')).toMatch(/Header/);
    // What an analyst reads of the server: the warehouse's tables, columns, parts and sizes, the dialect.
    expect(await ok("SELECT name, engine FROM system.tables WHERE database = 'default' AND name = 'runs'")).toMatch(/^runs\t/);
    expect(await ok("SELECT table, sum(bytes_on_disk) > 0 FROM system.parts WHERE database = 'default' AND active GROUP BY table ORDER BY table LIMIT 1")).toMatch(/\t1\n$/);
    expect(await ok("SELECT name, type FROM system.columns WHERE database = 'default' AND table = 'runs' AND name = 'run_id'")).toMatch(/^run_id\t/);
    expect(await ok("SELECT count() > 0 FROM system.parts_columns WHERE database = 'default'")).toBe('1\n');
    expect(await ok("SELECT count() > 100 FROM system.functions")).toBe('1\n');
    expect(await ok("SELECT name FROM system.data_type_families WHERE name = 'UInt8'")).toBe('UInt8\n');
    expect(await ok("SELECT name FROM system.databases WHERE name = 'default'")).toBe('default\n');
    expect(await ok("SELECT t.name FROM system.tables AS t WHERE t.database = 'default' AND t.name = 'runs'")).toBe('runs\n');
    expect(await ok('SHOW DATABASES')).toMatch(/^default$/m);
    expect(await ok("SELECT getSetting('readonly')")).toBe('1\n');
    expect(calledFunctions("SELECT f(1), 'g(2)', `h` (3), x FROM y WHERE 'it\\'s' = k('a''b')")).toEqual(['f', 'h', 'k']);
  });

  it('left every table as it was', async () => {
    const tables = await (await wh.client.query({ query: "SELECT name FROM system.tables WHERE database = 'default' AND name IN ('run_versions', 'runs', 'evil') ORDER BY name", format: 'JSONEachRow' })).json<{ name: string }>();
    expect(tables.map((t) => t.name)).toEqual(['run_versions', 'runs']);
    const n = await (await wh.client.query({ query: "SELECT count() AS n FROM run_versions WHERE source = 'x'", format: 'JSONEachRow' })).json<{ n: string }>();
    expect(Number(n[0].n)).toBe(0);
    // The writer is still a writer.
    await wh.client.command({ query: "INSERT INTO inbox (source, run_id, added_at, version) VALUES ('s', 'r', now64(3), 1)" });
  });
});

describe('HTTP edges', () => {
  const first = (text: string) => text.split('\n')[0];

  it('answers a body over 1 MiB with 413 and a ClickHouse error, not a reset', async () => {
    for (const size of [(1 << 20) + 1, 8 << 20]) {
      const res = await fetch(`${http.url}/`, { method: 'POST', body: Buffer.alloc(size, 0x20), headers: { authorization: `Bearer ${TOKEN}` } });
      expect([size, res.status]).toEqual([size, 413]);
      expect(first(await res.text())).toMatch(/^Code: 62\. DB::Exception: Max query size exceeded: request body larger than 1048576 bytes\. \(SYNTAX_ERROR\)$/);
    }
    expect((await post('SELECT 1')).text).toBe('1\n');
  });

  it('answers a malformed percent-escape in the path with 400', async () => {
    for (const path of ['/%zz', '/sources/%E0%A4%A/runs', '/%']) {
      const res = await fetch(`${http.url}${path}?query=SELECT%201`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
      expect([path, res.status]).toEqual([path, 400]);
      expect(JSON.parse(first(await res.text())).error).toBe(`malformed percent-escape in the path ${JSON.stringify(path)}`);
    }
  });

  it('takes the bearer scheme in any case', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      const res = await fetch(`${http.url}/?query=SELECT%201`, { headers: { authorization: `${scheme} ${TOKEN}` } });
      expect([scheme, res.status, await res.text()]).toEqual([scheme, 200, '1\n']);
    }
    const wrong = await fetch(`${http.url}/?query=SELECT%201`, { headers: { authorization: `bearer nope` } });
    expect(wrong.status).toBe(401);
  });

  it('answers methods it does not serve with 405 and Allow', async () => {
    const put = await fetch(`${http.url}/`, { method: 'PUT', body: 'SELECT 1', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST');
    expect(first(await put.text())).toMatch(/^Code: 1\. DB::Exception: HTTP method PUT is not supported: the SQL endpoint takes GET and POST\. \(UNSUPPORTED_METHOD\)$/);
    for (const [method, path, allow] of [['DELETE', '/', 'GET, POST'], ['POST', '/ping', 'GET'], ['PUT', '/dashboard', 'GET'], ['GET', '/sources/dx/runs', 'POST']]) {
      const res = await fetch(`${http.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
      expect([method, path, res.status, res.headers.get('allow')]).toEqual([method, path, 405, allow]);
      await res.text();
    }
    // The dashboard still answers GET /.
    const dash = await fetch(`${http.url}/`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect([dash.status, (await dash.text()).slice(0, 15)]).toEqual([200, '<!doctype html>']);
  });

  it('answers CR, LF or NUL in query_id and other parameters with 400', async () => {
    for (const [k, v] of [['query_id', 'a\r\nX-Injected: 1'], ['query_id', 'a\nb'], ['default_format', 'TSV\n'], ['database', 'default\u0000'], ['query_id', 'x'.repeat(200)]]) {
      const u = new URL(http.url + '/');
      u.searchParams.set('query', 'SELECT 1');
      u.searchParams.set(k, v);
      const res = await fetch(u, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect([k, res.status]).toEqual([k, 400]);
      expect(first(await res.text())).toMatch(/^Code: 36\. DB::Exception: (URL parameter "\w+" contains a control character|query_id is longer than 128 characters).*\(BAD_ARGUMENTS\)$/);
    }
    // A query and param_ values may hold newlines.
    const ok = await post('SELECT {s:String}\n', { param_s: 'a\\nb', query_id: 'my-query-1' });
    expect([ok.status, ok.text, ok.headers.get('x-clickhouse-query-id')]).toEqual([200, 'a\\nb\n', 'my-query-1']);
  });
});

describe('execution limits', () => {
  it('sets them on the read-only connection, where a query cannot raise them', async () => {
    const r = await post("SELECT getSetting('max_execution_time'), getSetting('max_result_rows'), getSetting('max_threads'), getSetting('readonly') FORMAT JSONEachRow");
    // Alone, a query runs in the long lane (under load it starts in the short one, stopped at 0.5 s: sql-load.test.ts).
    expect(Object.values(JSON.parse(r.text)).map(String)).toEqual([String(DEFAULT_QUERY_LIMITS.max_execution_time), String(DEFAULT_QUERY_LIMITS.max_result_rows), String(DEFAULT_QUERY_LIMITS.max_threads), '1']);
    for (const s of ['max_execution_time = 0', 'max_rows_to_read = 0', 'max_memory_usage = 0', 'max_threads = 64', 'readonly = 0']) {
      const raised = await post(`SELECT count() FROM numbers(10) SETTINGS ${s}`);
      expect([s, raised.status, raised.text]).toEqual([s, 403, expect.stringMatching(/^Code: 164\..*Cannot modify '.*' setting in readonly mode.*\(READONLY\)/)]);
    }
  });

  it('lets a query choose how 64-bit integers are printed, and nothing else', async () => {
    const ok = await post('SELECT toUInt64(1) AS n FROM (SELECT 1) SETTINGS output_format_json_quote_64bit_integers = 0 FORMAT JSONEachRow');
    expect([ok.status, ok.text]).toEqual([200, '{"n":1}\n']);
    const mixed = await post('SELECT 1 SETTINGS output_format_json_quote_64bit_integers = 0, max_threads = 64');
    expect([mixed.status, mixed.text.split('\n')[0]]).toEqual([403, expect.stringMatching(/^Code: 164\..*(SETTINGS clause is refused|Cannot modify 'max_threads')/)]);
    const inner = await post('SELECT * FROM (SELECT 1 SETTINGS output_format_json_quote_64bit_integers = 0, max_execution_time = 0)');
    expect([inner.status, inner.text.split('\n')[0]]).toEqual([403, expect.stringMatching(/^Code: 164\..*SETTINGS clause is refused/)]);
  });

  it('refuses a scan of ten trillion rows at once and keeps serving', async () => {
    const started = Date.now();
    const r = await post('SELECT count() FROM numbers_mt(1e13)');
    expect(r.text).toMatch(/^Code: 158\. DB::Exception: Limit for rows \(controlled by 'max_rows_to_read' setting\) exceeded.*\(TOO_MANY_ROWS\)/);
    expect(r.status).toBe(500);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await post('SELECT 1')).text).toBe('1\n');
  });

  it('stops a runaway query at max_execution_time and keeps serving', async () => {
    const started = Date.now();
    const r = await post('SELECT count() FROM numbers(5e9) WHERE NOT ignore(sipHash64(number))', {}, TOKEN, tight);
    expect(r.text).toMatch(/^Code: 159\. DB::Exception: Timeout exceeded: elapsed .* maximum: 1000 ms.*\(TIMEOUT_EXCEEDED\)/);
    expect(r.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect((await post('SELECT 1', {}, TOKEN, tight)).text).toBe('1\n');
  });

  it('refuses a result larger than max_result_rows rather than cutting it short', async () => {
    const r = await post('SELECT number FROM numbers(1000)', {}, TOKEN, tight);
    expect(r.text).toMatch(/^Code: 396\. DB::Exception: Limit for result exceeded.*\(TOO_MANY_ROWS_OR_BYTES\)/);
    expect((await post('SELECT number FROM numbers(100) FORMAT JSONEachRow', {}, TOKEN, tight)).text.split('\n').length).toBe(101);
  });
});
