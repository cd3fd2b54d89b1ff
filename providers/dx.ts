import { z } from 'zod';
import { defineProvider } from './define.js';
import type { EnvelopeCheck } from '../http/client.js';
import { AuthError, EnvelopeError } from '../http/errors.js';
import type { EventRecord, LinkRecord } from '../sync/records.js';
import { scrub } from '../core/redact.js';
import { attrs, fingerprintOf, str, t, ts } from './common.js';

/**
 * DX Workflows (Slack-style RPC). See docs/providers.md § DX. DX documents no way to
 * list runs: a DX source has no listing; run ids arrive in the inbox (`runsync track`,
 * `POST /sources/{name}/runs`) and each sync polls them by id until they settle.
 */

const link = z.object({ url: z.string().min(1), icon: z.string().nullish(), label: z.string().nullish() }).passthrough();

const workflowRun = z
  .object({
    id: z.string().min(1),
    status: z.string(),
    started_at: ts,
    completed_at: ts,
    data: z.record(z.string(), z.unknown()).nullish(),
    links: z.array(link).nullish(),
    http_state: z.unknown().optional(),
    workflow: z
      .object({ identifier: z.string().nullish(), name: z.string().nullish(), parameters: z.array(z.object({ identifier: z.string() }).passthrough()).nullish() })
      .passthrough()
      .nullish(),
    entity: z.object({ identifier: z.string().nullish(), name: z.string().nullish() }).passthrough().nullish(),
    events: z
      .array(z.object({ id: z.string().min(1), type: z.string(), occurred_at: ts, message: z.string().nullish(), data: z.unknown().optional() }).passthrough())
      .nullish(),
    triggered_by_user: z.object({ id: z.union([z.number(), z.string()]).nullish(), name: z.string().nullish(), email: z.string().nullish() }).passthrough().nullish(),
  })
  .passthrough();

const options = z.object({}).strict();

/** Errors that say the token is missing or wrong: the source stops with a clear message. */
const AUTH_ERRORS = new Set(['not_authed', 'invalid_auth', 'account_inactive', 'token_revoked', 'token_expired', 'missing_scope', 'no_permission']);
/** Errors worth a retry (Slack-style names for transient trouble). */
const TRANSIENT_ERRORS = new Set(['internal_error', 'fatal_error', 'ratelimited', 'rate_limited', 'service_unavailable', 'request_timeout']);

/** Errors that say the run does not exist (Slack-style names). */
const NOT_FOUND_ERRORS = new Set(['not_found', 'notfound', 'run_not_found', 'workflow_run_not_found']);

/** Every answer carries `ok`; HTTP 200 with `ok:false` is a failure. */
export const dxEnvelope: EnvelopeCheck = (body, status, endpoint) => {
  if (body === null || typeof body !== 'object' || (body as { ok?: unknown }).ok !== false) {
    if (body === null || typeof body !== 'object' || (body as { ok?: unknown }).ok !== true) {
      throw new EnvelopeError(`${endpoint}: DX answer without "ok"`, status, endpoint, 'no_ok', 'permanent');
    }
    return;
  }
  const error = str((body as { error?: unknown }).error) || 'unknown_error';
  if (AUTH_ERRORS.has(error)) {
    throw new AuthError(`${endpoint}: DX refused the token (${error}): check the source's tokenEnv and that the token has the workflows:read scope`, status, endpoint);
  }
  throw new EnvelopeError(`${endpoint}: DX answered ok:false (${error})`, status, endpoint, error, NOT_FOUND_ERRORS.has(error) ? 'not_found' : TRANSIENT_ERRORS.has(error) ? 'transient' : 'permanent', /rate_?limit/.test(error));
};

const FINGERPRINT = ['status', 'completed_at', 'events', 'links'] as const;

/** A request capture with its URL cut to scheme and host: webhook URLs carry their secret in the path. */
function keptRequest(x: unknown): unknown {
  if (!isObject(x)) return x;
  const out = scrub(x);
  if (!isObject(out)) return out;
  for (const part of [out.request, out.http_request, out]) {
    if (isObject(part) && typeof part.url === 'string') part.url = originOf(part.url) ?? '[REDACTED]';
  }
  return out;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const field = (x: unknown, ...path: string[]): unknown => path.reduce<unknown>((v, k) => (isObject(v) ? v[k] : undefined), x);
type WorkflowRun = z.infer<typeof workflowRun>;

/** The run as kept in raw_runs: header credentials replaced, URLs cut to their host, the triggering user reduced. */
function keptRun(r: WorkflowRun, personalData: boolean): unknown {
  const u = r.triggered_by_user;
  return {
    ...r,
    http_state: r.http_state === undefined ? undefined : keptRequest(r.http_state),
    workflow: r.workflow ? keptRequest(r.workflow) : r.workflow,
    triggered_by_user: u ? { id: u.id ?? null, name: u.name ?? null, ...(personalData && u.email ? { email: u.email } : {}) } : u,
  };
}

export const dx = defineProvider({
  name: 'dx',
  options,
  envelope: dxEnvelope,
  // Documented: SUCCEEDED, FAILED. Anything else (e.g. RUNNING) is `unknown`: open, re-polled.
  runStatuses: {
    succeeded: ['SUCCEEDED'],
    failed: ['FAILED'],
  },
  key: (item) => item.id,
  fingerprint: (r) => fingerprintOf(r, FINGERPRINT),
  fingerprintFields: FINGERPRINT,
  detail: {
    request: { endpoint: 'GET /workflowRuns.info', path: '/workflowRuns.info?id={id}', items: 'workflow_run' },
    schema: workflowRun,
  },
  toBundle: ({ run: r, source }) => {
    const events: EventRecord[] = (r.events ?? []).map((e, i) => ({
      event_id: e.id,
      seq: i,
      event_type: e.type,
      occurred_at: t(e.occurred_at),
      message: str(e.message),
      data: e.data ?? null,
    }));
    // A link's time is that of the ADD_LINK event that added it.
    const addedAt = new Map<string, number | null>();
    for (const e of r.events ?? []) {
      const url = field(e.data, 'link', 'url');
      if (e.type === 'ADD_LINK' && typeof url === 'string' && !addedAt.has(url)) addedAt.set(url, t(e.occurred_at));
    }
    const links: LinkRecord[] = [];
    const seen = new Set<string>();
    for (const l of r.links ?? []) {
      if (seen.has(l.url)) continue;
      seen.add(l.url);
      links.push({ url: l.url, label: str(l.label), icon: str(l.icon), added_at: addedAt.get(l.url) ?? null });
    }
    const u = r.triggered_by_user;
    const req = field(r.http_state, 'request');
    const res = field(r.http_state, 'response');
    return {
      run: {
        run_id: r.id,
        workflow_id: str(r.workflow?.identifier),
        workflow_name: str(r.workflow?.name),
        provider_status: r.status,
        // DX has no creation time: queue and total time stay unknown.
        created_at: null,
        started_at: t(r.started_at),
        finished_at: t(r.completed_at),
        updated_at: null,
        triggered_by: u?.id == null ? '' : String(u.id),
        attributes: {
          ...attrs(r.data, 'param.'),
          ...attrs({
            parameters: (r.workflow?.parameters ?? []).map((p: { identifier: string }) => p.identifier).join(',') || null,
            'entity.identifier': r.entity?.identifier,
            'entity.name': r.entity?.name,
            'triggered_by.name': u?.name,
            'triggered_by.email': source.personalData ? u?.email : null,
            'http.method': field(req, 'method'),
            // Scheme and host only: webhook URLs (Slack, Discord) carry their secret in the path.
            'http.url': typeof field(req, 'url') === 'string' ? originOf(String(field(req, 'url'))) : null,
            'http.status_code': field(res, 'status_code'),
          }),
        },
      },
      events,
      links,
      raw: keptRun(r, source.personalData),
    };
  },
});

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}
