/**
 * What the warehouse must hold for a simulator, read from the simulator's truth with the
 * contract's status tables written out here (independently of providers/), and a
 * comparison that counts lost, duplicated, extra and differing runs. No test framework
 * inside: the soak script uses it too.
 */
import type { StraitSimulator } from '../../simulators/strait.js';
import type { TracecatSimulator, TracecatExecutionDetail } from '../../simulators/tracecat.js';
import type { B3osSimulator } from '../../simulators/b3os.js';
import type { AnonSimulator } from '../../simulators/anon.js';
import type { DxSimulator } from '../../simulators/dx.js';
import { chTime } from './compare.js';

type Status = [status: string, terminal: number];

const CONTRACT: Record<string, Record<string, Status>> = {
  strait: {
    pending: ['queued', 0], running: ['running', 0], compensating: ['running', 0], paused: ['waiting', 0],
    completed: ['succeeded', 1], failed: ['failed', 1], compensated: ['failed', 1], compensation_failed: ['failed', 1],
    timed_out: ['timed_out', 1], canceled: ['cancelled', 1],
  },
  tracecat: {
    RUNNING: ['running', 0], COMPLETED: ['succeeded', 1], FAILED: ['failed', 1], TIMED_OUT: ['timed_out', 1],
    CANCELED: ['cancelled', 1], TERMINATED: ['cancelled', 1], CONTINUED_AS_NEW: ['continued', 1],
  },
  b3os: { running: ['running', 0], waiting: ['waiting', 0], success: ['succeeded', 1], failure: ['failed', 1], partial: ['failed', 1], cancelled: ['cancelled', 1] },
  anon: {
    PENDING: ['queued', 0], IN_PROGRESS: ['running', 0], AWAITING_USER_INPUT: ['waiting', 0],
    COMPLETED: ['succeeded', 1], COMPLETED_WITH_NO_ACTION_TAKEN: ['succeeded', 1], FAILED: ['failed', 1],
  },
  dx: { SUCCEEDED: ['succeeded', 1], FAILED: ['failed', 1] },
};

/** A status word the contract's table lists (a word it does not list fails the test: the simulator should not send it). */
export function listedStatus(provider: string, word: string): Status {
  const s = CONTRACT[provider]?.[word];
  if (!s) throw new Error(`${provider} status ${JSON.stringify(word)} is not in the contract's table`);
  return s;
}

/** The contract: any status word the table does not list is `unknown`, not terminal. */
export function contractStatus(provider: string, word: string): Status {
  return CONTRACT[provider]?.[word] ?? ['unknown', 0];
}

export interface ExpectedRun {
  run_id: string;
  workflow_id: string;
  provider_status: string;
  status: string;
  is_terminal: number;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
}

export interface ExpectedTruth {
  provider: string;
  runs: ExpectedRun[];
  /** Child rows that must be there exactly once, as `run_id|child_id`. */
  children: { table: 'steps' | 'events'; idColumn: 'step_id' | 'event_id'; keys: string[]; mayHaveMore: Set<string> } | null;
}

export type AnySimulator = StraitSimulator | TracecatSimulator | B3osSimulator | AnonSimulator | DxSimulator;

/** Tracecat's warehouse run id: execution id and run id. */
export const tracecatKey = (e: { id: string; run_id: string }) => `${e.id}#${e.run_id}`;

/** Runs whose execution id has a later run: the API serves their history no more, only their search entry. */
export function superseded(execs: TracecatExecutionDetail[]): Set<string> {
  const latest = new Map<string, TracecatExecutionDetail>();
  for (const e of execs) {
    const cur = latest.get(e.id);
    if (!cur || Date.parse(e.start_time) > Date.parse(cur.start_time)) latest.set(e.id, e);
  }
  return new Set(execs.filter((e) => latest.get(e.id)!.run_id !== e.run_id).map(tracecatKey));
}

/** The warehouse's run id of a simulator world id (Tracecat keys runs by execution id and run id). */
export function warehouseRunId(sim: AnySimulator, worldId: string): string {
  if (sim.provider !== 'tracecat') return worldId;
  const e = (sim as TracecatSimulator).truth().executions.find((x) => x.run_id === worldId);
  if (!e) throw new Error(`no Tracecat execution with run_id ${worldId}`);
  return tracecatKey(e);
}

/** `dxIds`: DX has no listing, only the runs put in the inbox are expected. */
export function expectedOf(sim: AnySimulator, opts: { dxIds?: readonly string[] } = {}): ExpectedTruth {
  const st = (w: string) => contractStatus(sim.provider, w);
  switch (sim.provider) {
    case 'strait': {
      const t = (sim as StraitSimulator).truth();
      return {
        provider: 'strait',
        runs: t.runs.map((r) => {
          const [status, is_terminal] = st(r.status);
          return { run_id: r.id, workflow_id: r.workflow_id, provider_status: r.status, status, is_terminal, created_at: chTime(r.created_at), started_at: chTime(r.started_at), finished_at: chTime(r.finished_at) };
        }),
        children: { table: 'steps', idColumn: 'step_id', keys: Object.entries(t.steps).flatMap(([run, steps]) => steps.map((s) => `${run}|${s.id}`)), mayHaveMore: new Set() },
      };
    }
    case 'tracecat': {
      const t = (sim as TracecatSimulator).truth();
      const old = superseded(t.executions);
      return {
        provider: 'tracecat',
        runs: t.executions.map((e) => {
          const [status, is_terminal] = st(e.status);
          return {
            run_id: tracecatKey(e), workflow_id: e.id.slice(0, e.id.search(/[:/]/)), provider_status: e.status, status, is_terminal,
            created_at: chTime(e.start_time), started_at: chTime(e.execution_time), finished_at: chTime(e.close_time),
          };
        }),
        children: {
          table: 'events',
          idColumn: 'event_id',
          keys: t.executions.filter((e) => !old.has(tracecatKey(e))).flatMap((e) => e.events.map((ev) => `${tracecatKey(e)}|${ev.event_id}`)),
          mayHaveMore: old,
        },
      };
    }
    case 'b3os': {
      const t = (sim as B3osSimulator).truth();
      return {
        provider: 'b3os',
        runs: t.runs.map((r) => {
          const [status, is_terminal] = st(r.status);
          return { run_id: r.id, workflow_id: r.workflowId, provider_status: r.status, status, is_terminal, created_at: null, started_at: chTime(r.startedAt), finished_at: chTime(r.finishedAt) };
        }),
        children: { table: 'steps', idColumn: 'step_id', keys: t.runs.flatMap((r) => Object.keys(r.executionState).map((n) => `${r.id}|${n}`)), mayHaveMore: new Set() },
      };
    }
    case 'anon': {
      const t = (sim as AnonSimulator).truth();
      return {
        provider: 'anon',
        runs: t.runs.map((r) => {
          const [status, is_terminal] = st(r.status);
          return { run_id: r.id, workflow_id: r.workflowId, provider_status: r.status, status, is_terminal, created_at: chTime(r.createdAt), started_at: null, finished_at: chTime(r.completedAt) };
        }),
        children: null,
      };
    }
    case 'dx': {
      const t = (sim as DxSimulator).truth();
      const ids = new Set(opts.dxIds ?? []);
      const want = t.runs.filter((r) => ids.has(r.id));
      return {
        provider: 'dx',
        runs: want.map((r) => {
          const [status, is_terminal] = st(r.status);
          return { run_id: r.id, workflow_id: r.workflow.identifier, provider_status: r.status, status, is_terminal, created_at: null, started_at: chTime(r.started_at), finished_at: chTime(r.completed_at) };
        }),
        children: { table: 'events', idColumn: 'event_id', keys: want.flatMap((r) => r.events.map((e) => `${r.id}|${e.id}`)), mayHaveMore: new Set() },
      };
    }
  }
}

export interface Comparison {
  expected: number;
  /** Distinct expected runs present in `runs`. */
  landed: number;
  lost: string[];
  /** Run ids with more than one row in the analyst view or in the storage table's FINAL. */
  duplicated: string[];
  /** Runs in the warehouse the simulator never served. */
  extra: string[];
  /** `run_id: field want → got`, at most 20. */
  mismatched: string[];
  childrenLost: string[];
  childrenDuplicated: string[];
}

type Query = <R>(sql: string, params?: Record<string, unknown>) => Promise<R[]>;

export async function compareWithTruth(query: Query, source: string, exp: ExpectedTruth): Promise<Comparison> {
  const rows = await query<Record<string, unknown>>(
    `SELECT run_id, workflow_id, provider_status, status, is_terminal, created_at, started_at, finished_at FROM runs WHERE source = {s:String}`,
    { s: source },
  );
  const finalDup = await query<{ run_id: string }>(`SELECT run_id, count() AS c FROM run_versions FINAL WHERE source = {s:String} GROUP BY run_id HAVING c > 1`, { s: source });
  const byId = new Map<string, Record<string, unknown>[]>();
  for (const r of rows) byId.set(String(r.run_id), [...(byId.get(String(r.run_id)) ?? []), r]);
  const want = new Map(exp.runs.map((r) => [r.run_id, r]));
  const lost = exp.runs.filter((r) => !byId.has(r.run_id)).map((r) => r.run_id);
  const duplicated = [...new Set([...[...byId].filter(([, v]) => v.length > 1).map(([k]) => k), ...finalDup.map((d) => d.run_id)])];
  const extra = [...byId.keys()].filter((k) => !want.has(k));
  const mismatched: string[] = [];
  for (const [id, w] of want) {
    const got = byId.get(id)?.[0];
    if (!got) continue;
    for (const f of Object.keys(w) as (keyof ExpectedRun)[]) {
      const g = f === 'is_terminal' ? Number(got[f]) : got[f] ?? null;
      if (g !== w[f] && mismatched.length < 20) mismatched.push(`${id}: ${f} want ${JSON.stringify(w[f])} got ${JSON.stringify(g)}`);
    }
  }
  const childrenLost: string[] = [];
  const childrenDuplicated: string[] = [];
  if (exp.children) {
    const { table, idColumn, keys, mayHaveMore } = exp.children;
    const got = await query<{ k: string; c: number }>(`SELECT concat(run_id, '|', ${idColumn}) AS k, count() AS c FROM ${table} WHERE source = {s:String} GROUP BY k`, { s: source });
    const have = new Map(got.map((g) => [g.k, Number(g.c)]));
    for (const k of keys) if (!have.has(k)) childrenLost.push(k);
    for (const [k, c] of have) if (c > 1) childrenDuplicated.push(k);
    const wantKeys = new Set(keys);
    // A child the simulator does not list is only allowed for runs whose history it no longer serves.
    for (const k of have.keys()) if (!wantKeys.has(k) && !mayHaveMore.has(k.slice(0, k.lastIndexOf('|')))) childrenLost.push(`unexpected ${k}`);
  }
  return { expected: exp.runs.length, landed: exp.runs.length - lost.length, lost, duplicated, extra, mismatched, childrenLost, childrenDuplicated };
}

/** One line for failure messages and the soak table. */
export function describeComparison(c: Comparison): string {
  const few = (xs: string[]) => (xs.length ? ` [${xs.slice(0, 5).join(', ')}${xs.length > 5 ? ', …' : ''}]` : '');
  return (
    `expected ${c.expected}, landed ${c.landed}, lost ${c.lost.length}${few(c.lost)}, duplicated ${c.duplicated.length}${few(c.duplicated)}, ` +
    `extra ${c.extra.length}${few(c.extra)}, differing ${c.mismatched.length}${few(c.mismatched)}, ` +
    `children lost ${c.childrenLost.length}${few(c.childrenLost)}, children duplicated ${c.childrenDuplicated.length}${few(c.childrenDuplicated)}`
  );
}

export function isExact(c: Comparison): boolean {
  return c.lost.length + c.duplicated.length + c.extra.length + c.mismatched.length + c.childrenLost.length + c.childrenDuplicated.length === 0;
}
