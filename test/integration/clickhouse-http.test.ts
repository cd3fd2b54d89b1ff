/**
 * The HTTP (CLICKHOUSE_URL) path, end to end through @clickhouse/client's HTTP transport.
 * The server it talks to is a STAND-IN FOR A CLICKHOUSE SERVER (test/helpers/clickhouse-standin.ts):
 * ClickHouse's HTTP interface in front of the real ClickHouse engine (chDB).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { startClickHouseStandin, type ClickHouseStandin } from '../helpers/clickhouse-standin.js';
import { openWarehouse, type Warehouse } from '../../warehouse/client.js';
import { MIGRATIONS_DIR, bookkeepingStatements, migrate } from '../../warehouse/migrate.js';
import { startStraitSimulator, type StraitSimulator, type StraitRun } from '../../simulators/strait.js';
import { simSource, startHarness, type Harness } from '../helpers/harness.js';
import { chTime, runsAgainstTruth } from '../helpers/compare.js';
import { buildFixtures, insertFixtures, NOW } from '../analytics/fixtures.js';
import { generateReport, parseIsoWeek } from '../../report/index.js';
import { startHttpServer } from '../../server/app.js';
import { serviceRoutes } from '../../server/routes.js';
import { closeSqlEngines } from '../../server/sql-endpoint.js';
import { parseConfig } from '../../config/load.js';
import type { Services } from '../../runtime/services.js';

const WRITER = { user: 'runsync', password: 'writer-pw-3c9' };
const BI = { user: 'bi', password: 'bi-pw-71a' };
const FILES = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort();

let dir: string;
let standin: ClickHouseStandin;
let env: NodeJS.ProcessEnv;
const opened: { close(): Promise<void> }[] = [];

async function warehouseIn(database: string, extra: NodeJS.ProcessEnv = {}): Promise<Warehouse> {
  const admin = createClient({ url: standin.url, username: WRITER.user, password: WRITER.password });
  await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  await admin.close();
  const wh = await openWarehouse({ dataDir: dir, env: { ...env, CLICKHOUSE_DATABASE: database, ...extra } });
  opened.push(wh);
  return wh;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-http-'));
  standin = await startClickHouseStandin({
    path: join(dir, 'server'),
    users: { [WRITER.user]: { password: WRITER.password }, [BI.user]: { password: BI.password, readonly: true } },
  });
  env = { CLICKHOUSE_URL: standin.url, CLICKHOUSE_USER: WRITER.user, CLICKHOUSE_PASSWORD: WRITER.password };
});

afterAll(async () => {
  await closeSqlEngines();
  for (const o of opened.reverse()) await o.close().catch(() => undefined);
  await standin?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the stand-in speaks ClickHouse HTTP', () => {
  it('authenticates by basic auth, headers or parameters, and refuses a wrong password with code 516', async () => {
    const ok = await fetch(`${standin.url}/?query=${encodeURIComponent('SELECT 1')}`, { headers: { 'X-ClickHouse-User': BI.user, 'X-ClickHouse-Key': BI.password } });
    expect([ok.status, await ok.text()]).toEqual([200, '1\n']);
    const basic = await fetch(`${standin.url}/`, { method: 'POST', body: 'SELECT 2', headers: { authorization: `Basic ${Buffer.from(`${WRITER.user}:${WRITER.password}`).toString('base64')}` } });
    expect(await basic.text()).toBe('2\n');
    const bad = await fetch(`${standin.url}/?user=bi&password=nope`, { method: 'POST', body: 'SELECT 1' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('x-clickhouse-exception-code')).toBe('516');
    const c = createClient({ url: standin.url, username: BI.user, password: 'wrong' });
    await expect(c.query({ query: 'SELECT 1' })).rejects.toMatchObject({ code: '516' });
    await c.close();
  });

  it('takes param_*, database, default_format and settings from the URL', async () => {
    const u = new URL(standin.url);
    u.search = new URLSearchParams({ user: WRITER.user, password: WRITER.password, database: 'system', default_format: 'JSONEachRow', param_s: "it\\'s\\ttab", param_a: "['x','y\\'z']" }).toString();
    const r = await fetch(u, { method: 'POST', body: 'SELECT currentDatabase() AS db, {s:String} AS s, {a:Array(String)} AS a' });
    expect(r.headers.get('x-clickhouse-format')).toBe('JSONEachRow');
    expect(JSON.parse(await r.text())).toEqual({ db: 'system', s: "it's\ttab", a: ['x', "y'z"] });
    u.search = new URLSearchParams({ user: WRITER.user, password: WRITER.password, max_result_rows: '5', result_overflow_mode: 'throw' }).toString();
    const limited = await fetch(u, { method: 'POST', body: 'SELECT number FROM numbers(100)' });
    expect(limited.status).toBe(500);
    expect(limited.headers.get('x-clickhouse-exception-code')).toBe('396');
    u.search = new URLSearchParams({ user: WRITER.user, password: WRITER.password, database: 'nope' }).toString();
    const unknown = await fetch(u, { method: 'POST', body: 'SELECT 1' });
    expect([unknown.status, unknown.headers.get('x-clickhouse-exception-code')]).toEqual([404, '81']);
  });

  it('keeps the bi user read-only (code 164, HTTP 403) and GET requests read-only', async () => {
    const bi = createClient({ url: standin.url, username: BI.user, password: BI.password });
    await expect(bi.command({ query: 'CREATE TABLE t_bi (a UInt8) ENGINE = Memory' })).rejects.toMatchObject({ code: '164' });
    await expect(bi.query({ query: "SELECT * FROM file('/etc/hostname', 'LineAsString')" })).rejects.toMatchObject({ code: '164' });
    await bi.close();
    const get = await fetch(`${standin.url}/?user=${WRITER.user}&password=${WRITER.password}&query=${encodeURIComponent('CREATE TABLE t_get (a UInt8) ENGINE = Memory')}`);
    expect([get.status, get.headers.get('x-clickhouse-exception-code')]).toEqual([403, '164']);
  });
});

describe('migrations over HTTP', () => {
  it('apply once, then find nothing to do', async () => {
    const wh = await warehouseIn('mig_once');
    expect(wh.kind).toBe('http');
    expect(await migrate(wh.client)).toEqual(FILES);
    expect(await migrate(wh.client)).toEqual([]);
    const tables = await (await wh.client.query({ query: 'SELECT name FROM system.tables WHERE database = currentDatabase()', format: 'JSONEachRow' })).json<{ name: string }>();
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['run_versions', 'runs', 'sync_health', 'reports', 'schema_migrations']));
  });

  it('several migrators started together apply each migration exactly once', async () => {
    const migrators = await Promise.all(Array.from({ length: 4 }, () => warehouseIn('mig_race')));
    const results = await Promise.all(migrators.map((w) => migrate(w.client, { settleMs: 300 })));
    // Exactly one migrator applied everything, the others found it done.
    expect(results.flat().sort()).toEqual(FILES);
    expect(results.filter((r) => r.length > 0)).toHaveLength(1);
    const recorded = await (await migrators[0].client.query({ query: 'SELECT name, toUInt32(count()) AS n FROM schema_migrations GROUP BY name ORDER BY name', format: 'JSONEachRow' })).json<{ name: string; n: number }>();
    expect(recorded).toEqual(FILES.map((name) => ({ name, n: 1 })));
    // The latest definition of each view won: `runs` has 0005's workflow_name column.
    const cols = await (await migrators[1].client.query({ query: "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'runs'", format: 'JSONEachRow' })).json<{ name: string }>();
    expect(cols.map((c) => c.name)).toContain('workflow_name');
  });
  it('a migrator stopped by a signal stops between statements and releases its lock: the next one does not wait', async () => {
    const wh = await warehouseIn('mig_stop');
    const stop = new AbortController();
    let statements = 0;
    // Stops after a few statements have run, as a signal during a start would.
    const counting = new Proxy(wh.client, {
      get(target, prop, receiver) {
        if (prop === 'command') return (params: Parameters<ClickHouseClient['command']>[0]) => {
          if (++statements === 6) stop.abort(new Error('stopped by SIGTERM'));
          return target.command(params);
        };
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    await expect(migrate(counting, { signal: stop.signal, settleMs: 0 })).rejects.toThrow('stopped by SIGTERM');
    expect(statements).toBe(6); // none after the signal
    const live = await (await wh.client.query({ query: 'SELECT owner FROM schema_migrations_lock GROUP BY owner HAVING max(released) = 0', format: 'JSONEachRow' })).json();
    expect(live).toEqual([]);
    const t0 = Date.now();
    const applied = await migrate(wh.client, { settleMs: 0, waitMs: 5_000 });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(applied.length).toBeGreaterThan(0);
    expect(await migrate(wh.client)).toEqual([]);
  });

  it('an exclusive migrator (embedded chDB) takes no lock, so a ticket left by a killed one is no wait', async () => {
    const wh = await warehouseIn('mig_excl');
    for (const query of bookkeepingStatements()) await wh.client.command({ query });
    // A live ticket of a migrator that was killed (lease 10 minutes).
    await wh.client.insert({ table: 'schema_migrations_lock', values: [{ owner: 'killed-migrator' }], format: 'JSONEachRow' });
    await expect(migrate(wh.client, { settleMs: 0, waitMs: 1_000 })).rejects.toThrow(/killed-migrator/);
    expect(await migrate(wh.client, { exclusive: true })).toEqual(FILES);
  });
});

describe('a sync, the report and the SQL endpoint over HTTP', () => {
  let sim: StraitSimulator;
  let h: Harness;
  const SOURCE = 'strait-http';

  beforeAll(async () => {
    sim = await startStraitSimulator({ seed: 5, initialRuns: 120, runsPerHour: 20, start: Date.now() - 3_600_000 });
    const admin = createClient({ url: standin.url, username: WRITER.user, password: WRITER.password });
    await admin.command({ query: 'CREATE DATABASE IF NOT EXISTS synced' });
    await admin.close();
    const { source, env: tokens } = simSource(sim, { name: SOURCE, options: { projectId: 'proj_demo' } });
    h = await startHarness({ sources: [source], env: tokens, warehouseEnv: { ...env, CLICKHOUSE_DATABASE: 'synced' } });
  });

  afterAll(async () => {
    await h?.close();
    await sim?.close();
  });

  it('a full sync lands exactly the simulator runs, and a second one duplicates nothing', async () => {
    expect(h.warehouse.kind).toBe('http');
    const before = standin.requests.length;
    const res = await h.sync(SOURCE);
    expect(standin.requests.length).toBeGreaterThan(before);
    const truth = sim.truth();
    const { runs, truthOf } = await runsAgainstTruth<StraitRun>(h, SOURCE, truth.runs, (r) => r.id);
    expect(res.counts.runs_new).toBe(truth.runs.length);
    for (const row of runs) {
      const t = truthOf(row);
      expect([row.workflow_id, row.provider_status, row.created_at, row.finished_at]).toEqual([t.workflow_id, t.status, chTime(t.created_at), chTime(t.finished_at)]);
    }
    const again = await h.sync(SOURCE);
    expect(again.counts.runs_new).toBe(0);
    const [n] = await h.query<{ n: string }>('SELECT count() AS n FROM runs WHERE source = {s:String}', { s: SOURCE });
    expect(Number(n.n)).toBe(truth.runs.length);
  });

  it('the report over HTTP equals the report from the same data read by the engine directly', async () => {
    // The default database: the in-process reference connection below reads it without a USE.
    const wh = await warehouseIn('default');
    await migrate(wh.client);
    await insertFixtures(wh.client, buildFixtures());
    const overHttp = await generateReport(wh.client, { week: parseIsoWeek('2026-W47'), now: NOW, format: 'md' });
    // The same data directory opened in-process (chDB allows several connections to one path in a process).
    const direct = createClient({ connection: (await import('chdb/connection')).createChdbConnection({ path: join(dir, 'server') }) } as Parameters<typeof createClient>[0]);
    const embedded = await generateReport(direct, { week: parseIsoWeek('2026-W47'), now: NOW, format: 'md' });
    await direct.close();
    expect(overHttp.data.overall.runs).toBeGreaterThan(0);
    expect(overHttp.body).toBe(embedded.body);
  });

  it("the SQL endpoint forwards to the server as the bi user, with the client's database", async () => {
    const wh = await warehouseIn('synced', { CLICKHOUSE_BI_USER: BI.user, CLICKHOUSE_BI_PASSWORD: BI.password });
    const services = { config: parseConfig({ dataDir: dir }), dataDir: dir, warehouse: wh } as unknown as Services;
    const server = await startHttpServer(services, serviceRoutes(), { host: '127.0.0.1', port: 0, token: 'tok-http-1' });
    opened.push(server);
    const analyst = (database?: string): ClickHouseClient => createClient({ url: server.url, access_token: 'tok-http-1', ...(database ? { database } : {}) });
    const a = analyst('synced');
    const before = standin.requests.length;
    const rows = await (await a.query({ query: 'SELECT currentDatabase() AS db, toUInt32(count()) AS n FROM runs WHERE source = {s:String}', query_params: { s: SOURCE }, format: 'JSONEachRow' })).json<{ db: string; n: number }>();
    expect(rows).toEqual([{ db: 'synced', n: sim.truth().runs.length }]);
    const forwarded = standin.requests.slice(before);
    expect(forwarded.length).toBeGreaterThan(0);
    expect(forwarded.every((r) => r.user === BI.user && r.params.database === 'synced')).toBe(true);
    // Another database, named by the analyst's client, reaches the server as such.
    // (Without a database, the deployment's CLICKHOUSE_DATABASE is used, as a server uses the user's default.)
    const fx = analyst('mig_once');
    const [w] = await (await fx.query({ query: "SELECT currentDatabase() AS db, toUInt32(count()) AS n FROM system.tables WHERE database = currentDatabase() AND name = 'run_versions'", format: 'JSONEachRow' })).json<{ db: string; n: number }>();
    expect(w).toEqual({ db: 'mig_once', n: 1 });
    expect(standin.requests.at(-1)).toMatchObject({ user: BI.user, params: { database: 'mig_once' } });
    // Writes are refused, by the endpoint and by the server's read-only user alike.
    await expect(a.command({ query: 'DROP TABLE run_versions' })).rejects.toMatchObject({ code: '164' });
    const [still] = await h.query<{ n: string }>('SELECT count() AS n FROM run_versions');
    expect(Number(still.n)).toBeGreaterThan(0);
    await a.close();
    await fx.close();
  });
});
