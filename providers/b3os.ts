import { z } from 'zod';
import type { Collection } from './types.js';
import { defineProvider, parentsOf } from './define.js';
import type { EnvelopeCheck } from '../http/client.js';
import { AuthError, EnvelopeError } from '../http/errors.js';
import { attrs, bearer, fingerprintOf, str, t, ts, tsRequired } from './common.js';

/** B3OS, REST `/v1` in a `{code, data, message, requestId}` envelope. See docs/providers.md § B3OS. */

const run = z
  .object({
    id: z.string().min(1),
    workflowId: z.string(),
    workflowVersion: z.number().nullish(),
    status: z.string(),
    startedAt: tsRequired,
    finishedAt: ts,
    triggerSource: z.string().nullish(),
    triggeredBy: z.string().nullish(),
    totalCu: z.number().nullish(),
    isSimulation: z.boolean().nullish(),
    isDustTest: z.boolean().nullish(),
    sourceRunId: z.string().nullish(),
  })
  .passthrough();

const node = z
  .object({ status: z.string(), startedAt: ts, finishedAt: ts, error: z.string().nullish() })
  .passthrough();

const detail = run.extend({
  executionState: z.record(z.string(), node).nullish(),
  propValues: z.record(z.string(), z.unknown()).nullish(),
});

const options = z
  .object({
    /** Sent as `X-Org-ID` when the token spans several organisations. */
    orgId: z.string().min(1).optional(),
    /**
     * B3OS does not document the order of a workflow's runs. Only when this is set (runs
     * come newest `startedAt` first) does a listing stop below the window; otherwise every
     * run of every workflow is listed each sync, and only changed ones are fetched.
     */
    newestFirst: z.boolean().default(false),
    /** Items of each offset page fetched again, for rows shifted down by new runs. */
    overlap: z.number().int().min(0).max(50).default(10),
  })
  .strict();

type Options = z.infer<typeof options>;

const FINGERPRINT = ['status', 'finishedAt', 'totalCu'] as const;

/** Non-200 `code` fails the answer even on HTTP 200; rate limits and server errors are retried. */
export const b3osEnvelope: EnvelopeCheck = (body, status, endpoint) => {
  if (body === null || typeof body !== 'object' || !('code' in body)) return;
  const b = body as { code: unknown; message?: unknown };
  const code = Number(b.code);
  if (code === 200) return;
  const msg = `${endpoint}: B3OS answered code ${String(b.code)}: ${str(b.message)}`;
  if (code === 401 || code === 403) throw new AuthError(`${msg} (check the source's tokenEnv and orgId)`, status, endpoint);
  throw new EnvelopeError(msg, status, endpoint, String(b.code), code === 404 ? 'not_found' : code === 429 || code >= 500 || !Number.isFinite(code) ? 'transient' : 'permanent', code === 429);
};

const workflow = z.object({ id: z.string().min(1, 'workflow without id'), name: z.string().nullish() }).passthrough();

export const b3os = defineProvider({
  name: 'b3os',
  options,
  auth: (token, o) => ({ ...bearer(token), ...(o.orgId ? { 'x-org-id': o.orgId } : {}) }),
  envelope: b3osEnvelope,
  runStatuses: {
    running: ['running'],
    waiting: ['waiting'],
    succeeded: ['success'],
    failed: ['failure', 'partial'],
    cancelled: ['cancelled'],
  },
  stepStatuses: {
    queued: ['pending'],
    running: ['running'],
    waiting: ['waiting'],
    succeeded: ['success'],
    failed: ['failure'],
    // A skipped node did not run: neither success nor failure.
    cancelled: ['cancelled', 'skipped'],
  },
  list: [
    {
      name: 'runs',
      collection: (o: Options): Collection<Options> => ({
        endpoint: 'GET /v1/workflows/{id}/runs',
        path: '/v1/workflows/{parent}/runs',
        items: 'data.items',
        paging: { style: 'offset', offsetParam: 'offset', limitParam: 'limit', limit: 100, hasMore: 'data.hasMore', overlap: o.overlap },
      }),
      parents: parentsOf({
        collection: { endpoint: 'GET /v1/workflows', path: '/v1/workflows', items: 'data.items', paging: { style: 'offset', offsetParam: 'offset', limitParam: 'limit', limit: 100, hasMore: 'data.hasMore', overlap: 0 } },
        schema: workflow,
        id: (w) => w.id,
        workflowName: (w) => w.name ?? undefined,
      }),
      stopBelow: (item, o) => (o.newestFirst ? t(item.startedAt) : null),
    },
  ],
  listItem: run,
  key: (item) => item.id,
  itemTime: (item) => t(item.startedAt),
  cursorColumn: 'started_at',
  fingerprint: (r) => fingerprintOf(r, FINGERPRINT),
  fingerprintFields: FINGERPRINT,
  detail: {
    request: { endpoint: 'GET /v1/runs/{id}', path: '/v1/runs/{id}', items: 'data' },
    schema: detail,
  },
  toBundle: ({ run: r }) => {
    const state: Record<string, z.infer<typeof node>> = r.executionState ?? {};
    const nodes = Object.entries(state);
    // A node's error is the run's error only when the run did not succeed (a retried node may carry one).
    const failed = r.status === 'success' ? undefined : nodes.find(([, n]) => n.error);
    return {
      run: {
        run_id: r.id,
        workflow_id: r.workflowId,
        workflow_version: r.workflowVersion == null ? '' : String(r.workflowVersion),
        provider_status: r.status,
        // B3OS gives no creation time: queue and total time stay unknown.
        created_at: null,
        started_at: t(r.startedAt),
        finished_at: t(r.finishedAt),
        updated_at: null,
        trigger: str(r.triggerSource),
        triggered_by: str(r.triggeredBy),
        retry_of_run_id: str(r.sourceRunId),
        error: failed ? str(failed[1].error) : '',
        cost: r.totalCu ?? null,
        is_test: !!(r.isSimulation || r.isDustTest),
        attributes: {
          ...attrs({ is_simulation: r.isSimulation, is_dust_test: r.isDustTest }),
          ...attrs(r.propValues, 'prop.'),
        },
      },
      steps: nodes.map(([id, n]) => ({
        step_id: id,
        step_ref: id,
        attempt: 0,
        provider_status: n.status,
        started_at: t(n.startedAt),
        finished_at: t(n.finishedAt),
        error: str(n.error),
      })),
      raw: r,
    };
  },
});
