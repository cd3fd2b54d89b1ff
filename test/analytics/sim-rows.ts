/**
 * Warehouse rows straight from a simulator's world (its truth), for tests of the
 * analyst relations: every run and step as the world shows it at the clock's now,
 * with the retry link each provider gives (Strait retry_of_run_id, B3OS sourceRunId;
 * Tracecat runs share an execution id). The expected numbers are then computed from
 * the same world objects in TypeScript, not from the warehouse.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { toCh } from '../../core/time.js';
import type { World, WorldRun } from '../../simulators/core/world.js';
import { startStraitSimulator, startB3osSimulator, startTracecatSimulator } from '../../simulators/index.js';

export interface TruthRun {
  source: string;
  provider: 'strait' | 'b3os' | 'tracecat';
  run_id: string;
  workflow_id: string;
  workflow_name: string;
  status: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  error: string;
  /** The message with its variable parts as placeholders, from the world's plan. */
  error_kind: string;
  is_test: 0 | 1;
  /** Strait and B3OS: the run this one retries, as the API names it. */
  retry_of: string;
  /** Tracecat: the execution id the run belongs to. */
  execution_id: string;
  /** B3OS: compute units of the nodes that ran, as the API totals them. */
  cost: number | null;
  world: WorldRun;
}

export interface TruthStep {
  source: string;
  run_id: string;
  step_id: string;
  step_ref: string;
  attempt: number;
  status: string;
  started_at: number | null;
  finished_at: number | null;
  error: string;
}

const TERMINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'continued']);

export function truthRows(provider: TruthRun['provider'], source: string, world: World): { runs: TruthRun[]; steps: TruthStep[] } {
  const runs: TruthRun[] = [];
  const steps: TruthStep[] = [];
  for (const run of world.existing()) {
    const v = world.view(run);
    const meta = run.meta as { execId?: string; isSimulation?: boolean; isDustTest?: boolean; nodeCu?: number[] };
    const status = v.raw === 'CONTINUED_AS_NEW' ? 'continued' : v.status;
    const run_id = provider === 'tracecat' ? `${meta.execId}:${run.id}` : run.id;
    const error = v.error ?? '';
    runs.push({
      source,
      provider,
      run_id,
      workflow_id: run.workflow.key,
      workflow_name: run.workflow.name,
      status,
      created_at: run.createdAt,
      started_at: v.startedAt,
      finished_at: TERMINAL.has(status) ? v.finishedAt : null,
      error,
      error_kind: error === (run.error ?? '') ? (run.errorTemplate ?? error) : error,
      is_test: provider === 'b3os' && (meta.isSimulation || meta.isDustTest) ? 1 : 0,
      retry_of: provider !== 'tracecat' && run.retryOf ? run.retryOf.id : '',
      execution_id: provider === 'tracecat' ? String(meta.execId) : '',
      cost: provider === 'b3os' && meta.nodeCu ? v.steps.reduce((a, s, i) => a + (s.finishedAt !== null && s.startedAt !== null ? meta.nodeCu![i] : 0), 0) : null,
      world: run,
    });
    for (const s of v.steps) {
      if (!TERMINAL.has(s.status)) continue;
      steps.push({
        source,
        run_id,
        step_id: `${run_id}/${s.plan.index}`,
        step_ref: s.plan.def.ref,
        attempt: s.attempt,
        status: s.status,
        started_at: s.startedAt,
        finished_at: s.finishedAt,
        error: s.error ?? '',
      });
    }
  }
  return { runs, steps };
}

export async function insertTruth(client: ClickHouseClient, runs: TruthRun[], steps: TruthStep[], syncedAt: number): Promise<void> {
  const ms = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);
  await client.insert({
    table: 'run_versions',
    format: 'JSONEachRow',
    values: runs.map((r) => ({
      source: r.source,
      run_id: r.run_id,
      provider: r.provider,
      workflow_id: r.workflow_id,
      workflow_name: r.workflow_name,
      status: r.status,
      provider_status: r.status,
      is_terminal: TERMINAL.has(r.status) ? 1 : 0,
      created_at: toCh(r.created_at),
      started_at: toCh(r.started_at),
      finished_at: toCh(r.finished_at),
      queue_ms: ms(r.created_at, r.started_at),
      duration_ms: ms(r.started_at, r.finished_at),
      total_ms: ms(r.created_at, r.finished_at),
      retry_of_run_id: r.retry_of,
      error: r.error,
      cost: r.cost,
      is_test: r.is_test,
      attributes: r.execution_id ? { execution_id: r.execution_id } : {},
      first_seen_at: toCh(r.created_at),
      synced_at: toCh(syncedAt),
      version: 1,
    })),
  });
  const providerOf = new Map(runs.map((r) => [r.run_id, r.provider]));
  await client.insert({
    table: 'step_versions',
    format: 'JSONEachRow',
    values: steps.map((s) => ({
      ...s,
      provider: providerOf.get(s.run_id) ?? '',
      is_terminal: 1,
      started_at: toCh(s.started_at),
      finished_at: toCh(s.finished_at),
      duration_ms: ms(s.started_at, s.finished_at),
      synced_at: toCh(syncedAt),
      version: 1,
    })),
  });
}

const FAIL = new Set(['failed', 'timed_out']);
const DECIDED = new Set(['succeeded', 'failed', 'timed_out']);

/** Root and attempt of every run, by walking the world's retry pointers and execution ids. */
export function chainsFromTruth(runs: TruthRun[]): Map<string, { root: string; attempt: number }> {
  const out = new Map<string, { root: string; attempt: number }>();
  const known = new Map(runs.map((r) => [`${r.source}|${r.run_id}`, r]));
  const walk = (r: TruthRun): { root: string; attempt: number } => {
    const k = `${r.source}|${r.run_id}`;
    const done = out.get(k);
    if (done) return done;
    const prev = r.retry_of ? known.get(`${r.source}|${r.retry_of}`) : undefined;
    const up = prev ? walk(prev) : null;
    const res = up ? { root: up.root, attempt: up.attempt + 1 } : { root: r.run_id, attempt: 1 };
    out.set(k, res);
    return res;
  };
  for (const r of runs.filter((x) => x.provider !== 'tracecat')) walk(r);
  // Tracecat: runs of one execution id in creation order; a reset retries the run before it,
  // the run after a continue-as-new starts afresh.
  const execs = new Map<string, TruthRun[]>();
  for (const r of runs.filter((x) => x.provider === 'tracecat')) execs.set(r.execution_id, [...(execs.get(r.execution_id) ?? []), r]);
  for (const list of execs.values()) {
    list.sort((a, b) => a.created_at - b.created_at || (a.run_id < b.run_id ? -1 : 1));
    let cur: { root: string; attempt: number } | null = null;
    let prev: TruthRun | null = null;
    for (const r of list) {
      cur = prev && prev.status !== 'continued' && cur ? { root: cur.root, attempt: cur.attempt + 1 } : { root: r.run_id, attempt: 1 };
      out.set(`${r.source}|${r.run_id}`, cur);
      prev = r;
    }
  }
  return out;
}

/** Chains (test runs left out) whose first attempt failed and whose last attempt succeeded. */
export function rescuedRoots(runs: TruthRun[]): Set<string> {
  const chains = chainsFromTruth(runs);
  const members = new Map<string, (TruthRun & { attempt: number })[]>();
  for (const r of runs.filter((x) => x.is_test === 0)) {
    const c = chains.get(`${r.source}|${r.run_id}`)!;
    const k = `${r.source}|${c.root}`;
    members.set(k, [...(members.get(k) ?? []), { ...r, attempt: c.attempt }]);
  }
  const out = new Set<string>();
  for (const [k, g] of members) {
    const order = [...g].sort((a, b) => a.attempt - b.attempt || a.created_at - b.created_at || (a.run_id < b.run_id ? -1 : 1));
    if (FAIL.has(order[0].status) && order[order.length - 1].status === 'succeeded') out.add(k);
  }
  return out;
}

export interface Spell {
  source: string;
  workflow_id: string;
  failed_at: number;
  failed_run_id: string;
  recovered_at: number | null;
  failed_runs: number;
}

/** Red spells walked run by run, per workflow, over decided runs in finish order. */
export function spellsFromTruth(runs: TruthRun[]): Spell[] {
  const out: Spell[] = [];
  const per = new Map<string, TruthRun[]>();
  for (const r of runs) {
    if (r.is_test === 1 || !DECIDED.has(r.status) || r.finished_at === null) continue;
    const k = `${r.source}|${r.workflow_id}`;
    per.set(k, [...(per.get(k) ?? []), r]);
  }
  for (const list of per.values()) {
    list.sort((a, b) => a.finished_at! - b.finished_at! || (a.run_id < b.run_id ? -1 : 1));
    let open: Spell | null = null;
    for (const r of list) {
      if (FAIL.has(r.status)) {
        if (!open) {
          open = { source: r.source, workflow_id: r.workflow_id, failed_at: r.finished_at!, failed_run_id: r.run_id, recovered_at: null, failed_runs: 0 };
          out.push(open);
        }
        open.failed_runs++;
      } else if (open) {
        open.recovered_at = r.finished_at;
        open = null;
      }
    }
  }
  return out;
}

/** Three weeks of Strait, B3OS and Tracecat history ending `start`, with an incident on Strait's nightly ETL. */
export const SIM_START = Date.UTC(2026, 10, 25, 12);
export const SIM_SPELL = { from: Date.UTC(2026, 10, 21, 6), to: Date.UTC(2026, 10, 24, 3) };

/**
 * The worlds of three simulators (seeded): Strait with an incident on `nightly-etl` across
 * a week boundary, B3OS with re-runs, Tracecat with resets; an hour past the start so
 * scheduled retries happen.
 */
export async function simulatedHistory(): Promise<{ runs: TruthRun[]; steps: TruthStep[] }> {
  const common = { seed: 7, start: SIM_START, initialRuns: 500, historyDays: 21, runsPerHour: 0 };
  const strait = await startStraitSimulator({ ...common, redSpells: [{ workflow: 'nightly-etl', ...SIM_SPELL }] });
  const b3os = await startB3osSimulator(common);
  const tracecat = await startTracecatSimulator({ ...common, resetRate: 0.3 });
  const runs: TruthRun[] = [];
  const steps: TruthStep[] = [];
  try {
    for (const s of [strait, b3os, tracecat]) s.advance(3_600_000);
    const add = (p: TruthRun['provider'], source: string, world: World) => {
      const t = truthRows(p, source, world);
      runs.push(...t.runs);
      steps.push(...t.steps);
    };
    add('strait', 'strait-prod', strait.world);
    add('b3os', 'b3', b3os.world);
    add('tracecat', 'tc', tracecat.world);
  } finally {
    await Promise.all([strait.close(), b3os.close(), tracecat.close()]);
  }
  return { runs, steps };
}
