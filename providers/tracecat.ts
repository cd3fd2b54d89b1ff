import { z } from 'zod';
import type { Collection, RequestContext } from './types.js';
import { defineProvider } from './define.js';
import type { EventRecord, RunBundle, StepRecord } from '../sync/records.js';
import { attrs, fingerprintOf, str, t, ts, tsRequired } from './common.js';

/** Tracecat (open source, on Temporal). See docs/providers.md § Tracecat. */

const execution = z
  .object({
    id: z.string().min(1),
    run_id: z.string().min(1),
    start_time: tsRequired,
    execution_time: ts,
    close_time: ts,
    status: z.string(),
    workflow_type: z.string().nullish(),
    task_queue: z.string().nullish(),
    history_length: z.number().nullish(),
    parent_wf_exec_id: z.string().nullish(),
    trigger_type: z.string().nullish(),
  })
  .passthrough();

const event = z
  .object({
    event_id: z.number(),
    event_time: tsRequired,
    event_type: z.string(),
    event_group: z
      .object({ action_ref: z.string().nullish(), current_attempt: z.number().nullish(), event_id: z.number().nullish(), action_id: z.unknown().optional(), udf_key: z.unknown().optional(), related_wf_exec_id: z.unknown().optional() })
      .passthrough()
      .nullish(),
    role: z.object({ user_id: z.string().nullish(), service_id: z.string().nullish() }).passthrough().nullish(),
    failure: z.object({ message: z.string().nullish() }).passthrough().nullish(),
  })
  .passthrough();

const detail = execution.extend({ events: z.array(event).default([]) });

const options = z
  .object({
    workspaceId: z.string().min(1),
    /** Page size of the search endpoint (the API caps it at 1000). */
    limit: z.number().int().min(1).max(1000).default(500),
  })
  .strict();

type Options = z.infer<typeof options>;

/** A run is (execution id, Temporal run id): a reset starts a new run under the same id. */
const SEP = '#';
export const tracecatKey = (id: string, runId: string) => `${id}${SEP}${runId}`;
const executionIdOf = (key: string) => key.slice(0, key.lastIndexOf(SEP));

const FINGERPRINT = ['status', 'close_time', 'history_length'] as const;

const workspace = ({ options }: RequestContext<Options>) => ({ workspace_id: options.workspaceId });
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Search pages bound to fixed filters: the opaque cursor only works with the filters it
 * was issued for, so each stream keeps its own and never changes them while paging.
 */
const search = (endpoint: string, query: (ctx: RequestContext<Options>) => Record<string, string | number>) => (options: Options): Collection<Options> => ({
  endpoint,
  path: '/workflow-executions/search',
  query: (ctx) => ({ ...workspace(ctx), ...query(ctx) }),
  items: 'items',
  paging: { style: 'cursor', cursorParam: 'cursor', nextCursor: 'next_cursor', hasMore: 'has_more', limitParam: 'limit', limit: options.limit, maxLimit: 1000 },
});

const CLOSE: Record<string, string> = {
  ACTIVITY_TASK_COMPLETED: 'COMPLETED',
  ACTIVITY_TASK_FAILED: 'FAILED',
  ACTIVITY_TASK_TIMED_OUT: 'TIMED_OUT',
  ACTIVITY_TASK_CANCELED: 'CANCELED',
  CHILD_WORKFLOW_EXECUTION_COMPLETED: 'COMPLETED',
  CHILD_WORKFLOW_EXECUTION_FAILED: 'FAILED',
  CHILD_WORKFLOW_EXECUTION_TIMED_OUT: 'TIMED_OUT',
  CHILD_WORKFLOW_EXECUTION_CANCELED: 'CANCELED',
  CHILD_WORKFLOW_EXECUTION_TERMINATED: 'TERMINATED',
};
const SCHEDULED = new Set(['ACTIVITY_TASK_SCHEDULED', 'START_CHILD_WORKFLOW_EXECUTION_INITIATED']);
const RUN_FAILURE = new Set(['WORKFLOW_EXECUTION_FAILED', 'WORKFLOW_EXECUTION_TIMED_OUT', 'WORKFLOW_EXECUTION_TERMINATED']);

type Ev = z.infer<typeof event>;

/**
 * Steps from the history: one per scheduled action (Temporal retries an activity inside
 * one scheduled event, so `attempt` is the attempt that ran last). Later events of the
 * action point back at it through `event_group.event_id`.
 */
export function stepsFromHistory(events: Ev[]): StepRecord[] {
  const steps = new Map<number, StepRecord>();
  for (const e of events) {
    const g = e.event_group;
    if (!g) continue;
    if (SCHEDULED.has(e.event_type)) {
      steps.set(e.event_id, {
        step_id: String(e.event_id),
        step_ref: str(g.action_ref),
        attempt: g.current_attempt ?? 1,
        provider_status: e.event_type === 'ACTIVITY_TASK_SCHEDULED' ? 'SCHEDULED' : 'INITIATED',
        // An activity's start is only written when it closes; a child's start comes with INITIATED.
        started_at: e.event_type === 'ACTIVITY_TASK_SCHEDULED' ? null : t(e.event_time),
        finished_at: null,
        attributes: attrs({ scheduled_at: e.event_time, action_id: g.action_id, udf_key: g.udf_key, related_wf_exec_id: g.related_wf_exec_id }),
      });
      continue;
    }
    const s = g.event_id == null ? undefined : steps.get(g.event_id);
    if (!s) continue;
    if (g.current_attempt != null) s.attempt = g.current_attempt;
    if (e.event_type === 'ACTIVITY_TASK_STARTED') {
      s.started_at = t(e.event_time);
      s.provider_status = 'STARTED';
    } else if (e.event_type === 'CHILD_WORKFLOW_EXECUTION_STARTED') {
      s.provider_status = 'STARTED';
    } else if (CLOSE[e.event_type]) {
      s.provider_status = CLOSE[e.event_type];
      s.finished_at = t(e.event_time);
      if (e.failure?.message) s.error = e.failure.message;
    }
  }
  return [...steps.values()];
}

function eventRecords(events: Ev[]): EventRecord[] {
  return events.map((e) => {
    const { event_id, event_time, event_type, ...rest } = e as Record<string, unknown> & Ev;
    return {
      event_id: String(event_id),
      seq: event_id,
      event_type,
      occurred_at: t(event_time),
      step_ref: str(e.event_group?.action_ref),
      message: str(e.failure?.message),
      data: rest,
    };
  });
}

type Execution = z.infer<typeof execution>;
type Detail = z.infer<typeof detail>;

/** One execution's records; a summary (no events) keeps the list item as its raw answer. */
function bundleOf(r: Detail): RunBundle {
  const events: Ev[] = r.events;
  const started = events.find((e) => e.event_type === 'WORKFLOW_EXECUTION_STARTED');
  const role = started?.role ?? null;
  const failure = [...events].reverse().find((e) => RUN_FAILURE.has(e.event_type))?.failure?.message;
  const { events: _events, ...summary } = r;
  return {
    run: {
      run_id: tracecatKey(r.id, r.run_id),
      // Execution ids are `<workflow id>:<execution>` (or `/`): the workflow is the part before.
      workflow_id: String(r.id).split(/[:/]/)[0],
      workflow_name: '',
      provider_status: r.status,
      created_at: t(r.start_time),
      started_at: t(r.execution_time ?? r.start_time),
      finished_at: t(r.close_time),
      updated_at: null,
      trigger: str(r.trigger_type),
      triggered_by: role ? str(role.user_id ?? role.service_id) : '',
      parent_run_id: str(r.parent_wf_exec_id),
      error: str(failure),
      attributes: attrs({ execution_id: r.id, temporal_run_id: r.run_id, workflow_type: r.workflow_type, task_queue: r.task_queue, history_length: r.history_length }),
    },
    steps: events.length ? stepsFromHistory(events) : [],
    events: eventRecords(events),
    raw: events.length ? r : summary,
  };
}

export const tracecat = defineProvider({
  name: 'tracecat',
  options,
  runStatuses: {
    running: ['RUNNING'],
    succeeded: ['COMPLETED'],
    failed: ['FAILED'],
    timed_out: ['TIMED_OUT'],
    cancelled: ['CANCELED', 'TERMINATED'],
    continued: ['CONTINUED_AS_NEW'],
  },
  stepStatuses: {
    queued: ['SCHEDULED', 'INITIATED'],
    running: ['STARTED'],
    succeeded: ['COMPLETED'],
    failed: ['FAILED'],
    timed_out: ['TIMED_OUT'],
    cancelled: ['CANCELED', 'TERMINATED'],
  },
  list: [
    // Runs that closed inside the window: the server filters by close time, nothing to stop on.
    { name: 'closed', collection: search('GET /workflow-executions/search (closed)', ({ since }) => ({ close_time_from: iso(since) })) },
    // Runs still open, whenever they started.
    { name: 'running', collection: search('GET /workflow-executions/search (running)', () => ({ status: 'RUNNING' })) },
    // Runs that started inside the window, whatever their status: an open run whose status is
    // neither RUNNING nor closed (PAUSED, or a word not documented yet) is found here.
    { name: 'started', collection: search('GET /workflow-executions/search (started)', ({ since }) => ({ start_time_from: iso(since) })) },
  ],
  listItem: execution,
  key: (item) => tracecatKey(item.id, item.run_id),
  // The watermark follows close time, the time the closed stream filters on.
  itemTime: (item) => t(item.close_time),
  cursorColumn: 'finished_at',
  // Every event adds to history_length, part of the change marker.
  listingShowsChanges: true,
  fingerprint: (r) => fingerprintOf(r, FINGERPRINT),
  fingerprintFields: FINGERPRINT,
  detail: {
    // Detail by id is the latest run of that id; the engine writes it under its own key.
    request: { endpoint: 'GET /workflow-executions/{execution_id}', path: '/workflow-executions/{id}', query: workspace, items: '' },
    schema: detail,
    pathId: executionIdOf,
    mayReturnOtherRun: true,
  },
  // A run superseded by a reset: what its list item says.
  listItemBundle: (item: Execution) => bundleOf({ ...item, events: [] }),
  toBundle: ({ run }) => bundleOf(run),
});
