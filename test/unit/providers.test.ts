import { describe, expect, it } from 'vitest';
import { normaliseStatus, isTerminal } from '../../core/status.js';
import { dx, dxEnvelope } from '../../providers/dx.js';
import { anon } from '../../providers/anon.js';
import { tracecat, stepsFromHistory } from '../../providers/tracecat.js';
import { b3os, b3osEnvelope } from '../../providers/b3os.js';
import { AuthError, EnvelopeError } from '../../http/errors.js';
import { scrub, looksLikeCredential } from '../../core/redact.js';
import { parseConfig } from '../../config/load.js';
import { parseRunIds } from '../../server/inbox.js';
import { isRejected, type BoundProvider, type FetchedRun, type Provider } from '../../providers/types.js';

const OPTIONS: Record<string, Record<string, unknown>> = { dx: {}, anon: {}, tracecat: { workspaceId: 'w' }, b3os: {}, strait: { projectId: 'p' } };
const bound = (p: Provider, options?: Record<string, unknown>): BoundProvider =>
  p.bind(parseConfig({ sources: [{ name: 's', provider: p.name, baseUrl: 'http://x', tokenEnv: 'T', options: options ?? OPTIONS[p.name] }] }).sources[0]);
/** A detail answer through the provider's own schema and flattening. */
function detailBundle(p: BoundProvider, raw: unknown) {
  const r = p.detail!.read(raw);
  if (isRejected(r)) throw new Error(r.rejected);
  return (r as FetchedRun).bundle();
}

// The contract's status table, written out per provider, plus an unknown word for each.
const TABLE: [Provider, [string, string, boolean][]][] = [
  [dx, [['SUCCEEDED', 'succeeded', true], ['FAILED', 'failed', true], ['RUNNING', 'unknown', false], ['', 'unknown', false]]],
  [
    anon,
    [
      ['PENDING', 'queued', false], ['IN_PROGRESS', 'running', false], ['AWAITING_USER_INPUT', 'waiting', false],
      ['COMPLETED', 'succeeded', true], ['COMPLETED_WITH_NO_ACTION_TAKEN', 'succeeded', true], ['FAILED', 'failed', true],
      ['CANCELLED', 'unknown', false],
    ],
  ],
  [
    tracecat,
    [
      ['RUNNING', 'running', false], ['COMPLETED', 'succeeded', true], ['FAILED', 'failed', true], ['TIMED_OUT', 'timed_out', true],
      ['CANCELED', 'cancelled', true], ['TERMINATED', 'cancelled', true], ['CONTINUED_AS_NEW', 'continued', true], ['PAUSED', 'unknown', false],
    ],
  ],
  [
    b3os,
    [
      ['running', 'running', false], ['waiting', 'waiting', false], ['success', 'succeeded', true], ['failure', 'failed', true],
      ['partial', 'failed', true], ['cancelled', 'cancelled', true], ['queued', 'unknown', false],
    ],
  ],
];

describe.each(TABLE)('status table of $name', (def, cases) => {
  it.each(cases)('%s → %s (terminal: %s)', (raw, normal, terminal) => {
    const s = normaliseStatus(bound(def).runStatuses, raw);
    expect(s).toBe(normal);
    expect(isTerminal(s)).toBe(terminal);
  });
});

describe('envelopes', () => {
  it('DX: ok:false is an error on HTTP 200; auth errors stop, transient ones retry', () => {
    expect(() => dxEnvelope({ ok: true, workflow_run: {} }, 200, 'e')).not.toThrow();
    expect(() => dxEnvelope({ ok: false, error: 'invalid_auth' }, 200, 'e')).toThrow(AuthError);
    expect(() => dxEnvelope({ ok: false, error: 'not_authed' }, 200, 'e')).toThrow(/not_authed.*tokenEnv/);
    const transient = (() => { try { dxEnvelope({ ok: false, error: 'internal_error' }, 200, 'e'); } catch (e) { return e; } })();
    expect(transient).toBeInstanceOf(EnvelopeError);
    expect((transient as EnvelopeError).kind).toBe('transient');
    const fatal = (() => { try { dxEnvelope({ ok: false, error: 'not_found' }, 200, 'e'); } catch (e) { return e; } })();
    expect((fatal as EnvelopeError).kind).toBe('not_found');
    expect(() => dxEnvelope({ workflow_run: {} }, 200, 'e')).toThrow(EnvelopeError);
  });
  it('B3OS: a non-200 code fails the answer', () => {
    expect(() => b3osEnvelope({ code: 200, data: {} }, 200, 'e')).not.toThrow();
    expect(() => b3osEnvelope({ code: 401, data: null, message: 'unauthorized' }, 200, 'e')).toThrow(AuthError);
    const e = (() => { try { b3osEnvelope({ code: 503, data: null }, 200, 'e'); } catch (x) { return x as EnvelopeError; } })();
    expect(e?.kind).toBe('transient');
    const bad = (() => { try { b3osEnvelope({ code: 400, data: null }, 200, 'e'); } catch (x) { return x as EnvelopeError; } })();
    expect(bad?.kind).toBe('permanent');
  });
});

describe('B3OS stops below the window only when newest-first ordering is configured', () => {
  const item = { id: 'r', workflowId: 'w', status: 'running', startedAt: '2026-01-01T00:00:00.000Z' };
  const stopTime = (options: Record<string, unknown>) => {
    const l = bound(b3os, options).readListItem(item, 'runs');
    if (isRejected(l)) throw new Error(l.rejected);
    return l.stopTime;
  };
  it('default: no stop', () => expect(stopTime({})).toBeNull());
  it('newestFirst: stop on startedAt', () => expect(stopTime({ newestFirst: true })).toBe(Date.parse(item.startedAt)));
});

describe('Anon list paging comes from the source options', () => {
  const source = (options: Record<string, unknown>) => ({ streams: bound(anon, options).streams });
  it('defaults to the assumed cursor shape', () => {
    const c = source({}).streams[0].collection;
    expect(c.path).toBe('/workflow-runs');
    expect(c.items).toBe('data');
    expect(c.paging).toMatchObject({ style: 'cursor', cursorParam: 'cursor', nextCursor: 'nextCursor', limitParam: 'limit' });
  });
  it('takes offset paging with its own names', () => {
    const c = source({ list: { style: 'offset', path: '/runs', offsetParam: 'skip', limitParam: 'take', items: 'result.rows', hasMore: 'result.more' } }).streams[0].collection;
    expect(c).toMatchObject({ path: '/runs', items: 'result.rows', paging: { style: 'offset', offsetParam: 'skip', limitParam: 'take', hasMore: 'result.more' } });
  });
  it('refuses unknown settings', () => {
    expect(() => source({ list: { style: 'links' } })).toThrow();
  });
});

describe('Tracecat steps from the history', () => {
  const g = (id: number, ref: string, attempt = 1) => ({ event_id: id, action_ref: ref, current_attempt: attempt });
  it('one step per scheduled action, closed by its own events', () => {
    const steps = stepsFromHistory([
      { event_id: 1, event_time: '2026-01-01T00:00:00+00:00', event_type: 'WORKFLOW_EXECUTION_STARTED' },
      { event_id: 2, event_time: '2026-01-01T00:00:01+00:00', event_type: 'ACTIVITY_TASK_SCHEDULED', event_group: g(2, 'a') },
      { event_id: 3, event_time: '2026-01-01T00:00:02+00:00', event_type: 'ACTIVITY_TASK_SCHEDULED', event_group: g(3, 'b') },
      { event_id: 4, event_time: '2026-01-01T00:00:05+00:00', event_type: 'ACTIVITY_TASK_STARTED', event_group: g(2, 'a', 2) },
      { event_id: 5, event_time: '2026-01-01T00:00:06+00:00', event_type: 'ACTIVITY_TASK_FAILED', event_group: g(2, 'a', 2), failure: { message: 'boom' } },
    ] as any);
    expect(steps.map((s) => [s.step_id, s.step_ref, s.attempt, s.provider_status, s.error ?? ''])).toEqual([
      ['2', 'a', 2, 'FAILED', 'boom'],
      ['3', 'b', 1, 'SCHEDULED', ''],
    ]);
    expect(steps[0].started_at).toBe(Date.parse('2026-01-01T00:00:05Z'));
  });
});

describe('scrub', () => {
  it('replaces credential-looking header values whatever the header is called', () => {
    const out = scrub({ http_state: { request: { headers: { 'X-Custom': 'Bearer ghp_abcdefghijklmnop', 'X-Trace': 'a1b2c3d4e5f6a7b8c9d0e1f2', Accept: 'application/json', Authorization: 'x' } } } }) as any;
    expect(out.http_state.request.headers).toEqual({ 'X-Custom': '[REDACTED]', 'X-Trace': '[REDACTED]', Accept: 'application/json', Authorization: '[REDACTED]' });
  });
  it('leaves ordinary values alone', () => {
    expect(looksLikeCredential('Thu, 10 Jul 2025 16:56:24 GMT')).toBe(false);
    expect(looksLikeCredential('application/json')).toBe(false);
  });
});

describe('inbox endpoint', () => {
  it('validates ids', () => {
    expect(parseRunIds({ run_ids: ['a', 'b', 'a'] })).toEqual(['a', 'b']);
    expect(parseRunIds(['x'])).toEqual(['x']);
    expect(() => parseRunIds({ run_ids: [] })).toThrow();
    expect(() => parseRunIds({ run_ids: [''] })).toThrow();
    expect(() => parseRunIds({ run_ids: [1] })).toThrow();
  });
});

describe('field details from review', () => {

  it('B3OS: an empty-string time means "not yet" (its docs type times as plain strings)', () => {
    const item = { id: 'r1', workflowId: 'w', workflowVersion: 1, status: 'running', startedAt: '2026-11-20T10:00:00Z', finishedAt: '', triggerSource: 'api', triggeredBy: 'u', totalCu: 0, isSimulation: false, isDustTest: false, sourceRunId: '' };
    expect(isRejected(bound(b3os).readListItem(item, 'runs'))).toBe(false);
    const b = detailBundle(bound(b3os), { ...item, executionState: {} });
    expect(b.run.finished_at).toBeNull();
    expect(b.run.retry_of_run_id).toBe('');
  });

  it("B3OS: a node's error is the run's error only when the run did not succeed", () => {
    const base = { id: 'r1', workflowId: 'w', workflowVersion: 1, startedAt: '2026-11-20T10:00:00Z', finishedAt: '2026-11-20T10:01:00Z', executionState: { a: { status: 'success', error: 'retried once: timeout' } } };
    expect(detailBundle(bound(b3os), { ...base, status: 'success' }).run.error).toBe('');
    expect(detailBundle(bound(b3os), { ...base, status: 'failure' }).run.error).toBe('retried once: timeout');
  });

  it('DX: only the scheme and host of the called URL are kept (webhook paths carry secrets)', () => {
    const run = {
      id: 'x1', status: 'SUCCEEDED', started_at: '2026-11-20T10:00:00.000Z', completed_at: '2026-11-20T10:01:00.000Z',
      http_state: { request: { method: 'POST', url: 'https://hooks.slack.com/services/T000/B000/secretpart?x=1', headers: {} } },
      workflow: { identifier: 'w', name: 'W' }, events: [], links: [], data: {},
    };
    const b = detailBundle(bound(dx), run);
    expect(b.run.attributes?.['http.url']).toBe('https://hooks.slack.com');
    expect(JSON.stringify(b.run)).not.toContain('secretpart');
    expect(JSON.stringify(b.raw)).not.toContain('secretpart');
    expect((b.raw as any).http_state.request.url).toBe('https://hooks.slack.com');
  });
});
