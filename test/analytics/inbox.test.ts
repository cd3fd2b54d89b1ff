/**
 * The run inbox (`POST /sources/{name}/runs`) against the real embedded warehouse: caps on
 * pending ids and on new ids per minute, refused ids, oversized bodies, malformed names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWarehouse, type Warehouse } from '../../warehouse/client.js';
import { migrate } from '../../warehouse/migrate.js';
import { startHttpServer } from '../../server/app.js';
import { serviceRoutes } from '../../server/routes.js';
import { closeSqlEngines } from '../../server/sql-endpoint.js';
import { parseRunIds, pendingCount } from '../../server/inbox.js';
import { escapeControl } from '../../core/escape.js';
import type { Services } from '../../runtime/services.js';
import { parseConfig } from '../../config/load.js';
import { toCh } from '../../core/time.js';

const TOKEN = 'inbox-token-3d9a';
let dir: string;
let wh: Warehouse;
const servers: Awaited<ReturnType<typeof startHttpServer>>[] = [];

/** A service on the shared warehouse with its own caps (and so its own admission state). */
async function service(server: Record<string, unknown>) {
  const config = parseConfig({
    dataDir: dir,
    sources: [
      { name: 'dx-a', provider: 'dx', baseUrl: 'http://127.0.0.1:9/', tokenEnv: 'DX_TOKEN' },
      { name: 'dx-b', provider: 'dx', baseUrl: 'http://127.0.0.1:9/', tokenEnv: 'DX_TOKEN' },
      { name: 'dx-c', provider: 'dx', baseUrl: 'http://127.0.0.1:9/', tokenEnv: 'DX_TOKEN' },
      { name: 'dx-d', provider: 'dx', baseUrl: 'http://127.0.0.1:9/', tokenEnv: 'DX_TOKEN' },
      { name: 'st', provider: 'strait', baseUrl: 'http://127.0.0.1:9/', tokenEnv: 'ST_TOKEN', options: { projectId: 'p1' } },
    ],
    server,
  });
  const services = { config, dataDir: dir, warehouse: wh } as unknown as Services;
  const http = await startHttpServer(services, serviceRoutes(), { host: '127.0.0.1', port: 0, token: TOKEN });
  servers.push(http);
  return async (source: string, body: unknown, raw?: string) => {
    const res = await fetch(`${http.url}/sources/${source}/runs`, {
      method: 'POST',
      body: raw ?? JSON.stringify(body),
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    });
    const text = await res.text();
    return { status: res.status, text, first: text.split('\n')[0], retryAfter: res.headers.get('retry-after') };
  };
}

async function inboxIds(source: string): Promise<string[]> {
  const rs = await wh.client.query({ query: 'SELECT DISTINCT run_id FROM inbox WHERE source = {source:String} ORDER BY run_id', query_params: { source }, format: 'JSONEachRow' });
  return (await rs.json<{ run_id: string }>()).map((r) => r.run_id);
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-inbox-'));
  wh = await openWarehouse({ dataDir: dir });
  await migrate(wh.client);
});

afterAll(async () => {
  for (const s of servers) await s.close();
  await closeSqlEngines();
  await wh?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('run ids', () => {
  it('accepts ids for an inbox source, refuses sources that list their own runs and unknown ones, and requires the bearer token', async () => {
    const post = await service({});
    const ok = await post('dx-d', { run_ids: ['c1', 'c2'] });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toMatchObject({ accepted: 2 });
    expect(await inboxIds('dx-d')).toEqual(['c1', 'c2']);
    expect((await post('st', ['r1'])).status).toBe(400);
    expect((await post('nope', ['r1'])).status).toBe(404);
    const http = servers[servers.length - 1];
    const wrong = await fetch(`${http.url}/sources/dx-d/runs`, { method: 'POST', body: '["c3"]', headers: { authorization: 'Bearer wrong-token' } });
    expect(wrong.status).toBe(401);
    expect(await inboxIds('dx-d')).toEqual(['c1', 'c2']);
  });

  it('refuses ids with control characters, naming the id, and stores nothing of that request', async () => {
    const post = await service({});
    for (const bad of ['line1\nline2', 'nul\u0000byte', 'cr\rret', 'esc\u001b[31m', 'del\u007f']) {
      const r = await post('dx-a', { run_ids: ['fine-1', bad] });
      expect([bad, r.status]).toEqual([bad, 400]);
      expect(JSON.parse(r.first).error).toBe(`run id ${escapeControl(JSON.stringify(bad))} contains a control character (newline, NUL, …); run ids are printable text`);
    }
    expect(await inboxIds('dx-a')).toEqual([]);
    expect(() => parseRunIds(['a\nb'])).toThrow(/^run id "a\\nb" contains a control character/);
  });

  it('answers 413 with a JSON error for too many ids or an oversized body, and 400 for a malformed source name', async () => {
    const post = await service({ inboxMaxPending: 100 });
    const many = await post('dx-a', { run_ids: ids('m', 101) });
    expect([many.status, JSON.parse(many.first).error]).toEqual([413, '101 run ids in one request; source "dx-a" holds at most 100 waiting to be polled']);
    const huge = await post('dx-a', { run_ids: ids('h', 10_001) });
    expect([huge.status, JSON.parse(huge.first).error]).toEqual([413, '10001 run ids in one request; at most 10000']);
    const big = await post('dx-a', null, JSON.stringify({ run_ids: ids('x'.repeat(500), 4000) }));
    expect(big.status).toBe(413);
    expect(JSON.parse(big.first).error).toMatch(/^request body larger than 1048576 bytes: send the run ids in smaller requests/);
    const bad = await post('%E0%A4%A', { run_ids: ['a'] });
    expect([bad.status, JSON.parse(bad.first).error]).toEqual([400, 'malformed percent-escape in the path "/sources/%E0%A4%A/runs"']);
    const ctl = await post('dx%0Aa', { run_ids: ['a'] });
    expect([ctl.status, JSON.parse(ctl.first).error]).toEqual([400, 'source name "dx\\na" contains a control character']);
    const unknown = await post('nope', { run_ids: ['a'] });
    expect(unknown.status).toBe(404);
    const lister = await post('st', { run_ids: ['a'] });
    expect(lister.status).toBe(400);
    expect(await inboxIds('dx-a')).toEqual([]);
  });
});

describe('caps', () => {
  it('takes at most inboxIdsPerMinute new ids, then answers 429 with Retry-After; repeated ids are free', async () => {
    const post = await service({ inboxIdsPerMinute: 30 });
    const first = await post('dx-b', { run_ids: ids('r', 20) });
    expect([first.status, JSON.parse(first.text)]).toEqual([200, { accepted: 20, added: 20 }]);
    const again = await post('dx-b', { run_ids: ids('r', 20) });
    expect([again.status, JSON.parse(again.text)]).toEqual([200, { accepted: 20, added: 0 }]);
    const over = await post('dx-b', { run_ids: ids('s', 15) });
    expect(over.status).toBe(429);
    // 10 tokens left of 30 a minute: the 5 missing come back in about 10 s.
    expect(Number(over.retryAfter)).toBeGreaterThanOrEqual(9);
    expect(Number(over.retryAfter)).toBeLessThanOrEqual(10);
    expect(JSON.parse(over.first).error).toMatch(/^source "dx-b" takes at most 30 new run ids per minute: retry in \d+ s$/);
    const fits = await post('dx-b', { run_ids: ids('s', 10) });
    expect(fits.status).toBe(200);
    expect(await inboxIds('dx-b')).toEqual([...ids('r', 20), ...ids('s', 10)].sort());
  });

  it('holds at most inboxMaxPending ids waiting per source, counting polled ones out', async () => {
    const post = await service({ inboxMaxPending: 25 });
    expect((await post('dx-c', { run_ids: ids('p', 20) })).status).toBe(200);
    expect(await pendingCount(wh.client, 'dx-c')).toBe(20);
    const over = await post('dx-c', { run_ids: ids('q', 10) });
    expect([over.status, over.retryAfter]).toEqual([429, '60']);
    expect(JSON.parse(over.first).error).toBe('source "dx-c" has 20 run ids waiting to be polled and takes at most 25; these 10 new ones would pass that: retry once syncs have polled some');
    // A sync polls ten of them (written as runs): room for ten more.
    const now = toCh(Date.now());
    await wh.client.insert({
      table: 'run_versions',
      format: 'JSONEachRow',
      values: ids('p', 10).map((run_id) => ({ source: 'dx-c', run_id, status: 'succeeded', synced_at: now, first_seen_at: now, version: 1 })),
    });
    expect(await pendingCount(wh.client, 'dx-c')).toBe(10);
    expect((await post('dx-c', { run_ids: ids('q', 10) })).status).toBe(200);
    // Two requests at once that each fit, but not both: exactly one passes.
    const [a, b] = await Promise.all([post('dx-c', { run_ids: ids('u', 4) }), post('dx-c', { run_ids: ids('v', 4) })]);
    expect([a.status, b.status].sort()).toEqual([200, 429]);
    expect(await pendingCount(wh.client, 'dx-c')).toBe(24);
  });
});

describe('log lines', () => {
  it('escape control characters whatever their origin', () => {
    expect(escapeControl('line1\nline2')).toBe('line1\\nline2');
    expect(escapeControl('a\u0000b\rc\td\u001b[31m\u007f\u0085\u2028')).toBe('a\\x00b\\rc\\td\\x1b[31m\\x7f\\x85\\u2028');
    expect(escapeControl('ünï ✓ 🚀 \\n stays')).toBe('ünï ✓ 🚀 \\n stays');
  });
});
