import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDxSimulator, type DxSimulator } from '../../simulators/dx.js';
import { startHarness, simSource, type Harness } from '../helpers/harness.js';
import { parseConfig } from '../../config/load.js';
import { startHttpServer } from '../../server/app.js';
import { serviceRoutes } from '../../server/routes.js';
import { closeSqlEngines } from '../../server/sql-endpoint.js';
import type { Services } from '../../runtime/services.js';

/**
 * 10,000 run ids handed in at once (the most one request takes) to a DX source whose other
 * runs keep going: runs the warehouse holds as open, and new runs handed in between syncs.
 * Each sync polls the open runs and the new runs, takes at most `inboxPerSync` ids of the
 * flood, and stays within the account's rate limit; over several syncs the flood drains,
 * every id landing once (as a run, or as gone when the provider does not know it).
 */
const SOURCE = 'dx-flood';
const TOKEN = 'flood-http-token-5c1e';
const PER_SYNC = 2_500;
let sim: DxSimulator;
let h: Harness;
let http: Awaited<ReturnType<typeof startHttpServer>>;

beforeAll(async () => {
  // The account allows 30,000 requests a minute; the source is configured below it (400/s).
  sim = await startDxSimulator({ seed: 41, initialRuns: 20, historyDays: 1, runsPerHour: 0, start: Date.now() - 3_600_000, rateLimit: { limit: 30_000, windowMs: 60_000, mode: 'sliding' } });
  const { source, env } = simSource(sim, { name: SOURCE, inboxPerSync: PER_SYNC, rateLimit: 400, concurrency: 16 });
  h = await startHarness({ sources: [source], env });
  const config = parseConfig({ dataDir: h.config.dataDir, sources: [source], server: { inboxMaxPending: 20_000, inboxIdsPerMinute: 20_000 } });
  http = await startHttpServer({ config, dataDir: h.config.dataDir, warehouse: h.warehouse } as unknown as Services, serviceRoutes(), { host: '127.0.0.1', port: 0, token: TOKEN });
}, 120_000);

afterAll(async () => {
  await http?.close();
  await closeSqlEngines();
  await h?.close();
  await sim?.close();
});

async function handIn(ids: string[]): Promise<void> {
  const res = await fetch(`${http.url}/sources/${SOURCE}/runs`, {
    method: 'POST',
    body: JSON.stringify({ run_ids: ids }),
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
  });
  expect(res.status, await res.text()).toBe(200);
}

/** The runs a sync asked the provider about (detail requests that got an answer other than 429). */
function asked(): string[] {
  return sim.requests.filter((r) => r.path === '/workflowRuns.info' && r.status !== 429).map((r) => String(r.query.id));
}

const landed = async () => new Set((await h.query<{ run_id: string }>('SELECT DISTINCT run_id FROM run_versions WHERE source = {s:String}', { s: SOURCE })).map((r) => r.run_id));
const gone = async () => new Set((await h.query<{ run_id: string }>('SELECT DISTINCT run_id FROM gone_runs WHERE source = {s:String}', { s: SOURCE })).map((r) => r.run_id));
/** Ids handed in and not yet polled (neither a run nor gone). */
const pending = async () =>
  new Set(
    (
      await h.query<{ run_id: string }>(
        `SELECT DISTINCT run_id FROM inbox WHERE source = {s:String}
           AND run_id NOT IN (SELECT run_id FROM run_versions WHERE source = {s:String})
           AND run_id NOT IN (SELECT run_id FROM gone_runs WHERE source = {s:String})`,
        { s: SOURCE },
      )
    ).map((r) => r.run_id),
  );
const openRuns = async () => (await h.query<{ run_id: string }>('SELECT run_id FROM run_versions FINAL WHERE source = {s:String} AND is_terminal = 0', { s: SOURCE })).map((r) => r.run_id);

describe('a 10,000-id inbox', () => {
  it('drains over several syncs while the source’s other runs keep syncing, within inboxPerSync and the rate limit, nothing lost or duplicated', async () => {
    // Runs that exist now (the provider knows them) among ids it never heard of, all in one request.
    const real = sim.drainNewRunIds();
    const unknown = Array.from({ length: 10_000 - real.length }, (_, i) => createHash('sha1').update(`flood-${i}`).digest('hex').slice(0, 12));
    const flood = [...real, ...unknown];
    expect(new Set(flood).size).toBe(10_000);
    await handIn(flood);
    const newRuns: string[][] = [];
    const askedTimes = new Map<string, number>();
    let syncs = 0;
    let floodLeft = flood.length;
    while (floodLeft > 0) {
      expect(syncs, 'the flood drains within six syncs').toBeLessThan(6);
      // Runs started since the last sync, handed in as the system starting them would.
      const started = sim.trigger(3);
      newRuns.push(started);
      await handIn(started);
      const open = await openRuns();
      const waiting = await pending();
      sim.clearRequests();
      const result = await h.sync(SOURCE);
      syncs++;
      expect(result.status).toBe('succeeded');
      const ids = asked();
      for (const id of ids) askedTimes.set(id, (askedTimes.get(id) ?? 0) + 1);
      const here = new Set(ids);
      // The source's other runs are not starved: the open ones are polled, the new ones land.
      for (const id of open) expect(here.has(id), `open run ${id} polled in sync ${syncs}`).toBe(true);
      const has = await landed();
      for (const id of started) expect(has.has(id), `new run ${id} landed in sync ${syncs}`).toBe(true);
      // At most inboxPerSync handed-in ids a sync (the new runs among them).
      const fromInbox = ids.filter((id) => waiting.has(id));
      expect(fromInbox.length).toBeLessThanOrEqual(PER_SYNC);
      // The flood does not push the source into the account's limit: hardly a 429.
      const limited = sim.requests.filter((r) => r.status === 429).length;
      expect(limited, `429s in sync ${syncs} of ${sim.requests.length} requests`).toBeLessThanOrEqual(Math.ceil(sim.requests.length * 0.01));
      const left = await pending();
      // What it took is no longer waiting; nothing else left the inbox.
      expect([...waiting].filter((id) => !left.has(id)).sort()).toEqual([...new Set(fromInbox)].sort());
      floodLeft = flood.filter((id) => left.has(id)).length;
      // Open runs move on before the next sync.
      sim.advance(5 * 60_000);
    }
    expect(syncs).toBeGreaterThanOrEqual(4); // 10,000 ids at 2,500 a sync

    // Every handed-in id asked for exactly once while in the inbox, and now either a run or gone, never both.
    const has = await landed();
    const lost = await gone();
    const handed = [...flood, ...newRuns.flat()];
    for (const id of handed) expect(askedTimes.get(id) ?? 0, `requests for ${id}`).toBeGreaterThanOrEqual(1);
    for (const id of unknown) expect(askedTimes.get(id), `requests for ${id}`).toBe(1);
    expect(handed.filter((id) => has.has(id) === lost.has(id))).toEqual([]);
    expect(real.every((id) => has.has(id)) && newRuns.flat().every((id) => has.has(id))).toBe(true);
    expect(unknown.filter((id) => !lost.has(id))).toEqual([]);
    const dup = await h.query('SELECT run_id, count() AS n FROM runs WHERE source = {s:String} GROUP BY run_id HAVING n > 1', { s: SOURCE });
    expect(dup).toEqual([]);
    expect(await pending()).toEqual(new Set());
  }, 150_000);
});
