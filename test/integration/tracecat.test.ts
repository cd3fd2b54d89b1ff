import { expect, it } from 'vitest';
import { startTracecatSimulator, type TracecatSimulator } from '../../simulators/tracecat.js';
import { chTime, msBetween, num } from '../helpers/compare.js';
import { describeProviderSync, oneSource, type ProviderSync } from '../helpers/provider-sync.js';
import { expectNoSecretsInWarehouse } from '../helpers/secrets.js';
import { listedStatus, superseded, tracecatKey } from '../helpers/truth.js';

// Action states as /compact reports them, read independently of the history parsing.
const STEP_STATUS: Record<string, string> = { COMPLETED: 'succeeded', FAILED: 'failed', TIMED_OUT: 'timed_out', CANCELED: 'cancelled', STARTED: 'running' };

const SOURCE = 'tracecat-main';
const keyOf = tracecatKey;

async function expectWarehouseMatchesTruth({ sim, h, expectRuns }: ProviderSync<TracecatSimulator>) {
  const truth = sim.truth();
  const old = superseded(truth.executions);
  const runs = await expectRuns(truth.executions, keyOf, (e) => {
    const [status, terminal] = listedStatus('tracecat', e.status);
    const failure = e.events.filter((x) => /^WORKFLOW_EXECUTION_(FAILED|TIMED_OUT|TERMINATED)$/.test(x.event_type)).pop()?.failure?.message ?? '';
    return {
      provider: 'tracecat',
      workflow_id: e.id.slice(0, e.id.search(/[:/]/)),
      provider_status: e.status,
      status,
      is_terminal: terminal,
      created_at: chTime(e.start_time),
      started_at: chTime(e.execution_time),
      finished_at: chTime(e.close_time),
      trigger: e.trigger_type,
      parent_run_id: e.parent_wf_exec_id ?? '',
      queue_ms: msBetween(e.start_time, e.execution_time),
      duration_ms: msBetween(e.execution_time, e.close_time),
      total_ms: msBetween(e.start_time, e.close_time),
      // The API serves a superseded run's history no more: its error is not checked.
      ...(old.has(keyOf(e)) ? {} : { error: failure }),
    };
  });

  // Events: every history event of every run the API still serves in full.
  const events = await h.query<any>(`SELECT run_id, event_id, seq, event_type, occurred_at, step_ref, message FROM events WHERE source = {s:String}`, { s: SOURCE });
  const evByKey = new Map(events.map((x) => [`${x.run_id}|${x.event_id}`, x]));
  let expectedEvents = 0;
  for (const e of truth.executions) {
    for (const ev of e.events) {
      const row = evByKey.get(`${keyOf(e)}|${ev.event_id}`);
      if (old.has(keyOf(e))) {
        if (row) expect(row.event_type).toBe(ev.event_type);
        continue;
      }
      expectedEvents++;
      expect(row, `event ${ev.event_id} of ${keyOf(e)}`).toBeDefined();
      expect({ seq: num(row.seq), event_type: row.event_type, occurred_at: row.occurred_at, step_ref: row.step_ref, message: row.message }).toEqual({
        seq: ev.event_id,
        event_type: ev.event_type,
        occurred_at: chTime(ev.event_time),
        step_ref: ev.event_group?.action_ref ?? '',
        message: ev.failure?.message ?? '',
      });
    }
  }
  const oldEvents = events.filter((x) => old.has(x.run_id)).length;
  expect(events.length).toBe(expectedEvents + oldEvents);

  // Steps: one per action, checked against the /compact answer (an independent view of the actions).
  const steps = await h.query<any>(`SELECT * FROM steps WHERE source = {s:String}`, { s: SOURCE });
  const stepsByRun = new Map<string, any[]>();
  for (const s of steps) stepsByRun.set(s.run_id, [...(stepsByRun.get(s.run_id) ?? []), s]);
  for (const e of truth.executions) {
    if (old.has(keyOf(e))) continue;
    const compact = truth.compact[e.run_id].events;
    const got = (stepsByRun.get(keyOf(e)) ?? []).sort((a, b) => Number(a.step_id) - Number(b.step_id));
    expect(got.map((s) => s.step_ref), keyOf(e)).toEqual(compact.map((c) => c.action_ref));
    compact.forEach((c, i) => {
      const s = got[i];
      expect(s.step_id).toBe(String(c.source_event_id));
      expect(num(s.attempt)).toBe(c.curr_attempt);
      if (c.close_time !== null) {
        expect({ status: s.status, finished_at: s.finished_at, error: s.error, is_terminal: num(s.is_terminal) }).toEqual({
          status: STEP_STATUS[c.status],
          finished_at: chTime(c.close_time),
          // The history's failure of the closing event (a Temporal timeout or cancellation reads
          // differently from /compact's action_error).
          error: e.events.find((x) => x.event_group?.event_id === c.source_event_id && x.failure)?.failure?.message ?? '',
          is_terminal: 1,
        });
        if (c.curr_event_type.startsWith('ACTIVITY_')) expect(s.started_at).toBe(chTime(c.start_time));
      } else {
        expect(['queued', 'running']).toContain(s.status);
        expect(num(s.is_terminal)).toBe(0);
      }
    });
  }
  return { runs, truth, old };
}

describeProviderSync(
  'Tracecat through Temporal into ClickHouse',
  {
    simulators: () => startTracecatSimulator({ seed: 5, initialRuns: 120, runsPerHour: 30, start: Date.now() - 3_600_000 }),
    sources: (sim) => oneSource(sim, { name: SOURCE, maxRetries: 8, options: { workspaceId: sim.workspaceId, limit: 40 } }),
  },
  (p) => {
    const searchCalls = () => p.sim.requests.filter((r) => r.path === '/workflow-executions/search');
    const detailCalls = () => p.sim.requests.filter((r) => r.path !== '/workflow-executions/search');

    it('first sync lands exactly the simulator runs, events and steps, field by field', async () => {
      const res = await p.sync();
      const { runs } = await expectWarehouseMatchesTruth(p);
      expect(res.counts.runs_new).toBe(runs.length);
      // Runs that waited before executing: queue time comes from start_time → execution_time.
      expect(runs.some((r: any) => num(r.queue_ms)! > 0)).toBe(true);
      // Both streams page with their filters fixed: every cursor went back with the filters it came with.
      expect(searchCalls().every((r) => r.status === 200)).toBe(true);
      expect(searchCalls().length).toBeGreaterThan(2);
      for (const r of detailCalls()) expect(r.path).toMatch(/^\/workflow-executions\/wf-[0-9a-f]+(%3A|%2F)exec-[0-9a-f]+$/);
    });

    it('a later sync picks up finished and new runs, writes no duplicates, and gets through plain 429s', async () => {
      const open = await p.h.query<any>(`SELECT count() c FROM runs WHERE is_terminal = 0`);
      expect(num(open[0].c)).toBeGreaterThan(0);
      p.sim.advance(2 * 3_600_000);
      p.sim.faults.add({ path: /^\/workflow-executions\/search$/, status: 429, times: 2 });
      const res = await p.sync();
      expect(res.counts.rate_limited).toBeGreaterThanOrEqual(2);
      expect(res.counts.runs_new).toBeGreaterThan(0);
      expect(res.counts.runs_updated).toBeGreaterThan(0);
      await expectWarehouseMatchesTruth(p);
      const dup = await p.h.query<any>(`SELECT run_id, count() c FROM runs GROUP BY run_id HAVING c > 1`);
      expect(dup).toEqual([]);
    });

    it('a reset under the same id is a new run, and the reset run is closed, not overwritten', async () => {
      const truth = p.sim.truth();
      const old = superseded(truth.executions);
      const running = truth.executions.find((e) => e.status === 'RUNNING' && !old.has(keyOf(e)))!;
      const done = truth.executions.find((e) => e.status === 'COMPLETED' && !old.has(keyOf(e)) && Date.parse(e.close_time!) > p.sim.clock.now() - 3_600_000)!;
      // Both kinds must exist in the simulated history, or this test proves nothing.
      expect(running, 'a running execution in the truth').toBeDefined();
      expect(done, 'an execution completed within the hour').toBeDefined();
      const newRunning = p.sim.reset(running.id);
      const newDone = p.sim.reset(done.id);
      p.sim.advance(60_000);
      await p.sync();
      const rows = await p.h.query<any>(`SELECT run_id, provider_status, status, is_terminal FROM runs WHERE run_id IN {ids:Array(String)} ORDER BY run_id`, {
        ids: [keyOf(running), `${running.id}#${newRunning}`, keyOf(done), `${done.id}#${newDone}`],
      });
      const got = Object.fromEntries(rows.map((r) => [r.run_id, r.provider_status]));
      expect(got[keyOf(running)]).toBe('TERMINATED');
      expect(got[keyOf(done)]).toBe('COMPLETED');
      expect(got[`${running.id}#${newRunning}`]).toBeDefined();
      expect(got[`${done.id}#${newDone}`]).toBeDefined();
      // The reset run keeps the history fetched while it was the latest.
      const [ev] = await p.h.query<any>(`SELECT count() c FROM events WHERE run_id = {r:String}`, { r: keyOf(done) });
      expect(num(ev.c)).toBe(done.events.length);
      await expectWarehouseMatchesTruth(p);
    });

    it('a wrong token fails the source clearly; no token value lands anywhere in the warehouse', async () => {
      const message = await p.withEnv({ TRACECAT_TOKEN: 'tc_wrong_token_value_123' }, () => p.syncFailure());
      expect(message).toMatch(/HTTP 401/);
      expect(message).not.toContain('tc_wrong_token_value_123');
      await expectNoSecretsInWarehouse(p.h, [p.sim.token, 'tc_wrong_token_value_123']);
    });
  },
);
