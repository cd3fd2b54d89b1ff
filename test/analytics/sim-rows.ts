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
    const meta = run.meta as { execId?: string; isSimulation?: boolean; isDustTest?: boolean };
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
