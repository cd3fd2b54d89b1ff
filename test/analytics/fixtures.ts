/**
 * A small, deterministic warehouse for the analytics tests: three sources over
 * three weeks (2026-W45..W47), several versions per run (a later version changes
 * the outcome), steps, links, sync runs and quarantine rows. The rows are the
 * ground truth; the tests recompute the expected numbers from them in TypeScript.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { toCh } from '../../core/time.js';

export const DAY = 86_400_000;
/** Monday 2026-11-16 00:00 UTC: the start of 2026-W47. */
export const W47 = Date.UTC(2026, 10, 16);
export const W46 = W47 - 7 * DAY;
export const W45 = W46 - 7 * DAY;
/** A fixed "now" inside W48 so reports of W47 are complete. */
export const NOW = W47 + 7 * DAY + 8 * 3_600_000;

const TERMINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'continued']);

export interface FxRun {
  source: string;
  run_id: string;
  provider: string;
  workflow_id: string;
  workflow_name: string;
  status: string;
  provider_status: string;
  is_terminal: 0 | 1;
  created_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  duration_ms: number | null;
  is_test: 0 | 1;
  error: string;
  version: number;
}

export interface FxStep {
  source: string;
  run_id: string;
  step_id: string;
  provider: string;
  step_ref: string;
  status: string;
  is_terminal: 0 | 1;
  started_at: number | null;
  finished_at: number | null;
  duration_ms: number | null;
  version: number;
}

export interface Fixtures {
  runs: FxRun[];
  steps: FxStep[];
  links: { source: string; run_id: string; url: string; provider: string; label: string; version: number }[];
  syncRuns: { source: string; sync_id: string; provider: string; started_at: number; finished_at: number | null; status: string; error: string; quarantined: number; version: number }[];
  quarantine: { source: string; received_at: number; provider: string; severity: string; reason: string }[];
}

/** Park–Miller: the same fixtures on every run. */
function rng(seed: number) {
  let s = seed;
  return () => {
    s = (s * 48271) % 2147483647;
    return s / 2147483647;
  };
}

const PROVIDER_STATUS: Record<string, Record<string, string>> = {
  strait: { succeeded: 'completed', failed: 'failed', timed_out: 'timed_out', cancelled: 'canceled', running: 'running', queued: 'pending' },
  tracecat: { succeeded: 'COMPLETED', failed: 'FAILED', timed_out: 'TIMED_OUT', cancelled: 'CANCELED', continued: 'CONTINUED_AS_NEW', running: 'RUNNING' },
  b3os: { succeeded: 'success', failed: 'failure', cancelled: 'cancelled', running: 'running', waiting: 'waiting' },
};

interface WorkflowSpec {
  id: string;
  name: string;
  failP: number;
  /** From which week index (0 = W45) it starts failing; before that it always succeeds. */
  failFrom?: number;
  /** Strictly alternating outcomes. */
  flaky?: boolean;
  steps?: string[];
  mean: number;
}

const SOURCES: { source: string; provider: string; workflows: WorkflowSpec[] }[] = [
  {
    source: 'strait-prod',
    provider: 'strait',
    workflows: [
      { id: 'wf-deploy', name: 'Deploy', failP: 0.2, steps: ['checkout', 'build', 'deploy'], mean: 120_000 },
      { id: 'wf-billing', name: 'Billing sync', failP: 0.05, mean: 40_000 },
      { id: 'wf-flaky', name: 'Flaky e2e', failP: 0, flaky: true, steps: ['setup', 'e2e'], mean: 300_000 },
      { id: 'wf-new-fail', name: 'Nightly export', failP: 0.5, failFrom: 2, mean: 60_000 },
    ],
  },
  {
    source: 'tc',
    provider: 'tracecat',
    workflows: [
      { id: 'tc-triage', name: 'Alert triage', failP: 0.1, steps: ['enrich', 'notify'], mean: 8_000 },
      { id: 'tc-long', name: 'Long poller', failP: 0.15, mean: 900_000 },
    ],
  },
  {
    source: 'b3',
    provider: 'b3os',
    workflows: [{ id: 'b3-swap', name: 'Swap', failP: 0.25, mean: 15_000 }],
  },
];

export function buildFixtures(): Fixtures {
  const rand = rng(20261116);
  const fx: Fixtures = { runs: [], steps: [], links: [], syncRuns: [], quarantine: [] };
  let n = 0;
  const addRun = (r: Omit<FxRun, 'is_terminal' | 'duration_ms' | 'provider_status'> & { provider_status?: string }) => {
    const duration = r.started_at !== null && r.finished_at !== null ? r.finished_at - r.started_at : null;
    const run: FxRun = {
      ...r,
      provider_status: r.provider_status ?? PROVIDER_STATUS[r.provider]?.[r.status] ?? r.status,
      is_terminal: TERMINAL.has(r.status) ? 1 : 0,
      duration_ms: duration,
    };
    fx.runs.push(run);
    return run;
  };

  for (const src of SOURCES) {
    for (const wf of src.workflows) {
      let flip = 0;
      for (let d = 0; d < 21; d++) {
        const week = Math.floor(d / 7);
        const perDay = 1 + Math.floor(rand() * 3);
        for (let k = 0; k < perDay; k++) {
          const id = `${src.source}-${wf.id}-${++n}`;
          const started = W45 + d * DAY + Math.floor(rand() * (DAY - 1));
          const duration = Math.max(1, Math.round(wf.mean * (0.3 + rand() * 1.4)));
          let status: string;
          if (wf.flaky) status = flip++ % 2 === 0 ? 'succeeded' : 'failed';
          else if (wf.failFrom !== undefined && week < wf.failFrom) status = 'succeeded';
          else {
            const x = rand();
            status = x < wf.failP ? (src.provider !== 'b3os' && rand() < 0.25 ? 'timed_out' : 'failed') : x > 0.97 ? 'cancelled' : 'succeeded';
          }
          // Versions: first seen running, then the outcome; written out of order below.
          const base = { source: src.source, run_id: id, provider: src.provider, workflow_id: wf.id, workflow_name: wf.name, created_at: started - 5_000, started_at: started, is_test: 0 as const, error: '' };
          addRun({ ...base, status: 'running', finished_at: null, version: 1 });
          addRun({ ...base, status, finished_at: started + duration, error: status === 'failed' ? `boom in ${wf.id}` : '', version: 2 });
          if (wf.steps) {
            let t = started;
            wf.steps.forEach((ref, i) => {
              const last = i === wf.steps!.length - 1;
              const dur = Math.max(1, Math.round(duration / wf.steps!.length));
              const sStatus = last ? status : 'succeeded';
              for (const v of [1, 2]) {
                fx.steps.push({
                  source: src.source,
                  run_id: id,
                  step_id: `${id}-s${i}`,
                  provider: src.provider,
                  step_ref: ref,
                  status: v === 1 ? 'running' : sStatus,
                  is_terminal: v === 1 ? 0 : TERMINAL.has(sStatus) ? 1 : 0,
                  started_at: t,
                  finished_at: v === 1 ? null : t + dur,
                  duration_ms: v === 1 ? null : dur,
                  version: v,
                });
              }
              t += dur;
            });
          }
          if (n % 3 === 0) fx.links.push({ source: src.source, run_id: id, url: `https://runs.example.test/${src.source}/${id}`, provider: src.provider, label: 'Open run', version: 1 });
        }
      }
    }
  }

  // Edge cases, all in W47.
  const day = (d: number, h: number, m = 0) => W47 + d * DAY + h * 3_600_000 + m * 60_000;
  // Crosses midnight: started Tuesday 23:50, finished Wednesday 00:20 → counts on Wednesday.
  addRun({ source: 'strait-prod', run_id: 'midnight-1', provider: 'strait', workflow_id: 'wf-midnight', workflow_name: 'Midnight batch', status: 'failed', created_at: day(1, 23, 45), started_at: day(1, 23, 50), finished_at: day(2, 0, 20), is_test: 0, error: 'late', version: 2 });
  // Strait compensation: running → failed (Thursday 23:58) → compensated (Friday 00:03). Counts once, Friday.
  const comp = { source: 'strait-prod', run_id: 'comp-1', provider: 'strait', workflow_id: 'wf-comp', workflow_name: 'Payout', created_at: day(3, 23, 0), started_at: day(3, 23, 1), is_test: 0 as const };
  addRun({ ...comp, status: 'running', finished_at: null, error: '', version: 10 });
  addRun({ ...comp, status: 'failed', finished_at: day(3, 23, 58), error: 'step 3 failed', version: 11 });
  addRun({ ...comp, status: 'running', provider_status: 'compensating', finished_at: null, error: 'step 3 failed', version: 12 });
  addRun({ ...comp, status: 'failed', provider_status: 'compensated', finished_at: day(4, 0, 3), error: 'step 3 failed (compensated)', version: 13 });
  // A run first seen failed that ends succeeded after a retry in place: counts as succeeded only.
  const retried = { source: 'tc', run_id: 'flip-1', provider: 'tracecat', workflow_id: 'tc-triage', workflow_name: 'Alert triage', created_at: day(2, 10), started_at: day(2, 10, 1), is_test: 0 as const, error: '' };
  addRun({ ...retried, status: 'failed', finished_at: day(2, 10, 2), version: 5 });
  addRun({ ...retried, status: 'succeeded', finished_at: day(2, 10, 4), version: 6 });
  // Cancelled-only bucket: rate NULL, durations known.
  for (let i = 0; i < 2; i++) addRun({ source: 'tc', run_id: `cancel-${i}`, provider: 'tracecat', workflow_id: 'tc-cancelled', workflow_name: 'Always cancelled', status: 'cancelled', created_at: day(0, 9 + i), started_at: day(0, 9 + i, 1), finished_at: day(0, 9 + i, 7), is_test: 0, error: '', version: 1 });
  // Continued-as-new only, and without a start time (duration unknown): rate NULL, p50 NULL.
  addRun({ source: 'tc', run_id: 'cont-1', provider: 'tracecat', workflow_id: 'tc-continued', workflow_name: 'Continues', status: 'continued', created_at: day(1, 8), started_at: null, finished_at: day(1, 9), is_test: 0, error: '', version: 1 });
  // No terminal runs at all: no bucket.
  addRun({ source: 'tc', run_id: 'open-1', provider: 'tracecat', workflow_id: 'tc-open', workflow_name: 'Still running', status: 'running', created_at: day(5, 8), started_at: day(5, 8), finished_at: null, is_test: 0, error: '', version: 1 });
  // B3OS simulations (is_test): left out of every rate, even for a workflow that has real runs.
  for (let i = 0; i < 5; i++) addRun({ source: 'b3', run_id: `sim-${i}`, provider: 'b3os', workflow_id: 'b3-swap', workflow_name: 'Swap', status: 'failed', created_at: day(2, 12, i), started_at: day(2, 12, i), finished_at: day(2, 12, i + 1), is_test: 1, error: 'simulated', version: 1 });
  // A workflow first seen this week: its failures are a new workflow's, not new failures.
  addRun({ source: 'strait-prod', run_id: 'fresh-1', provider: 'strait', workflow_id: 'wf-fresh', workflow_name: 'Fresh import', status: 'failed', created_at: day(1, 9), started_at: day(1, 9, 1), finished_at: day(1, 9, 4), is_test: 0, error: 'first try', version: 1 });
  // Ran in W45, not in W46, fails in W47: neither a new failure (no runs the week before) nor new.
  addRun({ source: 'strait-prod', run_id: 'monthly-1', provider: 'strait', workflow_id: 'wf-monthly', workflow_name: 'Monthly close', status: 'succeeded', created_at: W45 + DAY, started_at: W45 + DAY + 60_000, finished_at: W45 + DAY + 240_000, is_test: 0, error: '', version: 1 });
  addRun({ source: 'strait-prod', run_id: 'monthly-2', provider: 'strait', workflow_id: 'wf-monthly', workflow_name: 'Monthly close', status: 'failed', created_at: day(2, 6), started_at: day(2, 6, 1), finished_at: day(2, 6, 5), is_test: 0, error: 'ledger locked', version: 1 });
  // A step whose run was never synced: no run to attribute it to, so it counts nowhere.
  for (const v of [1, 2]) fx.steps.push({ source: 'strait-prod', run_id: 'orphan-run', step_id: 'orphan-run-s0', provider: 'strait', step_ref: 'orphan-step', status: v === 1 ? 'running' : 'failed', is_terminal: v === 1 ? 0 : 1, started_at: day(2, 11), finished_at: v === 1 ? null : day(2, 11, 5), duration_ms: v === 1 ? null : 300_000, version: v });
  addRun({ source: 'b3', run_id: 'sim-only', provider: 'b3os', workflow_id: 'b3-dust', workflow_name: 'Dust test', status: 'failed', created_at: day(2, 13), started_at: day(2, 13), finished_at: day(2, 13, 1), is_test: 1, error: 'dust', version: 1 });

  // Sync history, relative to the wall clock (sync_health measures freshness against now):
  // strait fine, tc had a failure, b3 stale (last success two days ago).
  const wall = Date.now();
  let sv = 1;
  for (const [source, provider] of [['strait-prod', 'strait'], ['tc', 'tracecat'], ['b3', 'b3os']] as const) {
    for (let i = 0; i < 4; i++) {
      const started = wall - (source === 'b3' ? 2 * DAY : 0) - (4 - i) * 300_000;
      const failed = source === 'tc' && i === 2;
      fx.syncRuns.push({ source, sync_id: `${source}-sync-${i}`, provider, started_at: started, finished_at: null, status: 'running', error: '', quarantined: 0, version: sv++ });
      fx.syncRuns.push({ source, sync_id: `${source}-sync-${i}`, provider, started_at: started, finished_at: started + 20_000, status: failed ? 'failed' : 'succeeded', error: failed ? 'HTTP 503 from /api/runs' : '', quarantined: 0, version: sv++ });
    }
  }
  // Sync history at fixed times in W45 and W46, for reports of past weeks.
  const fixed = [
    { source: 'tc', provider: 'tracecat', at: W45 + 3 * DAY + 7 * 3_600_000, error: 'old error from W45' },
    { source: 'tc', provider: 'tracecat', at: W46 + DAY + 9 * 3_600_000, error: '' },
    { source: 'tc', provider: 'tracecat', at: W46 + 2 * DAY + 10 * 3_600_000 + 15 * 60_000, error: 'HTTP 502 from /api/runs' },
    { source: 'tc', provider: 'tracecat', at: W46 + 4 * DAY + 9 * 3_600_000, error: 'timeout after 30 s' },
    { source: 'tc', provider: 'tracecat', at: W46 + 5 * DAY + 9 * 3_600_000, error: '' },
    { source: 'strait-prod', provider: 'strait', at: W46 + 3 * DAY, error: '' },
    { source: 'strait-prod', provider: 'strait', at: W46 + 6 * DAY + 23 * 3_600_000, error: '' },
  ];
  fixed.forEach((f, i) => {
    fx.syncRuns.push({ source: f.source, sync_id: `${f.source}-fixed-${i}`, provider: f.provider, started_at: f.at, finished_at: null, status: 'running', error: '', quarantined: 0, version: sv++ });
    fx.syncRuns.push({ source: f.source, sync_id: `${f.source}-fixed-${i}`, provider: f.provider, started_at: f.at, finished_at: f.at + 20_000, status: f.error ? 'failed' : 'succeeded', error: f.error, quarantined: 0, version: sv++ });
  });
  fx.quarantine.push({ source: 'tc', received_at: W46 + 2 * DAY + 3_600_000, provider: 'tracecat', severity: 'error', reason: 'missing id' });
  fx.quarantine.push({ source: 'tc', received_at: W46 + 3 * DAY + 3_600_000, provider: 'tracecat', severity: 'error', reason: 'bad status' });
  fx.quarantine.push({ source: 'tc', received_at: W46 + 3 * DAY + 7_200_000, provider: 'tracecat', severity: 'warning', reason: 'negative duration' });
  fx.quarantine.push({ source: 'tc', received_at: W45 + 3 * DAY, provider: 'tracecat', severity: 'error', reason: 'missing id' });
  fx.quarantine.push({ source: 'tc', received_at: wall - 3_600_000, provider: 'tracecat', severity: 'error', reason: 'missing id' });
  fx.quarantine.push({ source: 'tc', received_at: wall - 3_500_000, provider: 'tracecat', severity: 'warning', reason: 'negative duration' });
  return fx;
}

/** Writes the fixtures, each version in its own insert (its own part) and newest versions first. */
export async function insertFixtures(client: ClickHouseClient, fx: Fixtures): Promise<void> {
  const byVersionDesc = <T extends { version: number }>(rows: T[]) => {
    const groups = new Map<number, T[]>();
    for (const r of rows) groups.set(r.version, [...(groups.get(r.version) ?? []), r]);
    return [...groups.entries()].sort((a, b) => b[0] - a[0]).map(([, g]) => g);
  };
  for (const group of byVersionDesc(fx.runs)) {
    await client.insert({
      table: 'run_versions',
      format: 'JSONEachRow',
      values: group.map((r) => ({
        ...r,
        created_at: toCh(r.created_at),
        started_at: toCh(r.started_at),
        finished_at: toCh(r.finished_at),
        updated_at: toCh(r.finished_at ?? r.started_at),
        first_seen_at: toCh(r.created_at ?? r.started_at),
        synced_at: toCh(NOW),
        total_ms: r.created_at !== null && r.finished_at !== null ? r.finished_at - r.created_at : null,
        queue_ms: r.created_at !== null && r.started_at !== null ? r.started_at - r.created_at : null,
      })),
    });
  }
  for (const group of byVersionDesc(fx.steps)) {
    await client.insert({
      table: 'step_versions',
      format: 'JSONEachRow',
      values: group.map((s) => ({ ...s, started_at: toCh(s.started_at), finished_at: toCh(s.finished_at), synced_at: toCh(NOW) })),
    });
  }
  if (fx.links.length) await client.insert({ table: 'link_versions', format: 'JSONEachRow', values: fx.links.map((l) => ({ ...l, added_at: toCh(NOW), synced_at: toCh(NOW) })) });
  for (const group of byVersionDesc(fx.syncRuns)) {
    await client.insert({ table: 'sync_run_versions', format: 'JSONEachRow', values: group.map((s) => ({ ...s, started_at: toCh(s.started_at), finished_at: toCh(s.finished_at) })) });
  }
  await client.insert({ table: 'quarantine', format: 'JSONEachRow', values: fx.quarantine.map((q) => ({ ...q, received_at: toCh(q.received_at) })) });
}

/** The latest version of each run or step, as ReplacingMergeTree keeps it. */
export function latest<T extends { version: number }>(rows: T[], key: (r: T) => string): T[] {
  const m = new Map<string, T>();
  for (const r of rows) {
    const k = key(r);
    const cur = m.get(k);
    if (!cur || r.version > cur.version) m.set(k, r);
  }
  return [...m.values()];
}
