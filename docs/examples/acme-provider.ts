import { z } from 'zod';
import { defineProvider } from '../../providers/define.js';
import { bearer, fingerprintOf, t, ts, tsRequired } from '../../providers/common.js';

const run = z.object({
  id: z.string().min(1),
  pipeline: z.string(),
  status: z.string(),
  created_at: tsRequired,
  started_at: ts,
  ended_at: ts,
  updated_at: tsRequired,
}).passthrough();

export const acme = defineProvider({
  name: 'acme',
  options: z.object({ teamId: z.string() }).strict(),
  auth: (token) => bearer(token),
  runStatuses: { running: ['RUNNING'], succeeded: ['DONE'], failed: ['ERROR'], cancelled: ['STOPPED'] },
  list: [{
    name: 'runs',
    collection: {
      endpoint: 'GET /v2/runs', path: '/v2/runs', items: 'runs',
      // `options` is the source's options, typed by the schema above.
      query: ({ options, since }) => ({ team: options.teamId, updated_after: new Date(since).toISOString() }),
      paging: { style: 'cursor', cursorParam: 'after', nextCursor: 'next', limitParam: 'per_page', limit: 100 },
    },
  }],
  listItem: run,                      // zod schema: invalid items are quarantined
  key: (r) => r.id,
  itemTime: (r) => t(r.updated_at),   // the watermark
  fingerprint: (r) => fingerprintOf(r, ['status', 'updated_at']),
  detail: { request: { endpoint: 'GET /v2/runs/{id}', path: '/v2/runs/{id}', items: '' }, schema: run },
  toBundle: ({ run: r }) => ({
    run: { run_id: r.id, workflow_id: r.pipeline, provider_status: r.status, created_at: t(r.created_at),
           started_at: t(r.started_at), finished_at: t(r.ended_at), updated_at: t(r.updated_at) },
    raw: r,
  }),
});
