/**
 * Tracecat simulator (workflow executions on Temporal). Base URL for the
 * connector: `sim.url` (http://127.0.0.1:PORT; the real cloud base is
 * https://platform.tracecat.com/api, so paths here start at /workflow-executions).
 */
import { createHash } from 'node:crypto';
import { buildSimulator, intParam, type Simulator, type SimulatorOptions } from './core/sim.js';
import type { HttpReply, RequestCtx, RouteDef } from './core/server.js';
import { alternatingCorruption } from './core/faults.js';
import { Rng, deriveSeed } from './core/rng.js';
import { isoPython, parseIsoMs } from './core/time.js';
import { steps, type RunStatus, type RunView, type StepView, type WorkflowDef, type World, type WorldRun } from './core/world.js';

export const TRACECAT_STATUSES = ['RUNNING', 'COMPLETED', 'FAILED', 'CANCELED', 'TERMINATED', 'CONTINUED_AS_NEW', 'TIMED_OUT'] as const;
export type TracecatStatus = (typeof TRACECAT_STATUSES)[number];

export interface TracecatExecution {
  id: string;
  run_id: string;
  start_time: string;
  execution_time: string;
  close_time: string | null;
  status: TracecatStatus;
  workflow_type: string;
  task_queue: string;
  history_length: number;
  parent_wf_exec_id: string | null;
  trigger_type: string;
}

export interface TracecatEventGroup {
  event_id: number;
  udf_namespace: string;
  udf_name: string;
  udf_key: string;
  action_id: string;
  action_ref: string;
  action_title: string;
  action_description: string;
  action_input: Record<string, unknown>;
  action_result: unknown;
  current_attempt: number;
  retry_policy: { max_attempts: number; timeout: number; retry_until: string | null };
  start_delay: number;
  join_strategy: string;
  related_wf_exec_id: string | null;
}

export interface TracecatEvent {
  event_id: number;
  event_time: string;
  event_type: string;
  task_id: number;
  event_group: TracecatEventGroup | null;
  failure: { message: string; cause: Record<string, unknown> | null } | null;
  result: unknown;
  role: Record<string, unknown> | null;
  parent_wf_exec_id: string | null;
  workflow_timeout: number | null;
}

export interface TracecatExecutionDetail extends TracecatExecution {
  events: TracecatEvent[];
  interaction_states: Record<string, unknown>;
}

export interface TracecatCompactEvent {
  source_event_id: number;
  schedule_time: string;
  start_time: string | null;
  close_time: string | null;
  curr_event_type: string;
  status: string;
  action_name: string;
  action_ref: string;
  action_input: unknown;
  action_result: unknown;
  action_error: { message: string; type: string } | null;
  child_wf_exec_id: string | null;
  child_wf_count: number;
  loop_index: number | null;
  curr_attempt: number;
}

export interface TracecatCompactDetail extends TracecatExecution {
  events: TracecatCompactEvent[];
  interaction_states: Record<string, unknown>;
}

export interface TracecatTruth {
  /** Every run still inside retention (a reset id has several), search order: newest start first. */
  executions: TracecatExecutionDetail[];
  /** `/compact` answer per run, keyed by run_id. */
  compact: Record<string, TracecatCompactDetail>;
}

export interface TracecatSimulatorOptions extends SimulatorOptions {
  /** Workspace the tokens belong to. */
  workspaceId?: string;
  /** Closed executions older than this leave search and detail (default 30). */
  retentionDays?: number;
  /**
   * Probability that a failed or timed-out execution is reset later by an operator (a new
   * run under the same execution id). Default 0, so a seed keeps giving the same world.
   */
  resetRate?: number;
}

export interface TracecatSimulator extends Simulator<TracecatTruth> {
  provider: 'tracecat';
  world: World;
  workspaceId: string;
  /** Temporal reset: terminates the latest run if still running, starts a new run (new run_id) under the same id. Returns the new run_id. */
  reset(executionId: string): string;
}

export const DEFAULT_TRACECAT_WORKSPACE = 'b1e4f6a2-7c3d-4e59-8a10-2f6d9c4b7e31';

const WORKFLOWS: Omit<WorkflowDef, 'index'>[] = [
  { key: 'phishing-triage', name: 'Phishing triage', description: 'Enrich a reported email and open a case', version: 4, steps: steps(['parse_email', 'Parse email'], ['enrich_urls', 'Enrich URLs'], ['lookup_sender', 'Lookup sender', 'child'], ['open_case', 'Open case']) },
  { key: 'alert-enrichment', name: 'Alert enrichment', description: 'Enrich SIEM alerts with threat intel', version: 9, steps: steps(['fetch_alert', 'Fetch alert'], ['virustotal', 'VirusTotal lookup'], ['notify_slack', 'Notify Slack']) },
  { key: 'user-offboarding', name: 'User offboarding', description: 'Disable accounts after approval', version: 2, steps: steps(['get_user', 'Get user'], ['manager_approval', 'Manager approval', 'wait'], ['disable_okta', 'Disable Okta'], ['revoke_tokens', 'Revoke tokens']) },
];

const UDFS: Record<string, [string, string]> = {
  task: ['core', 'http_request'],
  wait: ['core', 'require'],
  child: ['core.workflow', 'execute'],
};

interface TcMeta {
  execId: string;
  trigger: string;
  resetOf?: string;
  continuedFrom?: string;
  actionIds: string[];
  childIds: string[];
  userId: string;
}

const detail = (status: number, d: unknown): HttpReply => ({ status, json: { detail: d } });

function mapStatus(v: RunView): TracecatStatus {
  if (v.raw) return v.raw as TracecatStatus;
  const m: Record<RunStatus, TracecatStatus> = {
    // Temporal has no queue state: a started execution is RUNNING until it closes.
    queued: 'RUNNING', running: 'RUNNING', waiting: 'RUNNING',
    succeeded: 'COMPLETED', failed: 'FAILED', timed_out: 'TIMED_OUT', cancelled: 'CANCELED',
  };
  return m[v.status];
}

export async function startTracecatSimulator(opts: TracecatSimulatorOptions = {}): Promise<TracecatSimulator> {
  const seed = opts.seed ?? 1;
  const workspaceId = opts.workspaceId ?? DEFAULT_TRACECAT_WORKSPACE;
  const retentionMs = (opts.retentionDays ?? 30) * 86_400_000;
  const resetRate = opts.resetRate ?? 0;
  const idRng = new Rng(deriveSeed(seed, 'tracecat-workflows'));
  const wfIds = new Map(WORKFLOWS.map((w) => [w.key, `wf-${idRng.hex(32)}`]));
  const users = Array.from({ length: 3 }, () => idRng.uuid());
  /** All runs per execution id, oldest first. */
  const runsByExec = new Map<string, WorldRun[]>();

  const built = await buildSimulator<TracecatTruth>({
    provider: 'tracecat',
    opts,
    defaultTokens: ['tc_test_token'],
    workflows: WORKFLOWS,
    hooks: {
      makeId: (rng) => rng.uuid(),
      decorate: (run, world, input) => {
        const rng = run.rng;
        const given = (input.meta ?? {}) as Partial<TcMeta>;
        // ASSUMPTION: most ids look like `wf-<hex>:exec-<hex>`, some use `/` as separator.
        const execId = given.execId ?? `${wfIds.get(run.workflow.key)}${rng.chance(0.2) ? '/' : ':'}exec-${rng.hex(32)}`;
        const meta: TcMeta = {
          execId,
          trigger: given.trigger ?? rng.pick(['manual', 'scheduled', 'webhook', 'webhook']),
          resetOf: given.resetOf,
          continuedFrom: given.continuedFrom,
          actionIds: run.steps.map(() => `act-${rng.hex(32)}`),
          childIds: run.steps.map((s) => (s.def.kind === 'child' ? `wf-${rng.hex(32)}:exec-${rng.hex(32)}` : '')),
          userId: rng.pick(users),
        };
        Object.assign(run.meta, meta);
        const list = runsByExec.get(execId) ?? [];
        list.push(run);
        runsByExec.set(execId, list);
        if (run.final === 'cancelled' && rng.chance(0.4)) {
          run.overrides.push({ at: run.endAt, status: 'cancelled', raw: 'TERMINATED' });
        }
        // Continue-as-new closes this run and starts the next one under the same id.
        if (run.final === 'succeeded' && rng.chance(0.05)) {
          run.overrides.push({ at: run.endAt, status: 'succeeded', raw: 'CONTINUED_AS_NEW' });
          world.schedule(run.endAt, () => {
            world.createRun({ workflow: run.workflow, meta: { execId, trigger: meta.trigger, continuedFrom: run.id } });
          });
        }
        // A failed execution is sometimes reset by an operator: a new run under the same execution id.
        if (resetRate > 0 && (run.final === 'failed' || run.final === 'timed_out') && rng.chance(resetRate)) {
          world.schedule(run.endAt + rng.int(60_000, 20 * 60_000), () => {
            world.createRun({ workflow: run.workflow, meta: { execId, trigger: meta.trigger, resetOf: run.id } });
          });
        }
      },
    },
    api: (world, { tokens }) => {
      const wsCheck = (ctx: RequestCtx): HttpReply | null => {
        const ws = ctx.q('workspace_id');
        if (!ws) return detail(422, [{ type: 'missing', loc: ['query', 'workspace_id'], msg: 'Field required', input: null }]);
        // ASSUMPTION: a service key used on another workspace gets 403.
        if (ws !== workspaceId) return detail(403, 'Forbidden');
        return null;
      };
      const latest = (execId: string): WorldRun | null => {
        const list = (runsByExec.get(execId) ?? []).filter((r) => visible(world, r));
        return list.length ? list[list.length - 1] : null;
      };
      /** One execution's answer, of its latest run (the API serves no older one by id). */
      const executionRoute = (path: string, toJson: (world: World, run: WorldRun) => { id: string; run_id: string }): RouteDef => ({
        method: 'GET',
        path,
        handler: (ctx) => {
          const bad = wsCheck(ctx);
          if (bad) return bad;
          const run = latest(ctx.params.id);
          if (!run) return detail(404, `Workflow execution ${ctx.params.id} not found`);
          const d = toJson(world, run);
          return { status: 200, json: ctx.maybeCorrupt(d, `${d.id}#${d.run_id}`, corrupt) };
        },
      });
      const routes: RouteDef[] = [
        {
          method: 'GET', path: '/workflow-executions/search',
          handler: (ctx) => {
            const bad = wsCheck(ctx);
            if (bad) return bad;
            const limit = intParam(ctx.q('limit'), 20);
            if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
              return detail(422, [{ type: 'less_than_equal', loc: ['query', 'limit'], msg: 'Input should be between 1 and 1000', input: ctx.q('limit') }]);
            }
            const statuses = ctx.qAll('status');
            for (const s of statuses) {
              if (!(TRACECAT_STATUSES as readonly string[]).includes(s)) {
                return detail(422, [{ type: 'enum', loc: ['query', 'status'], msg: `Input should be one of ${TRACECAT_STATUSES.join(', ')}`, input: s }]);
              }
            }
            const times: Record<string, number | undefined> = {};
            for (const k of ['start_time_from', 'start_time_to', 'close_time_from', 'close_time_to']) {
              const v = ctx.q(k);
              if (v === undefined) continue;
              const t = parseIsoMs(v);
              if (t === null) return detail(422, [{ type: 'datetime_parsing', loc: ['query', k], msg: 'Input should be a valid datetime', input: v }]);
              times[k] = t;
            }
            const fhash = filterHash(ctx);
            let cursor: Cursor | null = null;
            const rawCursor = ctx.q('cursor');
            if (rawCursor) {
              cursor = decodeCursor(rawCursor);
              if (!cursor) return detail(400, 'Invalid cursor');
              if (cursor.f !== fhash) return detail(400, 'Cursor does not match the current filters');
            }
            const wfFilter = ctx.q('workflow_id');
            const trigger = ctx.q('trigger');
            let rows = allRows(world).filter(({ run, status, closeMs }) => {
              const startMs = run.createdAt;
              const m = run.meta as unknown as TcMeta;
              if (wfFilter && !m.execId.startsWith(wfFilter)) return false;
              if (trigger && m.trigger !== trigger) return false;
              if (statuses.length && !statuses.includes(status)) return false;
              if (times.start_time_from !== undefined && startMs < times.start_time_from) return false;
              if (times.start_time_to !== undefined && startMs > times.start_time_to) return false;
              if (times.close_time_from !== undefined && (closeMs === null || closeMs < times.close_time_from)) return false;
              if (times.close_time_to !== undefined && (closeMs === null || closeMs > times.close_time_to)) return false;
              return true;
            });
            let page: typeof rows;
            let hasMore: boolean;
            let hasPrev: boolean;
            if (!cursor) {
              page = rows.slice(0, limit);
              hasMore = rows.length > limit;
              hasPrev = false;
            } else if (cursor.d === 'next') {
              const after = rows.filter((r) => cmpKey(keyOf(r.run), cursor!.k) > 0);
              hasPrev = rows.length > after.length;
              page = after.slice(0, limit);
              hasMore = after.length > limit;
            } else {
              const before = rows.filter((r) => cmpKey(keyOf(r.run), cursor!.k) < 0);
              page = before.slice(Math.max(0, before.length - limit));
              hasPrev = before.length > page.length;
              hasMore = rows.length > before.length;
            }
            rows = [];
            const items = page.map((r) => {
              const json = rowJson(world, r.run, r.v);
              return ctx.maybeCorrupt(json, `${json.id}#${json.run_id}`, corrupt);
            });
            return {
              status: 200,
              json: {
                items,
                next_cursor: hasMore && page.length ? encodeCursor({ k: keyOf(page[page.length - 1].run), f: fhash, d: 'next' }) : null,
                prev_cursor: hasPrev && page.length ? encodeCursor({ k: keyOf(page[0].run), f: fhash, d: 'prev' }) : null,
                has_more: hasMore,
                has_previous: hasPrev,
              },
            };
          },
        },
        executionRoute('/workflow-executions/:id', detailJson),
        executionRoute('/workflow-executions/:id/compact', compactJson),
      ];
      return {
        routes,
        style: {
          auth: (ctx) => {
            if (!ctx.token) return detail(401, 'Not authenticated');
            if (!tokens.includes(ctx.token)) return detail(401, 'Could not validate credentials');
            return null;
          },
          error: (status, message) => detail(status, message),
          // The limiter in Tracecat's code answers plain text, without Retry-After.
          rateLimited: () => ({ status: 429, text: 'Too Many Requests' }),
        },
      };
    },
    truth: (world) => {
      const rows = allRows(world);
      const compact: Record<string, TracecatCompactDetail> = {};
      for (const r of rows) compact[r.run.id] = compactJson(world, r.run);
      return { executions: rows.map((r) => detailJson(world, r.run)), compact };
    },
  });

  function visible(world: World, run: WorldRun): boolean {
    const now = world.clock.now();
    if (run.createdAt > now) return false;
    const v = world.view(run);
    return !(v.finishedAt !== null && v.finishedAt < now - retentionMs);
  }

  function baseJson(_world: World, run: WorldRun, v: RunView, historyLength: number): TracecatExecution {
    const m = run.meta as unknown as TcMeta;
    return {
      id: m.execId,
      run_id: run.id,
      start_time: isoPython(run.createdAt),
      // When the first workflow task may run: later than start_time when a run waited in the queue.
      execution_time: isoPython(run.startAt),
      close_time: v.finishedAt !== null ? isoPython(v.finishedAt) : null,
      status: mapStatus(v),
      workflow_type: 'DSLWorkflow',
      task_queue: 'tracecat-task-queue',
      history_length: historyLength,
      parent_wf_exec_id: null,
      trigger_type: m.trigger,
    };
  }

  function group(run: WorldRun, s: StepView, scheduledId: number, result: unknown): TracecatEventGroup {
    const m = run.meta as unknown as TcMeta;
    const [ns, name] = UDFS[s.plan.def.kind];
    const i = s.plan.index;
    const retry = { max_attempts: 3, timeout: 300, retry_until: null };
    return {
      event_id: scheduledId,
      udf_namespace: ns,
      udf_name: name,
      udf_key: `${ns}.${name}`,
      action_id: m.actionIds[i],
      action_ref: s.plan.def.ref,
      action_title: s.plan.def.name,
      action_description: '',
      action_input: {
        task: {
          ref: s.plan.def.ref,
          description: '',
          action: `${ns}.${name}`,
          args: s.plan.def.kind === 'child' ? { workflow_alias: s.plan.def.ref } : { url: `https://api.example.com/${s.plan.def.ref}` },
          depends_on: i > 0 ? [run.steps[i - 1].def.ref] : [],
          interaction: s.plan.def.kind === 'wait' ? { type: 'response', timeout: 3600 } : null,
          run_if: null,
          for_each: null,
          retry_policy: retry,
          start_delay: 0,
          wait_until: null,
          join_strategy: 'all',
        },
        exec_context: {},
        run_context: { wf_id: wfIds.get(run.workflow.key), wf_exec_id: m.execId, wf_run_id: run.id, environment: 'default' },
        interaction_context: null,
      },
      action_result: result,
      current_attempt: Math.max(1, s.attempt),
      retry_policy: retry,
      start_delay: 0,
      join_strategy: 'all',
      related_wf_exec_id: s.plan.def.kind === 'child' ? m.childIds[i] : null,
    };
  }

  function events(world: World, run: WorldRun, v: RunView): TracecatEvent[] {
    const m = run.meta as unknown as TcMeta;
    const out: TracecatEvent[] = [];
    const now = world.clock.now();
    const push = (t: number, type: string, extra: Partial<TracecatEvent> = {}): number => {
      const id = out.length + 1;
      out.push({
        event_id: id, event_time: isoPython(t), event_type: type, task_id: 1_048_576 + run.index * 64 + id,
        event_group: null, failure: null, result: null, role: null, parent_wf_exec_id: null, workflow_timeout: null, ...extra,
      });
      return id;
    };
    push(run.createdAt, 'WORKFLOW_EXECUTION_STARTED', {
      role: m.trigger === 'manual'
        ? { type: 'user', workspace_id: workspaceId, user_id: m.userId, access_level: 0, service_id: 'tracecat-api' }
        : { type: 'service', workspace_id: workspaceId, user_id: null, access_level: 0, service_id: 'tracecat-runner' },
      workflow_timeout: 86_400,
    });
    for (const s of v.steps) {
      if (s.startedAt === null) continue;
      const child = s.plan.def.kind === 'child';
      const closed = s.finishedAt !== null && s.finishedAt <= now;
      const sched = push(s.startedAt, child ? 'START_CHILD_WORKFLOW_EXECUTION_INITIATED' : 'ACTIVITY_TASK_SCHEDULED', {
        event_group: group(run, s, out.length + 1, null),
      });
      if (child) {
        push(s.startedAt + 40, 'CHILD_WORKFLOW_EXECUTION_STARTED', { event_group: group(run, s, sched, null) });
      } else if (closed) {
        // Temporal writes ACTIVITY_TASK_STARTED only when the activity closes, carrying the last attempt.
        const last = s.plan.attempts[s.plan.attempts.length - 1];
        push(last ? last.startAt : s.startedAt, 'ACTIVITY_TASK_STARTED', { event_group: group(run, s, sched, null) });
      }
      if (!closed) continue;
      const t = s.finishedAt!;
      const kind = child ? 'CHILD_WORKFLOW_EXECUTION' : 'ACTIVITY_TASK';
      if (s.status === 'succeeded') {
        push(t, `${kind}_COMPLETED`, { event_group: group(run, s, sched, s.output), result: s.output });
      } else if (s.status === 'failed') {
        push(t, `${kind}_FAILED`, { event_group: group(run, s, sched, null), failure: { message: s.error ?? 'failed', cause: { type: 'ApplicationError' } } });
      } else if (s.status === 'timed_out') {
        push(t, `${kind}_TIMED_OUT`, { event_group: group(run, s, sched, null), failure: { message: 'activity StartToClose timeout', cause: { type: 'TimeoutError' } } });
      } else if (s.status === 'cancelled') {
        push(t, child ? 'CHILD_WORKFLOW_EXECUTION_CANCELED' : 'ACTIVITY_TASK_CANCELED', { event_group: group(run, s, sched, null) });
      }
    }
    if (v.finishedAt !== null) {
      const st = mapStatus(v);
      const t = v.finishedAt;
      if (st === 'COMPLETED') push(t, 'WORKFLOW_EXECUTION_COMPLETED', { result: { status: 'ok' } });
      else if (st === 'FAILED') push(t, 'WORKFLOW_EXECUTION_FAILED', { failure: { message: v.error ?? 'workflow failed', cause: null } });
      else if (st === 'TIMED_OUT') push(t, 'WORKFLOW_EXECUTION_TIMED_OUT', { failure: { message: v.error ?? 'workflow timed out', cause: null } });
      else if (st === 'CANCELED') push(t, 'WORKFLOW_EXECUTION_CANCELED');
      else if (st === 'TERMINATED') push(t, 'WORKFLOW_EXECUTION_TERMINATED', { failure: { message: v.error ?? 'terminated', cause: null } });
      else if (st === 'CONTINUED_AS_NEW') push(t, 'WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
    }
    return out;
  }

  function detailJson(world: World, run: WorldRun): TracecatExecutionDetail {
    const v = world.view(run);
    const ev = events(world, run, v);
    return { ...baseJson(world, run, v, ev.length), events: ev, interaction_states: {} };
  }

  function compactJson(world: World, run: WorldRun): TracecatCompactDetail {
    const v = world.view(run);
    const ev = events(world, run, v);
    const m = run.meta as unknown as TcMeta;
    const now = world.clock.now();
    const compact: TracecatCompactEvent[] = [];
    for (const s of v.steps) {
      if (s.startedAt === null) continue;
      const sched = ev.find((e) => e.event_group?.action_ref === s.plan.def.ref);
      const closed = s.finishedAt !== null && s.finishedAt <= now;
      const cur = s.plan.attempts[Math.max(0, s.attempt - 1)];
      const status = !closed ? 'STARTED'
        : s.status === 'succeeded' ? 'COMPLETED' : s.status === 'failed' ? 'FAILED' : s.status === 'timed_out' ? 'TIMED_OUT' : 'CANCELED';
      compact.push({
        source_event_id: sched?.event_id ?? 0,
        schedule_time: isoPython(s.startedAt),
        start_time: cur ? isoPython(cur.startAt) : isoPython(s.startedAt),
        close_time: closed ? isoPython(s.finishedAt!) : null,
        curr_event_type: s.plan.def.kind === 'child'
          ? (closed ? `CHILD_WORKFLOW_EXECUTION_${status}` : 'CHILD_WORKFLOW_EXECUTION_STARTED')
          : (closed ? `ACTIVITY_TASK_${status}` : 'ACTIVITY_TASK_STARTED'),
        status,
        action_name: `${UDFS[s.plan.def.kind][0]}.${UDFS[s.plan.def.kind][1]}`,
        action_ref: s.plan.def.ref,
        action_input: sched?.event_group?.action_input ?? null,
        action_result: closed && s.status === 'succeeded' ? s.output : null,
        action_error: closed && s.error ? { message: s.error, type: s.status === 'timed_out' ? 'TimeoutError' : 'ApplicationError' } : null,
        child_wf_exec_id: s.plan.def.kind === 'child' ? m.childIds[s.plan.index] : null,
        child_wf_count: s.plan.def.kind === 'child' ? 1 : 0,
        loop_index: null,
        curr_attempt: Math.max(1, s.attempt),
      });
    }
    return { ...baseJson(world, run, v, ev.length), events: compact, interaction_states: {} };
  }

  function keyOf(run: WorldRun): Key {
    return [run.createdAt, (run.meta as unknown as TcMeta).execId, run.id];
  }

  /** Visible runs in search order with their current view; JSON is built only for the page. */
  function allRows(world: World): { run: WorldRun; v: RunView; status: TracecatStatus; closeMs: number | null }[] {
    const now = world.clock.now();
    const out: { run: WorldRun; v: RunView; status: TracecatStatus; closeMs: number | null }[] = [];
    for (const run of world.sorted('tracecat', (a, b) => cmpKey(keyOf(a), keyOf(b)))) {
      if (run.createdAt > now) continue;
      const v = world.view(run);
      if (v.finishedAt !== null && v.finishedAt < now - retentionMs) continue;
      out.push({ run, v, status: mapStatus(v), closeMs: v.finishedAt });
    }
    return out;
  }

  function rowJson(world: World, run: WorldRun, v: RunView): TracecatExecution {
    return baseJson(world, run, v, events(world, run, v).length);
  }

  const world = built.world;
  const sim: TracecatSimulator = {
    ...built,
    provider: 'tracecat',
    workspaceId,
    reset(executionId) {
      const list = runsByExec.get(executionId);
      if (!list || !list.length) throw new Error(`unknown tracecat execution ${executionId}`);
      const cur = list[list.length - 1];
      const now = world.clock.now();
      if (cur.endAt > now) world.terminate(cur, 'cancelled', 'TERMINATED', 'reset');
      const m = cur.meta as unknown as TcMeta;
      return world.createRun({ workflow: cur.workflow, meta: { execId: executionId, trigger: m.trigger, resetOf: cur.id } }).id;
    },
  };
  return sim;
}

/** [start ms, execution id, run id]; list order is newest start first, then id, run_id descending. */
type Key = [number, string, string];
function cmpKey(a: Key, b: Key): number {
  if (a[0] !== b[0]) return b[0] - a[0];
  if (a[1] !== b[1]) return a[1] < b[1] ? 1 : -1;
  if (a[2] !== b[2]) return a[2] < b[2] ? 1 : -1;
  return 0;
}

interface Cursor {
  k: Key;
  f: string;
  d: 'next' | 'prev';
}

/** Hash of every filter parameter (not limit/cursor): a cursor is only valid with the filters it was made for. */
function filterHash(ctx: RequestCtx): string {
  const parts = Object.keys(ctx.query)
    .filter((k) => k !== 'cursor' && k !== 'limit')
    .sort()
    .map((k) => `${k}=${[...ctx.qAll(k)].sort().join(',')}`);
  return createHash('sha256').update(parts.join('&')).digest('hex').slice(0, 16);
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(s: string): Cursor | null {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Cursor;
    if (!Array.isArray(c.k) || c.k.length !== 3 || typeof c.k[0] !== 'number' || typeof c.f !== 'string') return null;
    if (c.d !== 'next' && c.d !== 'prev') return null;
    return c;
  } catch {
    return null;
  }
}

/** Corrupted record: run_id removed, or start_time of the wrong type (alternating). */
const corrupt = alternatingCorruption('run_id', 'start_time', 12345, 'start_time is a number');
