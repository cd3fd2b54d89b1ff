/**
 * Hostile answers, one source per case so each case stands alone: what lands, what is
 * quarantined with which reason, and that the next sync is unaffected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStraitSimulator, type StraitSimulator } from '../../simulators/strait.js';
import { simSource, startHarness, type Harness } from '../helpers/harness.js';
import { chTime } from '../helpers/compare.js';
import { compareWithTruth, describeComparison, expectedOf, type Comparison } from '../helpers/truth.js';
import { nestedText, rewriteItems, withField } from '../helpers/hostile.js';

const LIST = /^\/v1\/workflow-runs$/;
const DAY = 86_400_000;
const CASES = ['future', 'baddates', 'nonobject', 'deep', 'cut', 'cutpersist', 'redirect'] as const;
type Case = (typeof CASES)[number];

const sims = {} as Record<Case, StraitSimulator>;
let foreign: StraitSimulator;
let h: Harness;
const src = (c: Case) => `hostile-${c}`;

const exact = (c: Comparison) => describeComparison({ ...c, landed: c.expected, lost: [], duplicated: [], extra: [], mismatched: [], childrenLost: [], childrenDuplicated: [] });

async function expectEqualsTruth(c: Case, ignore: { run?: string } = {}): Promise<void> {
  const exp = expectedOf(sims[c]);
  const cmp = await compareWithTruth(h.query, src(c), exp);
  // A run whose served record was bad may keep what it was stored with; it must be there, once.
  const mismatched = cmp.mismatched.filter((m) => !ignore.run || !m.startsWith(`${ignore.run}:`));
  expect(describeComparison({ ...cmp, mismatched })).toBe(exact(cmp));
}

async function trySync(c: Case): Promise<{ ok: true } | { ok: false; error: string }> {
  try {
    await h.sync(src(c));
    return { ok: true };
  } catch (e) {
    let err: any = e;
    while (err.cause) err = err.cause;
    return { ok: false, error: String(err.message) };
  }
}

const quarantine = (c: Case) => h.query<any>(`SELECT severity, endpoint, record_key, reason FROM quarantine WHERE source = {s:String} ORDER BY received_at`, { s: src(c) });
const watermark = async (c: Case): Promise<number | null> => {
  const [s] = await h.query<any>(`SELECT watermark FROM sync_state FINAL WHERE source = {s:String}`, { s: src(c) });
  return s?.watermark ? Date.parse(String(s.watermark).replace(' ', 'T') + 'Z') : null;
};
const storedIds = async (c: Case) => new Set((await h.query<{ run_id: string }>(`SELECT run_id FROM runs WHERE source = {s:String}`, { s: src(c) })).map((r) => r.run_id));

beforeAll(async () => {
  const start = Date.now() - 3_600_000;
  const sources: unknown[] = [];
  const env: Record<string, string> = {};
  let seed = 300;
  for (const c of CASES) {
    // 150 runs: the first sync reads two list pages of at most 100.
    sims[c] = await startStraitSimulator({ seed: seed++, initialRuns: 150, runsPerHour: 30, start });
    const s = simSource(sims[c], { name: src(c), options: { projectId: 'proj_demo' }, timeout: '2s', maxRetries: 4, lookback: '2h' });
    sources.push(s.source);
    Object.assign(env, s.env);
  }
  foreign = await startStraitSimulator({ seed: 399, initialRuns: 60, runsPerHour: 0, start });
  h = await startHarness({ sources, env });
});

afterAll(async () => {
  await h?.close();
  await Promise.all([...Object.values(sims), foreign].map((s) => s?.close()));
});

describe('hostile answers', () => {
  it('a record dated 9999-12-31 does not move the watermark past now + 1 day; a warning names created_at; later syncs still find new runs', async () => {
    const sim = sims.future;
    expect(await trySync('future')).toEqual({ ok: true });
    sim.advance(10 * 60_000);
    sim.faults.malformed(1, {
      path: LIST,
      corrupt: (r) => {
        r.created_at = '9999-12-31T23:59:59Z';
        return 'created_at in the year 9999';
      },
    });
    expect(await trySync('future')).toEqual({ ok: true });
    const bad = sim.faults.malformedLog[0].id;
    const q = await quarantine('future');
    expect(q.some((r) => r.record_key === bad && /created_at/.test(r.reason)), JSON.stringify(q)).toBe(true);
    const wm = await watermark('future');
    expect(wm).not.toBeNull();
    expect(wm!).toBeLessThanOrEqual(Date.now() + DAY);
    // Every other run the page served is there.
    const have = await storedIds('future');
    expect(sim.truth().runs.filter((r) => r.id !== bad && !have.has(r.id)).map((r) => r.id)).toEqual([]);
    // New runs after it are still found (a watermark in 9999 would stop the listing at page one).
    sim.advance(30 * 60_000);
    expect(await trySync('future')).toEqual({ ok: true });
    expect((await watermark('future'))!).toBeLessThanOrEqual(Date.now() + DAY);
    await expectEqualsTruth('future', { run: bad });
  });

  it('impossible dates (2026-13-45T99:00:00Z, 0000-01-01T00:00:00Z) are quarantined naming created_at, never stored as another date', async () => {
    const sim = sims.baddates;
    expect(await trySync('baddates')).toEqual({ ok: true });
    sim.advance(10 * 60_000);
    const dates = ['2026-13-45T99:00:00Z', '0000-01-01T00:00:00Z'];
    let n = 0;
    sim.faults.malformed(2, {
      path: LIST,
      corrupt: (r) => {
        r.created_at = dates[n++ % 2];
        return `created_at ${r.created_at}`;
      },
    });
    expect(await trySync('baddates')).toEqual({ ok: true });
    const bad = sim.faults.malformedLog.map((m) => m.id);
    expect(bad.length).toBe(2);
    const q = await quarantine('baddates');
    for (const id of bad) {
      const rows = q.filter((r) => r.record_key === id && r.severity === 'error');
      expect(rows.length, `quarantine rows of ${id}: ${JSON.stringify(q)}`).toBeGreaterThanOrEqual(1);
      expect(rows[0].reason).toMatch(/created_at/);
    }
    const wrong = await h.query<any>(
      `SELECT run_id, created_at FROM runs WHERE source = {s:String} AND (toDate(created_at) IN ('2027-02-18', '1900-01-01', '1970-01-01') OR toYear(created_at) < 2000)`,
      { s: src('baddates') },
    );
    expect(wrong).toEqual([]);
    const have = await storedIds('baddates');
    expect(sim.truth().runs.filter((r) => !bad.includes(r.id) && !have.has(r.id)).map((r) => r.id)).toEqual([]);
    // Served correctly again, both runs land with their real dates.
    sim.advance(5 * 60_000);
    expect(await trySync('baddates')).toEqual({ ok: true });
    await expectEqualsTruth('baddates');
  });

  it('a non-object item ([]) at the end of a page is quarantined as not an object; the page and the next ones land', async () => {
    const sim = sims.nonobject;
    sim.faults.add({ path: LIST, times: 1, rewrite: (json) => rewriteItems(json, 'data', (items) => [...items, '[]']) });
    expect(await trySync('nonobject')).toEqual({ ok: true });
    expect(sim.faults.injected.rewrite).toBe(1);
    await expectEqualsTruth('nonobject');
    const q = (await quarantine('nonobject')).filter((r) => r.severity === 'error');
    expect(q.length, JSON.stringify(q)).toBe(1);
    expect(q[0].endpoint).toBe('GET /v1/workflow-runs');
    expect(q[0].reason).toMatch(/not an object|expected object/i);
    sim.advance(20 * 60_000);
    expect(await trySync('nonobject')).toEqual({ ok: true });
    await expectEqualsTruth('nonobject');
  });

  it('a record nested 10 000 levels deep is quarantined naming the depth; the rest of the page lands; the run lands once served sanely', async () => {
    const sim = sims.deep;
    let deepId = '';
    sim.faults.add({
      path: LIST,
      times: 1,
      rewrite: (json) =>
        rewriteItems(json, 'data', (items) =>
          items.map((t, i) => {
            if (i !== 40) return t;
            deepId = (JSON.parse(t) as { id: string }).id;
            return withField(t, 'context', nestedText(10_000));
          }),
        ),
    });
    const first = await trySync('deep');
    expect(first).toEqual({ ok: true });
    expect(deepId).not.toBe('');
    const q = (await quarantine('deep')).filter((r) => r.severity === 'error');
    expect(q.map((r) => r.record_key), JSON.stringify(q.map((r) => r.reason))).toEqual([deepId]);
    expect(q[0].reason).toMatch(/nest|depth/i);
    const have = await storedIds('deep');
    expect(sim.truth().runs.filter((r) => r.id !== deepId && !have.has(r.id)).map((r) => r.id)).toEqual([]);
    sim.advance(10 * 60_000);
    expect(await trySync('deep')).toEqual({ ok: true });
    await expectEqualsTruth('deep');
  });

  it('bodies cut off mid-JSON and a stalled body are retried: nothing quarantined, everything lands', async () => {
    const sim = sims.cut;
    sim.faults.add({ path: LIST, cut: 'clean', times: 1 });
    sim.faults.add({ path: LIST, cut: 'close', times: 1, after: 1 });
    sim.faults.add({ path: /\/steps$/, cut: 'clean', times: 3 });
    sim.faults.add({ path: /\/steps$/, cut: 'close', times: 3, after: 5 });
    sim.faults.add({ path: /\/steps$/, stallMs: 3_500, times: 1, after: 20 });
    expect(await trySync('cut')).toEqual({ ok: true });
    expect(sim.faults.pending().faults).toBe(0);
    expect(sim.requests.filter((r) => r.fault).length).toBe(9);
    expect((await quarantine('cut')).filter((r) => r.severity === 'error')).toEqual([]);
    await expectEqualsTruth('cut');
    const [sr] = await h.query<any>(`SELECT status, quarantined FROM sync_runs WHERE source = {s:String}`, { s: src('cut') });
    expect({ status: sr.status, quarantined: Number(sr.quarantined) }).toEqual({ status: 'succeeded', quarantined: 0 });
  });

  it('a body cut off on every try holds the watermark below the run; the run lands on a later sync', async () => {
    const sim = sims.cutpersist;
    expect(await trySync('cutpersist')).toEqual({ ok: true });
    const wmBefore = await watermark('cutpersist');
    sim.advance(10 * 60_000);
    // The newest run's steps never come back whole during this sync.
    const target = sim.truth().runs[0];
    expect(Date.parse(target.created_at)).toBeGreaterThan(wmBefore!);
    sim.faults.add({ path: new RegExp(`^/v1/workflow-runs/${target.id}/steps$`), cut: 'clean', times: 10_000 });
    const during = await trySync('cutpersist');
    const wm = await watermark('cutpersist');
    expect(wm, `watermark after a sync that could not fetch run ${target.id} (sync: ${JSON.stringify(during)})`).not.toBeNull();
    // Below the run: at its time the watermark would say "everything up to here is in".
    expect(wm!).toBeLessThan(Date.parse(chTime(target.created_at)!.replace(' ', 'T') + 'Z'));
    expect((await storedIds('cutpersist')).has(target.id)).toBe(false);
    sim.faults.clear();
    sim.advance(5 * 60_000);
    expect(await trySync('cutpersist')).toEqual({ ok: true });
    await expectEqualsTruth('cutpersist');
  });

  it('a redirect to another origin is refused with an error naming both origins; nothing of the other host is stored', async () => {
    const sim = sims.redirect;
    const origin = new URL(sim.url).origin;
    const other = new URL(foreign.url).origin;
    sim.faults.add({ path: LIST, redirectTo: other, times: 100 });
    const res = await trySync('redirect');
    sim.faults.clear();
    const [sr] = await h.query<any>(`SELECT status, error FROM sync_runs WHERE source = {s:String} ORDER BY started_at DESC LIMIT 1`, { s: src('redirect') });
    const q = await quarantine('redirect');
    const said = [res.ok ? '' : res.error, sr?.error ?? '', ...q.map((r) => r.reason)].filter((m) => m.includes(origin) && m.includes(other));
    expect(said.length, `an error naming ${origin} and ${other}; got ${JSON.stringify({ res, sr, q })}`).toBeGreaterThan(0);
    expect(foreign.requests.length, 'requests that reached the other host').toBe(0);
    const have = await storedIds('redirect');
    expect(foreign.truth().runs.filter((r) => have.has(r.id)).map((r) => r.id)).toEqual([]);
    const raw = await h.query<any>(`SELECT count() AS n FROM raw_runs WHERE source = {s:String} AND run_id IN {ids:Array(String)}`, { s: src('redirect'), ids: foreign.truth().runs.map((r) => r.id) });
    expect(Number(raw[0].n)).toBe(0);
    expect(await trySync('redirect')).toEqual({ ok: true });
    await expectEqualsTruth('redirect');
  });
});
