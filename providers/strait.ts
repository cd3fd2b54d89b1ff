import { z } from 'zod';
import { defineProvider } from './define.js';
import { attrs, fingerprintOf, str, t, ts, tsRequired } from './common.js';

/** Strait (open-source engine), REST `/v1`. See docs/providers.md § Strait. */

/** How a run or a step stands: both carry these, under the same names. */
const outcome = { status: z.string(), error: z.string().nullish(), started_at: ts, finished_at: ts };

const run = z
  .object({
    id: z.string().min(1),
    workflow_id: z.string(),
    project_id: z.string().nullish(),
    ...outcome,
    triggered_by: z.string().nullish(),
    workflow_version: z.number().nullish(),
    payload: z.unknown().optional(),
    expires_at: ts,
    retry_of_run_id: z.string().nullish(),
    parent_workflow_run_id: z.string().nullish(),
    parent_step_run_id: z.string().nullish(),
    tags: z.record(z.string(), z.string()).nullish(),
    workflow_version_id: z.string().nullish(),
    created_by: z.string().nullish(),
    created_at: tsRequired,
  })
  .passthrough();

const step = z
  .object({
    id: z.string().min(1),
    workflow_run_id: z.string(),
    workflow_step_id: z.string().nullish(),
    step_ref: z.string(),
    job_run_id: z.string().nullish(),
    attempt: z.number().int().nullish(),
    ...outcome,
    deps_completed: z.number().nullish(),
    deps_required: z.number().nullish(),
    output: z.unknown().optional(),
    created_at: ts,
  })
  .passthrough();

const options = z
  .object({
    projectId: z.string().min(1),
    /** Tag filter; Strait refuses it together with a status filter, so runsync never sends both. */
    tagKey: z.string().optional(),
    tagValue: z.string().optional(),
  })
  .strict();

const FINGERPRINT = ['status', 'started_at', 'finished_at', 'error'] as const;

export const strait = defineProvider({
  name: 'strait',
  options,
  runStatuses: {
    queued: ['pending'],
    running: ['running', 'compensating'],
    waiting: ['paused'],
    succeeded: ['completed'],
    failed: ['failed', 'compensated', 'compensation_failed'],
    timed_out: ['timed_out'],
    cancelled: ['canceled'],
  },
  stepStatuses: {
    queued: ['pending'],
    waiting: ['waiting'],
    running: ['running'],
    succeeded: ['completed'],
    failed: ['failed'],
    // A skipped step did not run: like a cancellation it counts neither as success nor failure.
    cancelled: ['canceled', 'skipped'],
  },
  list: [
    {
      name: 'runs',
      collection: {
        endpoint: 'GET /v1/workflow-runs',
        path: '/v1/workflow-runs',
        query: ({ options: o }) => ({ project_id: o.projectId, tag_key: o.tagKey, tag_value: o.tagValue }),
        items: 'data',
        paging: { style: 'timestamp-cursor', cursorParam: 'cursor', itemTime: 'created_at', nextCursor: 'next_cursor', hasMore: 'has_more', limitParam: 'limit', limit: 100 },
      },
      // created_at DESC and no time filter: stop below the window.
      stopBelow: (item) => t(item.created_at),
    },
  ],
  listItem: run,
  key: (item) => item.id,
  itemTime: (item) => t(item.created_at),
  cursorColumn: 'created_at',
  fingerprint: (r) => fingerprintOf(r, FINGERPRINT),
  fingerprintFields: FINGERPRINT,
  detail: {
    request: { endpoint: 'GET /v1/workflow-runs/{id}', path: '/v1/workflow-runs/{id}', items: '' },
    schema: run,
  },
  detailFromListItem: (item) => item,
  children: {
    steps: {
      collection: {
        endpoint: 'GET /v1/workflow-runs/{id}/steps',
        path: '/v1/workflow-runs/{id}/steps',
        items: 'data',
        // Steps come created_at ASC: the next page takes `> cursor`.
        paging: { style: 'timestamp-cursor', cursorParam: 'cursor', itemTime: 'created_at', order: 'asc', nextCursor: 'next_cursor', hasMore: 'has_more', limitParam: 'limit', limit: 100 },
      },
      schema: step,
      key: (s) => s.id,
    },
  },
  toBundle: ({ run: r, children }) => ({
    run: {
      run_id: r.id,
      workflow_id: r.workflow_id,
      workflow_version: r.workflow_version == null ? '' : String(r.workflow_version),
      provider_status: r.status,
      created_at: t(r.created_at),
      started_at: t(r.started_at),
      finished_at: t(r.finished_at),
      updated_at: null,
      trigger: str(r.triggered_by),
      triggered_by: str(r.created_by),
      parent_run_id: str(r.parent_workflow_run_id),
      retry_of_run_id: str(r.retry_of_run_id),
      error: str(r.error),
      attributes: {
        ...attrs(r.tags, 'tag.'),
        ...attrs({ project_id: r.project_id, workflow_version_id: r.workflow_version_id, parent_step_run_id: r.parent_step_run_id, expires_at: r.expires_at }),
      },
    },
    steps: children.steps.map((s) => ({
      step_id: s.id,
      step_ref: s.step_ref,
      attempt: s.attempt ?? 0,
      provider_status: s.status,
      started_at: t(s.started_at),
      finished_at: t(s.finished_at),
      error: str(s.error),
      attributes: attrs({ workflow_step_id: s.workflow_step_id, job_run_id: s.job_run_id, deps_completed: s.deps_completed, deps_required: s.deps_required }),
    })),
    raw: { run: r, steps: children.steps },
  }),
});
