import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { openWarehouse, type Warehouse } from '../../warehouse/client.js';
import { migrate } from '../../warehouse/migrate.js';
import { startHttpServer } from '../../server/app.js';
import { serviceRoutes } from '../../server/routes.js';
import { closeSqlEngines, decodeParamValue } from '../../server/sql-endpoint.js';
import type { Services } from '../../runtime/services.js';
import { parseConfig } from '../../config/load.js';
import { buildFixtures, insertFixtures } from './fixtures.js';
import { toCh } from '../../core/time.js';

const TOKEN = 'test-token-5b1f';
let dir: string;
let wh: Warehouse;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let ch: ClickHouseClient;

async function post(query: string, params: Record<string, string> = {}, token: string | null = TOKEN) {
  const u = new URL(http.url + '/');
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
});

afterAll(async () => {
  await ch?.close();
  await http?.close();
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
    ['multi-statement', 'SELECT 1; DROP TABLE run_versions', /^Code: 62\. DB::Exception: Multi-statements are not allowed.*\(SYNTAX_ERROR\)/, 400],
    ['two selects', 'SELECT 1; SELECT 2', /Code: 62\..*Multi-statements.*\(SYNTAX_ERROR\)/, 400],
    ['settings override', 'SELECT 1 SETTINGS readonly = 0', /Code: 164\..*\(READONLY\)/, 403],
    ['syntax', 'SELEC 1', /Code: 62\..*\(SYNTAX_ERROR\)/, 400],
    ['too large', `SELECT '${'x'.repeat(300_000)}'`, /Code: 62\..*Max query size exceeded.*\(SYNTAX_ERROR\)/, 400],
  ];

  it.each(HOSTILE)('refuses %s', async (_name, query, message, status) => {
    const r = await post(query);
    expect(r.text).toMatch(message);
    expect(r.status).toBe(status);
    expect(r.headers.get('x-clickhouse-exception-code')).toBe(/Code: (\d+)/.exec(r.text)![1]);
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
