import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWarehouse, type Warehouse } from '../../warehouse/client.js';
import { migrate } from '../../warehouse/migrate.js';
import { chainsFromTruth, insertTruth, SIM_START, simulatedHistory, spellsFromTruth, type TruthRun, type TruthStep } from './sim-rows.js';

/*
 * Retry chains, first-attempt rates, recoveries, MTTR, red time and failure signatures,
 * worked out here from the simulators' worlds (retry pointers, execution ids, planned
 * outcomes and error templates) and compared with the relations, row for row.
 */

const DAY = 86_400_000;
/** Wednesday 2026-11-25 12:00 UTC, three weeks of history before it. */
const START = SIM_START;
const TERMINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'continued']);
const FAIL = new Set(['failed', 'timed_out']);
const DECIDED = new Set(['succeeded', 'failed', 'timed_out']);

const chTime = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().replace('T', ' ').replace('Z', ''));
const monday = (ms: number) => {
  const d = new Date(ms);
  const back = (d.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - back * DAY).toISOString().slice(0, 10);
};
const byKey = <T>(rows: T[], key: (r: T) => string) => new Map(rows.map((r) => [key(r), r]));
const round = (x: number | null) => (x === null ? null : Math.round(x * 1e6) / 1e6);

let dir: string;
let wh: Warehouse;
let runs: TruthRun[] = [];
let steps: TruthStep[] = [];
/** Wall clock when the rows were read: red spells still open are measured up to it. */
let readAt = 0;

async function rows<T>(query: string): Promise<T[]> {
  return (await wh.client.query({ query, format: 'JSONEachRow' })).json<T>();
}

beforeAll(async () => {
  ({ runs, steps } = await simulatedHistory());
  dir = mkdtempSync(join(tmpdir(), 'rs-retries-'));
  wh = await openWarehouse({ dataDir: dir });
  await migrate(wh.client);
  await insertTruth(wh.client, runs, steps, START + 3_600_000);
  readAt = Date.now();
}, 120_000);

afterAll(async () => {
  await wh?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('retry chains', () => {
  it('the simulators produce chains on all three providers, and some are rescued', () => {
    const chains = chainsFromTruth(runs);
    for (const source of ['strait-prod', 'b3', 'tc']) {
      const retried = runs.filter((r) => r.source === source && chains.get(`${r.source}|${r.run_id}`)!.attempt > 1);
      expect(retried.length, source).toBeGreaterThan(2);
    }
  });

  it('runs.retry_root_run_id and runs.attempt match the chains walked in the worlds', async () => {
    const chains = chainsFromTruth(runs);
    const got = await rows<{ source: string; run_id: string; retry_root_run_id: string; attempt: number }>(
      `SELECT source, run_id, retry_root_run_id, attempt FROM runs ORDER BY source, run_id`,
    );
    expect(got.length).toBe(runs.length);
    const want = runs
      .map((r) => ({ source: r.source, run_id: r.run_id, retry_root_run_id: chains.get(`${r.source}|${r.run_id}`)!.root, attempt: chains.get(`${r.source}|${r.run_id}`)!.attempt }))
      .sort((a, b) => (a.source + '|' + a.run_id < b.source + '|' + b.run_id ? -1 : 1));
    expect(got).toEqual(want);
  });

  it('retry_chains holds one row per chain with its first and final outcome', async () => {
    const chains = chainsFromTruth(runs);
    const groups = new Map<string, (TruthRun & { attempt: number })[]>();
    for (const r of runs.filter((x) => x.is_test === 0)) {
      const c = chains.get(`${r.source}|${r.run_id}`)!;
      const k = `${r.source}|${c.root}`;
      groups.set(k, [...(groups.get(k) ?? []), { ...r, attempt: c.attempt }]);
    }
    const want = [...groups.entries()].map(([k, g]) => {
      const order = [...g].sort((a, b) => a.attempt - b.attempt || a.created_at - b.created_at || (a.run_id < b.run_id ? -1 : 1));
      const first = order[0];
      const last = order[order.length - 1];
      const durations = g.filter((r) => r.started_at !== null && r.finished_at !== null).map((r) => r.finished_at! - r.started_at!);
      const starts = g.map((r) => r.started_at).filter((x): x is number => x !== null);
      const ends = g.map((r) => r.finished_at).filter((x): x is number => x !== null);
      return {
        source: first.source,
        root_run_id: k.split('|')[1],
        workflow_id: first.workflow_id,
        attempts: g.length,
        first_status: first.status,
        final_status: last.status,
        rescued: FAIL.has(first.status) && last.status === 'succeeded' ? 1 : 0,
        first_started_at: starts.length ? chTime(Math.min(...starts)) : null,
        last_finished_at: TERMINAL.has(last.status) && ends.length ? chTime(Math.max(...ends)) : null,
        total_ms: durations.length ? durations.reduce((a, b) => a + b, 0) : null,
      };
    });
    want.sort((a, b) => (a.source + '|' + a.root_run_id < b.source + '|' + b.root_run_id ? -1 : 1));
    const got = await rows<Record<string, unknown>>(
      `SELECT source, root_run_id, workflow_id, attempts, first_status, final_status, rescued, first_started_at, last_finished_at, total_ms
       FROM retry_chains ORDER BY source, root_run_id`,
    );
    expect(got.map((g) => ({ ...g, total_ms: g.total_ms === null ? null : Number(g.total_ms) }))).toEqual(want);
    expect(want.filter((w) => w.rescued === 1).length).toBeGreaterThan(0);
  });
});

describe('first-attempt rates', () => {
  it('failure_rates_weekly: first_attempts, first_attempt_failures, rescued_by_retry, first_attempt_failure_rate', async () => {
    const chains = chainsFromTruth(runs);
    const rescuedRoot = new Set<string>();
    const members = new Map<string, (TruthRun & { attempt: number })[]>();
    for (const r of runs.filter((x) => x.is_test === 0)) {
      const c = chains.get(`${r.source}|${r.run_id}`)!;
      const k = `${r.source}|${c.root}`;
      members.set(k, [...(members.get(k) ?? []), { ...r, attempt: c.attempt }]);
    }
    for (const [k, g] of members) {
      const order = [...g].sort((a, b) => a.attempt - b.attempt || a.created_at - b.created_at || (a.run_id < b.run_id ? -1 : 1));
      if (FAIL.has(order[0].status) && order[order.length - 1].status === 'succeeded') rescuedRoot.add(k);
    }
    const want = new Map<string, { week: string; source: string; workflow_id: string; runs: number; first_attempts: number; first_attempt_failures: number; rescued_by_retry: number; first_attempt_failure_rate: number | null }>();
    for (const r of runs) {
      if (r.is_test === 1 || !TERMINAL.has(r.status) || r.finished_at === null) continue;
      const c = chains.get(`${r.source}|${r.run_id}`)!;
      const k = `${monday(r.finished_at)}|${r.source}|${r.workflow_id}`;
      const e = want.get(k) ?? { week: monday(r.finished_at), source: r.source, workflow_id: r.workflow_id, runs: 0, first_attempts: 0, first_attempt_failures: 0, rescued_by_retry: 0, first_attempt_failure_rate: null };
      e.runs++;
      if (c.attempt === 1 && DECIDED.has(r.status)) e.first_attempts++;
      if (c.attempt === 1 && FAIL.has(r.status)) {
        e.first_attempt_failures++;
        if (rescuedRoot.has(`${r.source}|${c.root}`)) e.rescued_by_retry++;
      }
      want.set(k, e);
    }
    for (const e of want.values()) e.first_attempt_failure_rate = e.first_attempts === 0 ? null : round(e.first_attempt_failures / e.first_attempts);
    const got = await rows<{ week: string; source: string; workflow_id: string; runs: number; first_attempts: number; first_attempt_failures: number; rescued_by_retry: number; first_attempt_failure_rate: number | null }>(
      `SELECT week, source, workflow_id, runs, first_attempts, first_attempt_failures, rescued_by_retry, first_attempt_failure_rate FROM failure_rates_weekly ORDER BY week, source, workflow_id`,
    );
    const sorted = [...want.values()].sort((a, b) => (a.week + a.source + a.workflow_id < b.week + b.source + b.workflow_id ? -1 : 1));
    expect(got.map((g) => ({ ...g, first_attempt_failure_rate: round(g.first_attempt_failure_rate) }))).toEqual(sorted);
    expect(sorted.reduce((a, e) => a + e.rescued_by_retry, 0)).toBeGreaterThan(0);
    // The daily view counts the same runs.
    const daily = await rows<{ f: number; r: number }>(`SELECT toUInt32(sum(first_attempt_failures)) AS f, toUInt32(sum(rescued_by_retry)) AS r FROM failure_rates_daily`);
    expect(daily[0]).toEqual({ f: sorted.reduce((a, e) => a + e.first_attempt_failures, 0), r: sorted.reduce((a, e) => a + e.rescued_by_retry, 0) });
  });

  it('step_failure_rates_daily: a step shown at attempt > 1 failed its first attempt', async () => {
    const runOf = byKey(runs, (r) => `${r.source}|${r.run_id}`);
    const want = new Map<string, { first_attempt_failures: number; rescued_by_retry: number }>();
    for (const s of steps) {
      const r = runOf.get(`${s.source}|${s.run_id}`)!;
      if (r.is_test === 1 || !DECIDED.has(s.status) || s.finished_at === null) continue;
      const k = `${new Date(s.finished_at).toISOString().slice(0, 10)}|${s.source}|${r.workflow_id}|${s.step_ref}`;
      const e = want.get(k) ?? { first_attempt_failures: 0, rescued_by_retry: 0 };
      if (s.attempt > 1 || FAIL.has(s.status)) e.first_attempt_failures++;
      if (s.attempt > 1 && s.status === 'succeeded') e.rescued_by_retry++;
      want.set(k, e);
    }
    const got = await rows<{ day: string; source: string; workflow_id: string; step_ref: string; first_attempt_failures: number; rescued_by_retry: number; runs: number; cancelled: number }>(
      `SELECT day, source, workflow_id, step_ref, first_attempt_failures, rescued_by_retry, runs, cancelled FROM step_failure_rates_daily`,
    );
    const gotMap = new Map(got.filter((g) => g.runs > g.cancelled).map((g) => [`${g.day}|${g.source}|${g.workflow_id}|${g.step_ref}`, { first_attempt_failures: g.first_attempt_failures, rescued_by_retry: g.rescued_by_retry }]));
    expect(gotMap).toEqual(want);
    expect([...want.values()].some((e) => e.rescued_by_retry > 0)).toBe(true);
  });
});

describe('recovery', () => {
  it('recoveries match the red spells walked in the worlds', async () => {
    const want = spellsFromTruth(runs)
      .map((s) => ({
        source: s.source,
        workflow_id: s.workflow_id,
        failed_at: chTime(s.failed_at),
        failed_run_id: s.failed_run_id,
        recovered_at: chTime(s.recovered_at),
        recovery_ms: s.recovered_at === null ? null : s.recovered_at - s.failed_at,
        failed_runs: s.failed_runs,
      }))
      .sort((a, b) => (a.source + a.workflow_id + a.failed_at < b.source + b.workflow_id + b.failed_at ? -1 : 1));
    const got = await rows<Record<string, unknown>>(
      `SELECT source, workflow_id, failed_at, failed_run_id, recovered_at, recovery_ms, failed_runs FROM recoveries ORDER BY source, workflow_id, failed_at`,
    );
    expect(got.map((g) => ({ ...g, recovery_ms: g.recovery_ms === null ? null : Number(g.recovery_ms) }))).toEqual(want);
    // The incident: red from before the week boundary until after it.
    const incident = want.find((w) => w.workflow_id === 'nightly-etl' && w.failed_runs > 3);
    expect(incident).toBeDefined();
    expect(monday(Date.parse(incident!.failed_at + 'Z'))).not.toBe(monday(Date.parse((incident!.recovered_at ?? chTime(readAt))! + 'Z')));
  });

  it('failure_rates_weekly.mttr_ms and red_ms: recoveries ended in the week, red time inside the week', async () => {
    const spells = spellsFromTruth(runs);
    const got = await rows<{ week: string; source: string; workflow_id: string; mttr_ms: number | null; red_ms: number }>(
      `SELECT week, source, workflow_id, mttr_ms, red_ms FROM failure_rates_weekly ORDER BY week, source, workflow_id`,
    );
    const nowMs = Date.now();
    const want = got.map((g) => {
      const ws = Date.parse(g.week + 'T00:00:00Z');
      const we = ws + 7 * DAY;
      const ended = spells.filter((s) => s.source === g.source && s.workflow_id === g.workflow_id && s.recovered_at !== null && s.recovered_at >= ws && s.recovered_at < we);
      let red = 0;
      for (const s of spells.filter((x) => x.source === g.source && x.workflow_id === g.workflow_id)) {
        const end = s.recovered_at ?? nowMs;
        red += Math.max(0, Math.min(end, we) - Math.max(s.failed_at, ws));
      }
      return { ...g, mttr_ms: ended.length ? round(ended.reduce((a, s) => a + (s.recovered_at! - s.failed_at), 0) / ended.length) : null, red_ms: red };
    });
    // Open spells are measured to the wall clock, which only matters for weeks not yet over.
    const past = (w: { week: string }) => Date.parse(w.week + 'T00:00:00Z') + 7 * DAY < readAt;
    expect(got.filter(past).map((g) => ({ ...g, mttr_ms: round(g.mttr_ms), red_ms: Number(g.red_ms) }))).toEqual(want.filter(past));
    expect(want.some((w) => w.workflow_id === 'nightly-etl' && w.red_ms > 2 * DAY)).toBe(true);
  });
});

describe('failure signatures', () => {
  it('failures group exactly as the messages were generated: same template, same signature', async () => {
    const kindOf = byKey(runs, (r) => `${r.source}|${r.run_id}`);
    const got = await rows<{ source: string; run_id: string; workflow_id: string; error_signature: string }>(
      `SELECT source, run_id, workflow_id, error_signature FROM runs WHERE status IN ('failed', 'timed_out') AND is_test = 0`,
    );
    const sigToKind = new Map<string, Set<string>>();
    const kindToSig = new Map<string, Set<string>>();
    for (const g of got) {
      const kind = kindOf.get(`${g.source}|${g.run_id}`)!.error_kind;
      const a = `${g.source}|${g.workflow_id}|${g.error_signature}`;
      const b = `${g.source}|${g.workflow_id}|${kind}`;
      sigToKind.set(a, (sigToKind.get(a) ?? new Set()).add(kind));
      kindToSig.set(b, (kindToSig.get(b) ?? new Set()).add(g.error_signature));
    }
    for (const [k, v] of sigToKind) expect([k, [...v]]).toEqual([k, [...v].slice(0, 1)]);
    for (const [k, v] of kindToSig) expect([k, [...v]]).toEqual([k, [...v].slice(0, 1)]);
    // Real messages of one group differ (ids, numbers), yet share one signature.
    const messages = new Map<string, Set<string>>();
    for (const r of runs.filter((x) => FAIL.has(x.status))) messages.set(r.error_kind, (messages.get(r.error_kind) ?? new Set()).add(r.error));
    expect([...messages.values()].filter((m) => m.size > 3).length).toBeGreaterThan(3);
  });

  it('failure_signatures_weekly counts, first_seen_at and is_new match the generated templates', async () => {
    type W = { week: string; source: string; workflow_id: string; kind: string; runs: number; first: number };
    const weeks = new Map<string, W>();
    const firstEver = new Map<string, number>();
    for (const r of runs) {
      if (r.is_test === 1 || !FAIL.has(r.status) || r.finished_at === null) continue;
      const k = `${monday(r.finished_at)}|${r.source}|${r.workflow_id}|${r.error_kind}`;
      const w = weeks.get(k) ?? { week: monday(r.finished_at), source: r.source, workflow_id: r.workflow_id, kind: r.error_kind, runs: 0, first: r.finished_at };
      w.runs++;
      weeks.set(k, w);
      const fk = `${r.source}|${r.workflow_id}|${r.error_kind}`;
      firstEver.set(fk, Math.min(firstEver.get(fk) ?? Infinity, r.finished_at));
    }
    const want = [...weeks.values()].map((w) => {
      const ws = Date.parse(w.week + 'T00:00:00Z');
      const seenBefore = [...weeks.values()].some(
        (o) => o.source === w.source && o.workflow_id === w.workflow_id && o.kind === w.kind && Date.parse(o.week + 'T00:00:00Z') < ws && Date.parse(o.week + 'T00:00:00Z') >= ws - 28 * DAY,
      );
      return { week: w.week, source: w.source, workflow_id: w.workflow_id, kind: w.kind, runs: w.runs, first_seen_at: chTime(firstEver.get(`${w.source}|${w.workflow_id}|${w.kind}`)!), is_new: seenBefore ? 0 : 1 };
    });
    const got = await rows<{ week: string; source: string; workflow_id: string; error_signature: string; sample_error: string; runs: number; first_seen_at: string; is_new: number }>(
      `SELECT week, source, workflow_id, error_signature, sample_error, runs, first_seen_at, is_new FROM failure_signatures_weekly`,
    );
    // Signature ↔ template is one-to-one (previous test), so map each row to its template by its sample.
    const kindOfSample = new Map(runs.map((r) => [`${r.source}|${r.workflow_id}|${r.error}`, r.error_kind]));
    const mapped = got.map((g) => ({ week: g.week, source: g.source, workflow_id: g.workflow_id, kind: kindOfSample.get(`${g.source}|${g.workflow_id}|${g.sample_error}`)!, runs: g.runs, first_seen_at: g.first_seen_at, is_new: g.is_new }));
    const order = (a: { week: string; source: string; workflow_id: string; kind: string }, b: typeof a) => (a.week + a.source + a.workflow_id + a.kind < b.week + b.source + b.workflow_id + b.kind ? -1 : 1);
    expect(mapped.sort(order)).toEqual(want.sort(order));
    expect(want.some((w) => w.is_new === 1) && want.some((w) => w.is_new === 0)).toBe(true);
  });
});
