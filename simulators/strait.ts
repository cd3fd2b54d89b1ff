/**
 * Strait simulator: `GET /v1/workflow-runs` (cursor = last created_at, strict
 * `<`), run detail, step runs. Base URL for the connector: `sim.url`
 * (http://127.0.0.1:PORT, paths start with /v1).
 */
import { buildSimulator, intParam, type Simulator, type SimulatorOptions } from './core/sim.js';
import type { HttpReply, RequestCtx, RouteDef } from './core/server.js';
import { alternatingCorruption } from './core/faults.js';
import { Rng, deriveSeed } from './core/rng.js';
import { rfc3339Nano, toNs, parseRfc3339Ns } from './core/time.js';
import { TERMINAL_RUN, steps, type RunStatus, type StepStatus, type WorkflowDef, type World, type WorldRun } from './core/world.js';

export const STRAIT_RUN_STATUSES = [
  'pending', 'running', 'paused', 'completed', 'failed', 'timed_out', 'canceled',
  'compensating', 'compensated', 'compensation_failed',
] as const;
export type StraitRunStatus = (typeof STRAIT_RUN_STATUSES)[number];
export const STRAIT_STEP_STATUSES = ['pending', 'waiting', 'running', 'completed', 'failed', 'skipped', 'canceled'] as const;
export type StraitStepStatus = (typeof STRAIT_STEP_STATUSES)[number];

export interface StraitRun {
  id: string;
  workflow_id: string;
  project_id: string;
  status: StraitRunStatus;
  triggered_by: string;
  workflow_version: number;
  max_parallel_steps: number;
  payload: Record<string, unknown>;
  error?: string;
  started_at?: string;
  finished_at?: string;
  expires_at?: string;
  retry_of_run_id?: string;
  parent_workflow_run_id?: string;
  parent_step_run_id?: string;
  tags?: Record<string, string>;
  workflow_version_id: string;
  created_by: string;
  created_at: string;
}

export interface StraitStep {
  id: string;
  workflow_run_id: string;
  workflow_step_id: string;
  step_ref: string;
  job_run_id?: string;
  attempt: number;
  status: StraitStepStatus;
  deps_completed: number;
  deps_required: number;
  output?: Record<string, unknown>;
  error?: string;
  started_at?: string;
  finished_at?: string;
  created_at: string;
}

export interface StraitTruth {
  /** All runs, `created_at DESC, id DESC` (the list order). */
  runs: StraitRun[];
  /** Step runs per run id, `created_at ASC`. */
  steps: Record<string, StraitStep[]>;
}

export interface StraitSimulatorOptions extends SimulatorOptions {
  /** Project every token is bound to (default `proj_demo`). */
  projectId?: string;
}

export interface StraitSimulator extends Simulator<StraitTruth> {
  provider: 'strait';
  world: World;
  /** Create `n` runs sharing one exact `created_at` (ns included); returns their ids. */
  addRuns(n: number, opts?: { createdAt?: number }): string[];
  /** A terminal failed run starts compensating now and becomes compensated 60 s later. */
  compensate(runId: string): void;
  /** Force a run's status word now (in-flight runs are cut short when the status is terminal). */
  setStatus(runId: string, status: StraitRunStatus): void;
}

const WORKFLOWS: Omit<WorkflowDef, 'index'>[] = [
  { key: 'nightly-etl', name: 'Nightly ETL', description: 'Extract, transform and load the daily snapshot', version: 7, steps: steps(['extract', 'Extract'], ['transform', 'Transform'], ['load', 'Load'], ['notify', 'Notify']) },
  { key: 'deploy-service', name: 'Deploy service', description: 'Build, approve and roll out a service', version: 12, steps: steps(['build', 'Build'], ['test', 'Test'], ['approve', 'Approve', 'wait'], ['deploy', 'Deploy'], ['verify', 'Verify']) },
  { key: 'user-onboarding', name: 'User onboarding', description: 'Create an account and welcome the user', version: 3, steps: steps(['create_account', 'Create account'], ['provision', 'Provision', 'child'], ['send_welcome', 'Send welcome']) },
  { key: 'invoice-run', name: 'Invoice run', description: 'Charge and reconcile open invoices', version: 5, steps: steps(['fetch_invoices', 'Fetch invoices'], ['charge', 'Charge'], ['reconcile', 'Reconcile']) },
];

const RUN_STATUS: Record<RunStatus, StraitRunStatus> = {
  queued: 'pending',
  running: 'running',
  // ASSUMPTION: a run whose current step waits for approval shows as `paused`.
  waiting: 'paused',
  succeeded: 'completed',
  failed: 'failed',
  timed_out: 'timed_out',
  cancelled: 'canceled',
};
const RAW_TO_GENERIC: Record<StraitRunStatus, RunStatus> = {
  pending: 'queued', running: 'running', paused: 'waiting', completed: 'succeeded', failed: 'failed',
  timed_out: 'timed_out', canceled: 'cancelled', compensating: 'running', compensated: 'failed',
  compensation_failed: 'failed',
};
const STEP_STATUS: Record<StepStatus, StraitStepStatus> = {
  pending: 'pending', running: 'running', waiting: 'waiting', succeeded: 'completed', failed: 'failed',
  // Strait has no step timed_out: a timed-out step is failed with a timeout error.
  timed_out: 'failed', cancelled: 'canceled', skipped: 'skipped',
};

interface StraitMeta {
  triggered_by: string;
  payload: Record<string, unknown>;
  tags?: Record<string, string>;
  created_by: string;
  max_parallel_steps: number;
  expires_at?: number;
  stepIds: string[];
  jobRunIds: string[];
  parent?: { runId: string; stepId: string };
}

const jsonErr = (status: number, error: string, headers?: Record<string, string>): HttpReply => ({ status, json: { error }, headers });

export async function startStraitSimulator(opts: StraitSimulatorOptions = {}): Promise<StraitSimulator> {
  const seed = opts.seed ?? 1;
  const projectId = opts.projectId ?? 'proj_demo';
  const idRng = new Rng(deriveSeed(seed, 'strait-workflows'));
  const wfIds = new Map<string, { id: string; versionId: string; stepIds: string[] }>();
  for (const w of WORKFLOWS) {
    wfIds.set(w.key, { id: idRng.uuid(), versionId: idRng.uuid(), stepIds: w.steps.map(() => idRng.uuid()) });
  }
  const users = Array.from({ length: 4 }, () => `user_${idRng.hex(12)}`);
  const apiKey = `key_${idRng.hex(12)}`;

  const built = await buildSimulator<StraitTruth>({
    provider: 'strait',
    opts,
    defaultTokens: ['strait_test_token'],
    workflows: WORKFLOWS,
    // ASSUMPTION: the limit itself is not documented; a generous default keeps the
    // documented X-RateLimit-* headers on every answer without getting in the way.
    defaultRateLimit: { limit: 100_000, windowMs: 60_000 },
    hooks: {
      makeId: (rng) => rng.uuid(),
      decorate: (run, world, input) => {
        const rng = run.rng;
        const trigger = run.retryOf ? 'retry' : rng.pick(['manual', 'schedule', 'api', 'api', 'event']);
        const retryMeta = run.retryOf ? (run.retryOf.meta as unknown as StraitMeta) : null;
        const meta: StraitMeta = {
          triggered_by: trigger,
          payload: retryMeta ? structuredClone(retryMeta.payload) : { account_id: rng.int(1000, 9999), dry_run: rng.chance(0.1) },
          tags: rng.chance(0.6) ? { env: rng.pick(['prod', 'staging']), team: rng.pick(['core', 'billing', 'growth']) } : undefined,
          created_by: trigger === 'schedule' ? 'scheduler' : trigger === 'api' || trigger === 'retry' ? apiKey : rng.pick(users),
          max_parallel_steps: rng.pick([1, 2, 4, 8]),
          stepIds: run.steps.map(() => rng.uuid()),
          jobRunIds: run.steps.map(() => rng.uuid()),
        };
        if (run.final === 'timed_out') meta.expires_at = run.endAt;
        else if (rng.chance(0.3)) meta.expires_at = run.createdAt + 6 * 3_600_000;
        Object.assign(run.meta, meta, input.meta ?? {});
        // Failed runs are sometimes compensated later: a terminal run that changes again.
        if (run.final === 'failed' && rng.chance(0.3)) {
          const a = run.endAt + rng.int(30_000, 10 * 60_000);
          const b = a + rng.int(30_000, 5 * 60_000);
          run.overrides.push({ at: a, status: 'running', raw: 'compensating' });
          run.overrides.push({ at: b, status: 'failed', raw: rng.chance(0.8) ? 'compensated' : 'compensation_failed' });
        }
        // Whole-run retries create a new run pointing back with retry_of_run_id.
        if ((run.final === 'failed' || run.final === 'timed_out') && rng.chance(0.25)) {
          world.schedule(run.endAt + rng.int(60_000, 20 * 60_000), () => {
            world.createRun({ workflow: run.workflow, retryOf: run });
          });
        }
      },
    },
    api: (world, { tokens }) => {
      const list = (ctx: RequestCtx, workflowFilter?: string): HttpReply => {
        const pid = ctx.q('project_id');
        if (!pid) return jsonErr(400, 'project_id is required');
        // ASSUMPTION: a key bound to another project is refused with 403.
        if (pid !== projectId) return jsonErr(403, 'forbidden');
        const status = ctx.q('status');
        const tagKey = ctx.q('tag_key');
        const tagValue = ctx.q('tag_value');
        if (status && tagKey) return jsonErr(400, 'status and tag_key cannot be combined');
        if (status && !(STRAIT_RUN_STATUSES as readonly string[]).includes(status)) return jsonErr(400, `invalid status: ${status}`);
        let limit = intParam(ctx.q('limit'), 50);
        if (!Number.isInteger(limit) || limit < 1) return jsonErr(400, 'invalid limit');
        limit = Math.min(limit, 100);
        const cursorRaw = ctx.q('cursor');
        let cursor: bigint | null = null;
        if (cursorRaw) {
          cursor = parseRfc3339Ns(cursorRaw);
          if (cursor === null) return jsonErr(400, 'invalid cursor');
        }
        // Walk the cached created_at DESC order and serialise only what the page needs.
        const now = world.clock.now();
        const page: StraitRun[] = [];
        let hasMore = false;
        for (const run of sortedRuns(world)) {
          if (run.createdAt > now) continue;
          if (cursor !== null && toNs(run.createdAt, run.subNs) >= cursor) continue;
          if (workflowFilter && wfIds.get(run.workflow.key)!.id !== workflowFilter) continue;
          if (tagKey) {
            const tags = (run.meta as unknown as StraitMeta).tags;
            if (tags?.[tagKey] === undefined || (tagValue !== undefined && tags[tagKey] !== tagValue)) continue;
          }
          const json = runJson(world, run);
          if (status && json.status !== status) continue;
          if (page.length === limit) {
            hasMore = true;
            break;
          }
          page.push(json);
        }
        const data = page.map((r) => ctx.maybeCorrupt(r, r.id, corruptRun));
        const body: Record<string, unknown> = { data, has_more: hasMore };
        // next_cursor is present only while there is more (the code's omitempty).
        if (hasMore) body.next_cursor = page[page.length - 1].created_at;
        return { status: 200, json: body };
      };
      const routes: RouteDef[] = [
        { method: 'GET', path: '/v1/workflow-runs', handler: (ctx) => list(ctx) },
        {
          method: 'GET', path: '/v1/workflows/:id/runs',
          handler: (ctx) => list(ctx, ctx.params.id),
        },
        {
          method: 'GET', path: '/v1/workflow-runs/:id',
          handler: (ctx) => {
            const run = world.byId.get(ctx.params.id);
            if (!run || run.createdAt > world.clock.now()) return jsonErr(404, 'workflow run not found');
            const json = runJson(world, run);
            return { status: 200, json: ctx.maybeCorrupt(json, json.id, corruptRun) };
          },
        },
        {
          method: 'GET', path: '/v1/workflow-runs/:id/steps',
          handler: (ctx) => {
            const run = world.byId.get(ctx.params.id);
            if (!run || run.createdAt > world.clock.now()) return jsonErr(404, 'workflow run not found');
            let limit = intParam(ctx.q('limit'), 50);
            if (!Number.isInteger(limit) || limit < 1) return jsonErr(400, 'invalid limit');
            limit = Math.min(limit, 100);
            let rows = stepRows(world, run);
            const cursorRaw = ctx.q('cursor');
            if (cursorRaw) {
              const c = parseRfc3339Ns(cursorRaw);
              if (c === null) return jsonErr(400, 'invalid cursor');
              rows = rows.filter((r) => r.ns > c);
            }
            const page = rows.slice(0, limit);
            const hasMore = rows.length > limit;
            const body: Record<string, unknown> = {
              data: page.map((r) => ctx.maybeCorrupt(r.json, r.json.id, corruptStep)),
              has_more: hasMore,
            };
            if (hasMore) body.next_cursor = page[page.length - 1].json.created_at;
            return { status: 200, json: body };
          },
        },
      ];
      return {
        routes,
        style: {
          auth: (ctx) => (ctx.token && tokens.includes(ctx.token) ? null : jsonErr(401, 'unauthorized')),
          error: (status, message) => jsonErr(status, message),
          rateLimited: (d) =>
            jsonErr(429, 'rate limit exceeded', { 'Retry-After': String(Math.max(1, Math.ceil(d.retryAfterMs / 1000))) }),
          rateHeaders: (d) => ({ 'X-RateLimit-Limit': String(d.limit), 'X-RateLimit-Remaining': String(d.remaining) }),
        },
      };
    },
    truth: (world) => {
      const runs = allRuns(world);
      const steps: Record<string, StraitStep[]> = {};
      for (const r of runs) steps[r.json.id] = stepRows(world, r.run).map((s) => s.json);
      return { runs: runs.map((r) => r.json), steps };
    },
  });

  function runJson(world: World, run: WorldRun): StraitRun {
    const v = world.view(run);
    const m = run.meta as unknown as StraitMeta;
    const wf = wfIds.get(run.workflow.key)!;
    const ns = (t: number, salt: number) => rfc3339Nano(t, (run.subNs + salt * 7919) % 1_000_000);
    const out = {
      id: run.id,
      workflow_id: wf.id,
      project_id: projectId,
      status: (v.raw as StraitRunStatus | undefined) ?? RUN_STATUS[v.status],
      triggered_by: m.triggered_by,
      workflow_version: run.workflow.version,
      max_parallel_steps: m.max_parallel_steps,
      payload: m.payload,
    } as StraitRun;
    if (v.error) out.error = v.error;
    if (v.startedAt !== null) out.started_at = ns(v.startedAt, 1);
    if (v.finishedAt !== null) out.finished_at = ns(v.finishedAt, 2);
    if (m.expires_at !== undefined) out.expires_at = ns(m.expires_at, 3);
    if (run.retryOf) out.retry_of_run_id = run.retryOf.id;
    if (m.parent) {
      out.parent_workflow_run_id = m.parent.runId;
      out.parent_step_run_id = m.parent.stepId;
    }
    if (m.tags) out.tags = m.tags;
    out.workflow_version_id = wf.versionId;
    out.created_by = m.created_by;
    out.created_at = rfc3339Nano(run.createdAt, run.subNs);
    return reorder(out, RUN_KEYS);
  }

  /** created_at DESC, id DESC (deterministic tie-break). */
  function sortedRuns(world: World): WorldRun[] {
    return world.sorted('strait', (a, b) => {
      const na = toNs(a.createdAt, a.subNs);
      const nb = toNs(b.createdAt, b.subNs);
      if (na !== nb) return na < nb ? 1 : -1;
      return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
    });
  }

  function allRuns(world: World): { run: WorldRun; json: StraitRun }[] {
    const now = world.clock.now();
    return sortedRuns(world)
      .filter((run) => run.createdAt <= now)
      .map((run) => ({ run, json: runJson(world, run) }));
  }

  function stepRows(world: World, run: WorldRun): { json: StraitStep; ns: bigint }[] {
    const v = world.view(run);
    const m = run.meta as unknown as StraitMeta;
    const wf = wfIds.get(run.workflow.key)!;
    return v.steps.map((s, i) => {
      const sub = (run.subNs + 104_729 * (i + 1)) % 1_000_000;
      const json: StraitStep = {
        id: m.stepIds[i],
        workflow_run_id: run.id,
        workflow_step_id: wf.stepIds[i],
        step_ref: s.plan.def.ref,
        attempt: Math.max(1, s.attempt),
        status: STEP_STATUS[s.status],
        deps_completed: i === 0 ? 0 : v.steps[i - 1].status === 'succeeded' ? 1 : 0,
        deps_required: i === 0 ? 0 : 1,
        created_at: rfc3339Nano(s.plan.createdAt, sub),
      };
      if (s.startedAt !== null && s.plan.def.kind !== 'wait') json.job_run_id = m.jobRunIds[i];
      if (s.output) json.output = s.output;
      if (s.error) json.error = s.status === 'timed_out' ? `timeout: ${s.error}` : s.error;
      if (s.startedAt !== null) json.started_at = rfc3339Nano(s.startedAt, (sub + 1) % 1_000_000);
      if (s.finishedAt !== null) json.finished_at = rfc3339Nano(s.finishedAt, (sub + 2) % 1_000_000);
      // keep key order identical to the documented field order
      return { json: reorder(json, STEP_KEYS), ns: toNs(s.plan.createdAt, sub) };
    });
  }

  const world = built.world;
  const mustGet = (id: string) => {
    const r = world.byId.get(id);
    if (!r) throw new Error(`unknown strait run ${id}`);
    return r;
  };
  const sim: StraitSimulator = {
    ...built,
    provider: 'strait',
    addRuns(n, o = {}) {
      const createdAt = o.createdAt ?? world.clock.now();
      const subNs = 123_456;
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push(world.createRun({ createdAt, subNs }).id);
      return ids;
    },
    compensate(runId) {
      const run = mustGet(runId);
      const v = world.view(run);
      if (v.status !== 'failed' || v.finishedAt === null) throw new Error(`run ${runId} is not a terminal failed run (${v.raw ?? v.status})`);
      const now = world.clock.now();
      run.overrides = run.overrides.filter((o) => o.at <= now);
      run.overrides.push({ at: now, status: 'running', raw: 'compensating' });
      run.overrides.push({ at: now + 60_000, status: 'failed', raw: 'compensated' });
    },
    setStatus(runId, status) {
      const run = mustGet(runId);
      const generic = RAW_TO_GENERIC[status];
      if (!generic) throw new Error(`unknown strait status ${status}`);
      const now = world.clock.now();
      if (TERMINAL_RUN.has(generic) && run.endAt > now) world.terminate(run, generic, status);
      else {
        run.overrides = run.overrides.filter((o) => o.at <= now);
        run.overrides.push({ at: now, status: generic, raw: status });
      }
    },
  };
  return sim;
}

const RUN_KEYS = [
  'id', 'workflow_id', 'project_id', 'status', 'triggered_by', 'workflow_version', 'max_parallel_steps', 'payload',
  'error', 'started_at', 'finished_at', 'expires_at', 'retry_of_run_id', 'parent_workflow_run_id',
  'parent_step_run_id', 'tags', 'workflow_version_id', 'created_by', 'created_at',
];
const STEP_KEYS = [
  'id', 'workflow_run_id', 'workflow_step_id', 'step_ref', 'job_run_id', 'attempt', 'status', 'deps_completed',
  'deps_required', 'output', 'error', 'started_at', 'finished_at', 'created_at',
];

function reorder<T extends object>(obj: T, keys: string[]): T {
  const src = obj as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of keys) if (src[k] !== undefined) out[k] = src[k];
  return out as T;
}

/** A record the connector's schema must reject: no id, or a created_at that is not a time (alternating). */
const corruptRun = alternatingCorruption('id', 'created_at', 'not-a-date', 'created_at not a date');
const corruptStep = alternatingCorruption('id', 'attempt', 'first', 'attempt not a number');
