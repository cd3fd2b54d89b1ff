/**
 * The SQL endpoint under load, on loopback against the real embedded engine: 200 analyst
 * queries in flight, 50 of them slow. Bounded: every slow query is abandoned (and so
 * cancelled) by the test itself, and the whole file runs in well under a minute.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWarehouse, type Warehouse } from '../../warehouse/client.js';
import { migrate } from '../../warehouse/migrate.js';
import { startHttpServer } from '../../server/app.js';
import { serviceRoutes } from '../../server/routes.js';
import { closeSqlEngines, setSqlPoolOptions, sqlEngineOf } from '../../server/sql-endpoint.js';
import type { Services } from '../../runtime/services.js';
import { parseConfig } from '../../config/load.js';
import { toCh } from '../../core/time.js';

const TOKEN = 'load-token-77c1';
const headers = { authorization: `Bearer ${TOKEN}` };
let dir: string;
let wh: Warehouse;
let services: Services;
let http: Awaited<ReturnType<typeof startHttpServer>>;

/**
 * About 8 s (longer than the tests that hold it together), in 0.4 s steps: a sleep is cancelled at its
 * next step, so a killed query stops within 0.4 s. The number makes each text different while
 * the shape stays the same.
 */
const slowQuery = (i: number) => `SELECT sum(s), ${i} AS n FROM (${Array(20).fill('SELECT sleep(0.4) + 1 AS s').join(' UNION ALL ')})`;

interface Answer {
  status: number;
  text: string;
  ms: number;
  retryAfter: string | null;
}

async function timed(url: string, init: RequestInit = {}): Promise<Answer> {
  const t = performance.now();
  const res = await fetch(url, { ...init, headers: { ...headers, ...init.headers } });
  const text = await res.text();
  return { status: res.status, text, ms: performance.now() - t, retryAfter: res.headers.get('retry-after') };
}
const sql = (q: string, signal?: AbortSignal) => timed(`${http.url}/`, { method: 'POST', body: q, signal });
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.99) - 1)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Analyst queries the engine is running, counted by the writer's own connection (the endpoint refuses system.processes). */
async function runningAnalystQueries(): Promise<number> {
  const rs = await wh.client.query({
    // The marker is split so that this query does not count itself.
    query: "SELECT count() AS n FROM system.processes WHERE position(query, concat('runsync-', 'query:')) > 0",
    format: 'JSONEachRow',
  });
  return Number((await rs.json<{ n: string }>())[0].n);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-load-'));
  wh = await openWarehouse({ dataDir: dir });
  await migrate(wh.client);
  services = { config: parseConfig({ dataDir: dir }), dataDir: dir, warehouse: wh } as unknown as Services;
  // The default shape on 2 cores and libuv's 4 threads: two short slots, one long; 30 may wait for it.
  setSqlPoolOptions(services, { shortSlots: 2, longSlots: 1, shortMs: 300, shortQueue: 256, longQueue: 30 });
  http = await startHttpServer(services, serviceRoutes(), { host: '127.0.0.1', port: 0, token: TOKEN });
  // Warm: the engine opens on the first query.
  expect((await sql('SELECT 1')).text).toBe('1\n');
});

afterAll(async () => {
  await http?.close();
  await closeSqlEngines();
  await wh?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the SQL endpoint under load', () => {
  const slowCtl = new AbortController();
  let slow: Promise<Answer | 'abandoned'>[] = [];

  it('answers 200 queries in flight, 50 of them slow: the short ones all pass without waiting for the slow ones', async () => {
    slow = Array.from({ length: 50 }, (_, i) => sql(slowQuery(i), slowCtl.signal).catch(() => 'abandoned' as const));
    await sleep(100);
    const burst = await Promise.all(Array.from({ length: 150 }, () => sql('SELECT 1')));
    expect(burst.filter((a) => a.status !== 200 || a.text !== '1\n').slice(0, 3)).toEqual([]);
    // A burst of 150 waits for itself (this process is client and server on a shared machine),
    // not for the slow queries: those take 8 s each.
    expect(Math.max(...burst.map((a) => a.ms))).toBeLessThan(7500);
  }, 30_000);

  it('keeps /ping and SELECT 1 under a second (p99) while the slow ones stay in flight, and the writer keeps writing', async () => {
    const probes: Answer[] = [];
    const pings: Answer[] = [];
    const writes: number[] = [];
    // Throughout: ten analysts each asking every 200 ms, a health check, the writer inserting.
    const until = performance.now() + 3000;
    const analyst = async (k: number) => {
      for (let i = 0; performance.now() < until; i++) {
        probes.push(await sql(`SELECT ${k * 1000 + i} + 1`));
        await sleep(200);
      }
    };
    const prober = async () => {
      while (performance.now() < until) {
        pings.push(await timed(`${http.url}/ping`, { headers: {} }));
        await sleep(100);
      }
    };
    const writer = async () => {
      for (let wave = 0; wave < 10; wave++) {
        const t = performance.now();
        await wh.client.insert({
          table: 'run_versions',
          format: 'JSONEachRow',
          values: [{ source: 'load', run_id: `r${wave}`, status: 'running', synced_at: toCh(Date.now()), first_seen_at: toCh(Date.now()), version: 1 }],
        });
        writes.push(performance.now() - t);
        await sleep(250);
      }
    };
    await Promise.all([...Array.from({ length: 10 }, (_, k) => analyst(k)), prober(), writer()]);
    if (process.env.RUNSYNC_TEST_DEBUG) writeFileSync(process.env.RUNSYNC_TEST_DEBUG, [probes, pings].map((xs) => xs.map((a) => Math.round(a.ms)).join(' ')).join('\n') + `\n${writes.map(Math.round).join(' ')}\n`);
    expect(probes.length).toBeGreaterThan(50);
    expect(probes.filter((a) => a.status !== 200).slice(0, 3)).toEqual([]);
    expect(pings.every((a) => a.text === 'Ok.\n')).toBe(true);
    expect(p99(probes.map((a) => a.ms))).toBeLessThan(1000);
    expect(p99(pings.map((a) => a.ms))).toBeLessThan(1000);
    expect(Math.max(...writes)).toBeLessThan(2000);
    const rs = await wh.client.query({ query: "SELECT count() AS n FROM run_versions WHERE source = 'load'", format: 'JSONEachRow' });
    expect(Number((await rs.json<{ n: string }>())[0].n)).toBe(10);
    // The slow ones are still there: one running, the long queue full, the rest turned away.
    const stats = (await sqlEngineOf(services)).stats();
    expect(stats.running.long).toBe(1);
    expect(stats.queued.long).toBe(30);
  }, 30_000);

  it('answers a full queue with 503, Retry-After and a ClickHouse error, at once', async () => {
    const more = await Promise.all(Array.from({ length: 10 }, (_, i) => sql(slowQuery(100 + i))));
    for (const a of more) {
      expect(a.status).toBe(503);
      expect(a.text.split('\n')[0]).toMatch(/^Code: 202\. DB::Exception: Too many simultaneous queries: too many queries: \d+ long queries are already waiting; retry in \d+ s\. \(TOO_MANY_SIMULTANEOUS_QUERIES\)$/);
      expect(Number(a.retryAfter)).toBeGreaterThan(0);
      expect(a.ms).toBeLessThan(500);
    }
    // Short queries still pass while the long lane is full.
    expect((await sql('SELECT 41 + 1')).text).toBe('42\n');
  });

  it('cancels abandoned queries: gone from system.processes within a second', async () => {
    expect(await runningAnalystQueries()).toBeGreaterThan(0);
    slowCtl.abort();
    const t = performance.now();
    let n = await runningAnalystQueries();
    while (n > 0 && performance.now() - t < 3000) {
      await sleep(25);
      n = await runningAnalystQueries();
    }
    const elapsed = performance.now() - t;
    expect(n).toBe(0);
    expect(elapsed).toBeLessThan(1000);
    const outcomes = await Promise.all(slow);
    // Some were turned away with 503 when the long queue filled; the rest were abandoned.
    const turnedAway = outcomes.filter((o) => o !== 'abandoned');
    expect(turnedAway.map((o) => (typeof o === 'string' ? o : o.status))).toEqual(Array(19).fill(503));
    expect(outcomes.filter((o) => o === 'abandoned').length).toBe(31);
    // Nothing left queued or running in the pool.
    const engine = await sqlEngineOf(services);
    for (let i = 0; i < 40 && engine.stats().running.long + engine.stats().running.short > 0; i++) await sleep(25);
    expect(engine.stats()).toMatchObject({ running: { short: 0, long: 0 }, queued: { short: 0, long: 0 } });
    expect((await sql('SELECT 1')).text).toBe('1\n');
  });

  it('moves a query that outgrows the short lane to the long one and still answers it', async () => {
    const r = await sql(`SELECT sum(s) FROM (${Array(2).fill('SELECT sleep(0.3) + 1 AS s').join(' UNION ALL ')})`);
    expect([r.status, r.text]).toEqual([200, '2\n']);
  });
});
