import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openWarehouse, type Warehouse } from '../../warehouse/client.js';
import { migrate } from '../../warehouse/migrate.js';
import { at, clickhouseTypeOf, warehouseDb, type WarehouseDb } from '../../warehouse/kysely.js';
import { toCh } from '../../core/time.js';

const HOSTILE = [
  "'",
  '\\',
  "\\'",
  "'\\",
  "x\\",
  "'; DROP TABLE run_versions; --",
  "\\'; DROP TABLE run_versions; --",
  "' OR 1=1 --",
  '{p1:String}',
  '`runs`',
  '"quoted"',
  'tab\there\nnewline\r\0nul',
  'ünïcødé ✓ 日本語 🚀',
  "') UNION ALL SELECT name FROM system.tables --",
];

let dir: string;
let wh: Warehouse;
let db: WarehouseDb;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-'));
  wh = await openWarehouse({ dataDir: dir });
  await migrate(wh.client);
  db = warehouseDb(wh.client);
  await wh.client.insert({
    table: 'run_versions',
    format: 'JSONEachRow',
    values: HOSTILE.map((s, i) => ({
      source: 'hostile',
      run_id: s,
      provider: 'strait',
      workflow_id: `wf-${i}`,
      workflow_name: s,
      status: 'failed',
      is_terminal: 1,
      finished_at: toCh(Date.UTC(2026, 10, 17, 12)),
      synced_at: toCh(Date.now()),
      first_seen_at: toCh(Date.now()),
      version: 1,
    })),
  });
});

afterAll(async () => {
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Kysely dialect', () => {
  it('compiles every value to a typed server-side parameter, never into the SQL text', () => {
    const q = db
      .selectFrom('runs')
      .select(['run_id'])
      .where('run_id', '=', "'; DROP TABLE x; --")
      .where('finished_at', '>=', at(0))
      .where('is_test', '=', 0)
      .where('run_id', 'in', ['a', 'b'])
      .compile();
    expect(q.sql).toBe(
      "select `run_id` from `runs` where `run_id` = {p1:String} and `finished_at` >= {p2:DateTime64(3, 'UTC')} and `is_test` = {p3:Int64} and `run_id` in ({p4:String}, {p5:String})",
    );
    expect(q.sql).not.toContain('DROP');
    const lit = sql`SELECT ${sql.lit("it's")} AS x`.compile(db);
    expect(lit.sql).toBe('SELECT {p1:String} AS x');
  });

  it('infers ClickHouse types from JS values', () => {
    expect(clickhouseTypeOf('x')).toBe('String');
    expect(clickhouseTypeOf(3)).toBe('Int64');
    expect(clickhouseTypeOf(3.5)).toBe('Float64');
    expect(clickhouseTypeOf(true)).toBe('Bool');
    expect(clickhouseTypeOf(new Date())).toBe("DateTime64(3, 'UTC')");
    expect(clickhouseTypeOf(['a'])).toBe('Array(String)');
    expect(clickhouseTypeOf([1, 2.5])).toBe('Array(Float64)');
    expect(clickhouseTypeOf([1, null])).toBe('Array(Nullable(Int64))');
    expect(clickhouseTypeOf(null)).toBe('Nullable(String)');
  });

  it.each(HOSTILE)('round-trips %j as data in a SELECT', async (s) => {
    const r = await sql<{ v: string; n: number }>`SELECT ${s} AS v, length(${s}) AS n`.execute(db);
    expect(r.rows).toEqual([{ v: s, n: Buffer.byteLength(s) }]);
  });

  it('finds each hostile row by equality and IN, and the tables are intact', async () => {
    for (const s of HOSTILE) {
      const byEq = await db.selectFrom('runs').select(['run_id', 'workflow_name']).where('source', '=', 'hostile').where('run_id', '=', s).execute();
      expect(byEq).toEqual([{ run_id: s, workflow_name: s }]);
    }
    const byIn = await db.selectFrom('runs').select('run_id').where('run_id', 'in', HOSTILE).orderBy('run_id').execute();
    expect(byIn.map((r) => r.run_id)).toEqual([...HOSTILE].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    const tables = await sql<{ n: number }>`SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = 'run_versions'`.execute(db);
    expect(tables.rows).toEqual([{ n: 1 }]);
  });

  it('sends numbers, booleans, dates and arrays with their types', async () => {
    const when = new Date(Date.UTC(2026, 10, 17, 12, 0, 0, 123));
    const r = await sql<Record<string, unknown>>`SELECT ${42} AS i, toTypeName(${42}) AS ti, ${0.25} AS f, ${true} AS b, ${when} AS d, toTypeName(${when}) AS td, ${['x', "y'"]} AS a, ${null} AS z`.execute(db);
    expect(r.rows[0]).toEqual({ i: 42, ti: 'Int64', f: 0.25, b: true, d: '2026-11-17 12:00:00.123', td: "DateTime64(3, 'UTC')", a: ['x', "y'"], z: null });
    const hits = await db.selectFrom('runs').select('run_id').where('finished_at', '>', at(when)).where('finished_at', '<', at(when.getTime() + 1)).execute();
    expect(hits).toEqual([]);
    const day = await db.selectFrom('runs').select((eb) => eb.fn.countAll<number>().as('n')).where('finished_at', '>=', at(Date.UTC(2026, 10, 17))).execute();
    expect(day).toEqual([{ n: HOSTILE.length }]);
  });
});
