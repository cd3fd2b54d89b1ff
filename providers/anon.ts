import { z } from 'zod';
import type { Collection, Paging } from './types.js';
import { defineProvider } from './define.js';
import { attrs, fingerprintOf, str, t, ts, tsRequired } from './common.js';

/** Anon v2. See docs/providers.md § Anon v2. */

const run = z
  .object({
    id: z.string().min(1),
    workflowId: z.string(),
    status: z.string(),
    completedAt: ts,
    createdAt: tsRequired,
    updatedAt: tsRequired,
    createdByUserId: z.string().nullish(),
    jobRunId: z.string().nullish(),
    currentStateName: z.string().nullish(),
  })
  .passthrough();

/**
 * The list endpoint's shape is not documented: an item need only carry an id. When it
 * also carries `updatedAt` and `status` as the detail does, unchanged runs are skipped;
 * otherwise every listed run is fetched by id.
 */
const listItem = z.object({ id: z.string().min(1), createdAt: ts, updatedAt: ts, status: z.string().nullish() }).passthrough();

/**
 * Paging of the undocumented list endpoint, all configurable. The default is an
 * ASSUMPTION: `GET /workflow-runs?limit=&cursor=` → `{data: [...], nextCursor}`, newest
 * `createdAt` first.
 */
const listOptions = z
  .object({
    path: z.string().startsWith('/').default('/workflow-runs'),
    style: z.enum(['cursor', 'page', 'offset']).default('cursor'),
    limit: z.number().int().min(1).max(1000).default(100),
    limitParam: z.string().min(1).default('limit'),
    cursorParam: z.string().min(1).default('cursor'),
    pageParam: z.string().min(1).default('page'),
    offsetParam: z.string().min(1).default('offset'),
    /** First page number of `page` paging. */
    firstPage: z.number().int().min(0).default(1),
    /** Dotted path of the items array in the answer ('' when the answer is the array). */
    items: z.string().default('data'),
    /** Dotted path of the next cursor (`cursor` paging). */
    nextCursor: z.string().default('nextCursor'),
    /** Dotted path of a "more pages" boolean, if the answer has one. */
    hasMore: z.string().optional(),
    /** Dotted path of the total count (`page` paging), if the answer has one. */
    total: z.string().optional(),
    /** Offset paging: items of each page fetched again, for rows shifted down by new runs. */
    overlap: z.number().int().min(0).default(5),
    /** Runs come newest `createdAt` first, so a listing may stop below the window. */
    newestFirst: z.boolean().default(true),
  })
  .strict();

const options = z.object({ list: listOptions.default(listOptions.parse({})) }).strict();

type Options = z.infer<typeof options>;

export function anonPaging(l: z.infer<typeof listOptions>): Paging {
  switch (l.style) {
    case 'cursor':
      return { style: 'cursor', cursorParam: l.cursorParam, nextCursor: l.nextCursor, hasMore: l.hasMore, limitParam: l.limitParam, limit: l.limit, maxLimit: 1000 };
    case 'page':
      return { style: 'page', pageParam: l.pageParam, sizeParam: l.limitParam, limit: l.limit, maxLimit: 1000, firstPage: l.firstPage, total: l.total };
    case 'offset':
      return { style: 'offset', offsetParam: l.offsetParam, limitParam: l.limitParam, limit: l.limit, maxLimit: 1000, hasMore: l.hasMore, overlap: l.overlap };
  }
}

// updatedAt moves whenever anything about the run changes: the change marker.
const FINGERPRINT = ['status', 'updatedAt'] as const;

export const anon = defineProvider({
  name: 'anon',
  options,
  runStatuses: {
    queued: ['PENDING'],
    running: ['IN_PROGRESS'],
    waiting: ['AWAITING_USER_INPUT'],
    succeeded: ['COMPLETED', 'COMPLETED_WITH_NO_ACTION_TAKEN'],
    failed: ['FAILED'],
  },
  list: [
    {
      name: 'runs',
      collection: ({ list: l }: Options): Collection<Options> => ({ endpoint: `GET ${l.path}`, path: l.path, items: l.items, paging: anonPaging(l) }),
      stopBelow: (item, o) => (o.list.newestFirst ? t(item.createdAt) : null),
    },
  ],
  listItem,
  key: (item) => item.id,
  itemTime: (item) => t(item.createdAt),
  cursorColumn: 'created_at',
  // updatedAt moves with every change of the run.
  listingShowsChanges: true,
  fingerprint: (r) => fingerprintOf(r, FINGERPRINT),
  fingerprintFields: FINGERPRINT,
  detail: {
    request: { endpoint: 'GET /workflow-runs/{id}', path: '/workflow-runs/{id}', items: '' },
    schema: run,
  },
  toBundle: ({ run: r }) => ({
    run: {
      run_id: r.id,
      workflow_id: r.workflowId,
      provider_status: r.status,
      created_at: t(r.createdAt),
      // Anon reports no start time: queue and run time stay unknown, total time is known.
      started_at: null,
      finished_at: t(r.completedAt),
      updated_at: t(r.updatedAt),
      triggered_by: str(r.createdByUserId),
      attributes: attrs({ job_run_id: r.jobRunId, current_state: r.currentStateName }),
    },
    raw: r,
  }),
});
