import { expect, it } from 'vitest';
import { startDxSimulator, type DxSimulator } from '../../simulators/dx.js';
import { chTime, msBetween, num } from '../helpers/compare.js';
import { describeProviderSync, oneSource, type ProviderSync } from '../helpers/provider-sync.js';
import { expectNoSecretsInWarehouse } from '../helpers/secrets.js';
import { contractStatus } from '../helpers/truth.js';
import { addToInbox } from '../../warehouse/queries.js';

const SOURCE = 'dx-main';

async function expectWarehouseMatchesTruth({ sim, h, expectRuns }: ProviderSync<DxSimulator>, ids: string[]) {
  const truth = sim.truth();
  const want = truth.runs.filter((r) => ids.includes(r.id));
  const runs = await expectRuns(
    want,
    (r) => r.id,
    (r) => {
      const [status, terminal] = contractStatus('dx', r.status);
      return {
        provider: 'dx',
        workflow_id: r.workflow.identifier,
        workflow_name: r.workflow.name,
        provider_status: r.status,
        status,
        is_terminal: terminal,
        created_at: null,
        started_at: chTime(r.started_at),
        finished_at: chTime(r.completed_at),
        queue_ms: null,
        duration_ms: msBetween(r.started_at, r.completed_at),
        total_ms: null,
        triggered_by: String(r.triggered_by_user.id),
        user_name: r.triggered_by_user.name,
        email: null,
        params: Object.fromEntries(Object.entries(r.data).map(([k, v]) => [`param.${k}`, typeof v === 'string' ? v : JSON.stringify(v)])),
      };
    },
    {
      derived: {
        user_name: (row) => row.attributes['triggered_by.name'],
        email: (row) => row.attributes['triggered_by.email'] ?? null,
        params: (row) => Object.fromEntries(Object.entries(row.attributes as Record<string, string>).filter(([k]) => k.startsWith('param.'))),
      },
    },
  );
  const events = await h.query<any>(`SELECT * FROM events WHERE source = {s:String}`, { s: SOURCE });
  const expEvents = want.flatMap((r) => r.events.map((e, i) => ({ run_id: r.id, e, i })));
  expect(events.length).toBe(expEvents.length);
  const evById = new Map(events.map((x) => [`${x.run_id}|${x.event_id}`, x]));
  for (const { run_id, e, i } of expEvents) {
    const row = evById.get(`${run_id}|${e.id}`);
    expect(row, `event ${e.id}`).toBeDefined();
    expect({ seq: num(row.seq), event_type: row.event_type, occurred_at: row.occurred_at, message: row.message, data: JSON.parse(row.data) }).toEqual({
      seq: i,
      event_type: e.type,
      occurred_at: chTime(e.occurred_at),
      message: e.message ?? '',
      data: e.data,
    });
  }
  const links = await h.query<any>(`SELECT * FROM links WHERE source = {s:String}`, { s: SOURCE });
  const expLinks = want.flatMap((r) => r.links.map((l) => ({ run_id: r.id, l, added: r.events.find((e) => e.type === 'ADD_LINK' && (e.data as any).link?.url === l.url)?.occurred_at })));
  expect(links.length).toBe(expLinks.length);
  const linkBy = new Map(links.map((x) => [`${x.run_id}|${x.url}`, x]));
  for (const { run_id, l, added } of expLinks) {
    const row = linkBy.get(`${run_id}|${l.url}`);
    expect({ label: row.label, icon: row.icon, added_at: row.added_at }).toEqual({ label: l.label, icon: l.icon, added_at: chTime(added) });
  }
  return runs;
}

let tracked: string[] = [];

describeProviderSync(
  'DX through Temporal into ClickHouse (inbox-driven)',
  {
    simulators: () => startDxSimulator({ seed: 4, initialRuns: 40, runsPerHour: 20, start: Date.now() - 3_600_000 }),
    sources: (sim) => oneSource(sim, { name: SOURCE, maxRetries: 6 }),
  },
  (p) => {
    const infoCalls = () => p.sim.requests.filter((r) => r.path === '/workflowRuns.info');

    it('a sync with an empty inbox lists nothing and calls nothing', async () => {
      const res = await p.sync();
      expect(res.counts.runs_new).toBe(0);
      expect(p.sim.requests.length).toBe(0);
    });

    it('first sync lands exactly the tracked runs, their events and links, field by field', async () => {
      tracked = p.sim.drainNewRunIds();
      await addToInbox(p.h.warehouse.client, SOURCE, tracked);
      const res = await p.sync();
      const runs = await expectWarehouseMatchesTruth(p, tracked);
      expect(res.counts.runs_new).toBe(tracked.length);
      expect(infoCalls().length).toBe(tracked.length);
      // Undocumented statuses (RUNNING here) are kept as unknown and stay open.
      const open = runs.filter((r) => r.provider_status === 'RUNNING');
      expect(open.length).toBeGreaterThan(0);
      for (const r of open) expect([r.status, num(r.is_terminal)]).toEqual(['unknown', 0]);
    });

    it('unknown-status runs are re-polled until they finish; finished ones are left alone; nothing duplicated', async () => {
      const open = (await p.h.query<any>(`SELECT run_id FROM runs WHERE is_terminal = 0`)).map((r) => r.run_id);
      p.sim.clearRequests();
      p.sim.advance(3 * 3_600_000);
      const more = p.sim.trigger(3);
      await addToInbox(p.h.warehouse.client, SOURCE, more);
      tracked.push(...more);
      const res = await p.sync();
      expect(infoCalls().map((r) => r.query.id).sort()).toEqual([...open, ...more].sort());
      expect(res.counts.runs_new).toBe(3);
      expect(res.counts.runs_updated).toBeGreaterThan(0);
      await expectWarehouseMatchesTruth(p, tracked);
      const dup = await p.h.query<any>(`SELECT run_id, count() c FROM runs GROUP BY run_id HAVING c > 1`);
      expect(dup).toEqual([]);
    });

    it('ok:false on HTTP 200 is an error: transient ones are retried, others quarantined, never stored as a run', async () => {
      const more = p.sim.trigger(2);
      await addToInbox(p.h.warehouse.client, SOURCE, [...more, 'nosuchrun000']);
      tracked.push(...more);
      p.sim.failNext(2, 'internal_error');
      const res = await p.sync();
      expect(res.counts.retries).toBeGreaterThanOrEqual(2);
      // not_found: the id is gone for good: a warning, and it is not polled again.
      const q = await p.h.query<any>(`SELECT record_key, severity, reason FROM quarantine WHERE record_key = 'nosuchrun000'`);
      expect(q).toEqual([{ record_key: 'nosuchrun000', severity: 'warning', reason: expect.stringMatching(/ok:false \(not_found\).*not polled again/) }]);
      expect((await p.h.query<any>(`SELECT run_id FROM runs WHERE run_id = 'nosuchrun000'`)).length).toBe(0);
      await expectWarehouseMatchesTruth(p, tracked);
      p.sim.clearRequests();
      // Any other ok:false is an error for that run only: quarantined, polled again next time.
      const next = p.sim.trigger(1);
      await addToInbox(p.h.warehouse.client, SOURCE, next);
      p.sim.failNext(1, 'invalid_arguments');
      await p.sync();
      expect(infoCalls().some((r) => r.query.id === 'nosuchrun000')).toBe(false);
      const errors = await p.h.query<any>(`SELECT reason FROM quarantine WHERE severity = 'error'`);
      expect(errors.length).toBe(1);
      expect(errors[0].reason).toMatch(/ok:false \(invalid_arguments\)/);
      tracked.push(...next);
      await p.sync();
      await expectWarehouseMatchesTruth(p, tracked);
    });

    it('invalid_auth stops the source with a clear error and nothing written', async () => {
      await addToInbox(p.h.warehouse.client, SOURCE, p.sim.trigger(1));
      const message = await p.withEnv({ DX_TOKEN: 'dx_wrong_token_value_123' }, () => p.syncFailure());
      expect(message).toMatch(/invalid_auth/);
      expect(message).toMatch(/tokenEnv/);
      expect(message).not.toContain('dx_wrong_token_value_123');
    });

    it('no token, no http_state credential and no e-mail (personal data off) lands anywhere in the warehouse', async () => {
      // A detail that fails its schema is quarantined with its payload: that copy must be clean too.
      const bad = p.sim.trigger(1);
      await addToInbox(p.h.warehouse.client, SOURCE, bad);
      p.sim.faults.malformed(1, { path: /workflowRuns\.info/ });
      await p.sync();
      expect(p.sim.faults.malformedLog.length).toBe(1);
      const [q] = await p.h.query<any>(`SELECT payload FROM quarantine WHERE severity = 'error' AND startsWith(reason, 'invalid detail') ORDER BY received_at DESC LIMIT 1`);
      expect(q.payload).toMatch(/"triggered_by_user":\{[^}]*"email":"\[EMAIL\]"/);
      const truth = p.sim.truth();
      expect(truth.secrets.length).toBeGreaterThan(0);
      const tokens = truth.secrets.map((s) => s.replace(/^Bearer /, ''));
      await expectNoSecretsInWarehouse(p.h, [p.sim.token, 'dx_wrong_token_value_123', ...truth.secrets, ...tokens]);
      const emails = [...new Set(truth.runs.map((r) => r.triggered_by_user.email))];
      await expectNoSecretsInWarehouse(p.h, emails);
      // The request capture is kept, with the credential-bearing header values replaced.
      const [raw] = await p.h.query<any>(`SELECT payload FROM raw_runs WHERE run_id = {id:String}`, { id: tracked[0] });
      expect(JSON.parse(raw.payload).http_state.request.headers.Authorization).toBe('[REDACTED]');
    });
  },
);
