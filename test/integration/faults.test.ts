/**
 * Fault matrix: every provider behind an API that answers ~10 % of requests with a 500, an
 * nginx 502 page, a 503, a 429 with and without Retry-After, a body cut off mid-JSON (dropped
 * connection or clean end) or a stall past the client's timeout. After several faulty syncs
 * and one clean one, the warehouse equals the simulator's truth: 0 lost, 0 duplicated.
 * Each provider also serves one open run in a status word its docs do not list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStraitSimulator } from '../../simulators/strait.js';
import { startTracecatSimulator, type TracecatSimulator } from '../../simulators/tracecat.js';
import { startB3osSimulator } from '../../simulators/b3os.js';
import { startAnonSimulator } from '../../simulators/anon.js';
import { startDxSimulator, type DxSimulator } from '../../simulators/dx.js';
import { RANDOM_FAULT_KINDS } from '../../simulators/core/faults.js';
import { addToInbox } from '../../warehouse/queries.js';
import { simSource, startHarness, type Harness } from '../helpers/harness.js';
import { compareWithTruth, describeComparison, expectedOf, warehouseRunId, type AnySimulator } from '../helpers/truth.js';

const TIMEOUT_S = 2;
/** A stall outlasts the client's timeout. */
const STALL_MS = TIMEOUT_S * 1000 + 1_500;

// Words the providers' docs do not list (assumptions, see simulators/README.md).
const UNLISTED: Record<string, string> = { strait: 'suspended', tracecat: 'PAUSED', b3os: 'queued', anon: 'RETRYING', dx: 'QUEUED' };

/** Keys: `strait` (fault matrix) and `strait-status` (unlisted status word), one source each, so one case cannot spoil the other. */
const sims: Record<string, AnySimulator> = {};
let h: Harness;
const dxIds: Record<string, string[]> = { dx: [], 'dx-status': [] };
const name = (key: string) => `${key}-src`;

/** DX has no listing: its new runs go to the inbox, as `runsync track` would put them. */
async function trackDx(key: string): Promise<void> {
  const dx = sims[key] as DxSimulator;
  const ids = dx.drainNewRunIds();
  dxIds[key].push(...ids);
  await addToInbox(h.warehouse.client, name(key), ids);
}

async function syncAll(p: string): Promise<{ ok: boolean; error?: string }> {
  if (p.startsWith('dx')) await trackDx(p);
  try {
    await h.sync(name(p));
    return { ok: true };
  } catch (e) {
    let err: any = e;
    while (err.cause) err = err.cause;
    return { ok: false, error: String(err.message) };
  }
}

async function expectEqualsTruth(p: string): Promise<void> {
  const exp = expectedOf(sims[p], { dxIds: dxIds[p] });
  expect(exp.runs.length).toBeGreaterThan(0);
  const c = await compareWithTruth(h.query, name(p), exp);
  expect(describeComparison(c)).toBe(describeComparison({ ...c, landed: c.expected, lost: [], duplicated: [], extra: [], mismatched: [], childrenLost: [], childrenDuplicated: [] }));
  // Duplicates on the storage tables' FINAL and in the analyst relations, whatever the source.
  for (const sql of [
    `SELECT run_id, count() c FROM runs GROUP BY run_id HAVING c > 1`,
    `SELECT run_id, count() c FROM run_versions FINAL GROUP BY source, run_id HAVING c > 1`,
    `SELECT run_id, step_id, count() c FROM steps GROUP BY source, run_id, step_id HAVING c > 1`,
    `SELECT run_id, event_id, count() c FROM events GROUP BY source, run_id, event_id HAVING c > 1`,
  ]) {
    expect(await h.query(sql), sql).toEqual([]);
  }
}

beforeAll(async () => {
  const start = Date.now() - 3_600_000;
  sims.strait = await startStraitSimulator({ seed: 71, initialRuns: 120, runsPerHour: 30, start });
  sims.tracecat = await startTracecatSimulator({ seed: 72, initialRuns: 100, runsPerHour: 30, start });
  sims.b3os = await startB3osSimulator({ seed: 73, initialRuns: 150, runsPerHour: 30, start });
  sims.anon = await startAnonSimulator({ seed: 74, initialRuns: 120, runsPerHour: 30, start });
  sims.dx = await startDxSimulator({ seed: 75, initialRuns: 40, runsPerHour: 20, start });
  sims['strait-status'] = await startStraitSimulator({ seed: 81, initialRuns: 50, runsPerHour: 30, start });
  sims['tracecat-status'] = await startTracecatSimulator({ seed: 82, initialRuns: 50, runsPerHour: 30, start });
  sims['b3os-status'] = await startB3osSimulator({ seed: 83, initialRuns: 60, runsPerHour: 30, start });
  sims['anon-status'] = await startAnonSimulator({ seed: 84, initialRuns: 50, runsPerHour: 30, start });
  sims['dx-status'] = await startDxSimulator({ seed: 85, initialRuns: 20, runsPerHour: 20, start });
  const options = (p: string): Record<string, unknown> =>
    p === 'strait' ? { projectId: 'proj_demo' }
    : p === 'tracecat' ? { workspaceId: (sims.tracecat as TracecatSimulator).workspaceId, limit: 40 }
    : p === 'b3os' ? { orgId: 'org_demo' }
    : {};
  const sources: unknown[] = [];
  const env: Record<string, string> = {};
  for (const key of Object.keys(sims)) {
    const s = simSource(sims[key], { name: name(key), options: options(sims[key].provider), timeout: `${TIMEOUT_S}s`, maxRetries: 8 });
    sources.push(s.source);
    Object.assign(env, s.env);
  }
  h = await startHarness({ sources, env });
});

afterAll(async () => {
  await h?.close();
  await Promise.all(Object.values(sims).map((s) => s.close()));
});

describe.each(['strait', 'tracecat', 'b3os', 'anon', 'dx'])('%s', (p) => {
  it('10 % of requests fail in every way a network can; after a clean sync the warehouse equals the truth, 0 lost, 0 duplicated', async () => {
    const sim = sims[p];
    const before = sim.faults.injectedTotal();
    sim.faults.random({ rate: 0.1, seed: 7_000 + p.length, stallMs: STALL_MS });
    const outcomes: { ok: boolean; error?: string }[] = [];
    // The backfill and two incremental syncs under faults; the 30-minute lookback does not
    // reach back to what the backfill read, so nothing is rescued by listing it again.
    for (let i = 0; i < 3; i++) {
      if (i > 0) sim.advance(20 * 60_000);
      outcomes.push(await syncAll(p));
    }
    sim.faults.random(null);
    const injected = sim.faults.injectedTotal() - before;
    expect(injected, `faults injected into ${p}`).toBeGreaterThanOrEqual(3);
    sim.advance(5 * 60_000);
    const last = await syncAll(p);
    expect(last, `clean sync after faulty ones (faulty outcomes: ${JSON.stringify(outcomes)})`).toEqual({ ok: true });
    await expectEqualsTruth(p);
    const [state] = await h.query<any>(`SELECT watermark FROM sync_state FINAL WHERE source = {s:String}`, { s: name(p) });
    if (state?.watermark) expect(Date.parse(String(state.watermark).replace(' ', 'T') + 'Z')).toBeLessThanOrEqual(sim.clock.now() + 86_400_000);
  });

  it('a run in a status word the docs do not list is found, kept as unknown and open, then updated when it moves on', async () => {
    const key = `${p}-status`;
    const sim = sims[key];
    const word = UNLISTED[p];
    // DX runs are short: new ones are triggered so one is open long enough.
    if (p === 'dx') (sim as DxSimulator).trigger(5);
    const worldId = sim.holdStatus(word, { minOpenMs: p === 'dx' ? 30_000 : 5 * 60_000 });
    const runId = warehouseRunId(sim, worldId);
    const first = await syncAll(key);
    expect(first).toEqual({ ok: true });
    const rows = await h.query<any>(`SELECT provider_status, status, is_terminal, finished_at FROM runs WHERE source = {s:String} AND run_id = {id:String}`, { s: name(key), id: runId });
    expect(rows.map((r) => ({ ...r, is_terminal: Number(r.is_terminal) })), `run ${runId} in status ${word}`).toEqual([{ provider_status: word, status: 'unknown', is_terminal: 0, finished_at: null }]);
    await expectEqualsTruth(key);
    // It leaves the unlisted state and finishes: the sync must have kept polling it.
    sim.releaseStatus(worldId);
    sim.advance(3 * 3_600_000);
    expect(await syncAll(key)).toEqual({ ok: true });
    await expectEqualsTruth(key);
  });
});

describe('the matrix itself', () => {
  it('injected every kind of fault across the providers', () => {
    const kinds = new Set<string>();
    for (const s of Object.values(sims)) for (const [k, n] of Object.entries(s.faults.injected)) if (n > 0) kinds.add(k);
    expect([...kinds].sort()).toEqual([...RANDOM_FAULT_KINDS].sort());
  });
});
