import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { SMTPServer } from 'smtp-server';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { openWarehouse, type Warehouse } from '../../warehouse/client.js';
import { migrate } from '../../warehouse/migrate.js';
import { parseConfig } from '../../config/load.js';
import { toCh } from '../../core/time.js';
import { createWorker, installTemporalRuntime } from '../../worker.js';
import { transitions } from '../../alerts/state.js';
import { evaluateRule, matches } from '../../alerts/rules.js';
import { alertRuleSchema } from '../../config/schema.js';
import { applyAlertsSchedule, ALERTS_SCHEDULE_ID } from '../../runtime/alerts-schedule.js';
import { writeFileSync } from 'node:fs';
import { main } from '../../cli/main.js';
import type { AlertsResult } from '../../workflows/alerts.js';

/*
 * A failure-rate rule evaluated by the `alerts` workflow on the real Temporal dev server,
 * delivered to a webhook receiver, a Slack-format receiver and an SMTP server, all started
 * here on 127.0.0.1. Fires once, stays quiet while still true, resolves once.
 */

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 18, 12);

interface Received {
  path: string;
  body: Record<string, unknown>;
}

let dir: string;
let wh: Warehouse;
let worker: Worker;
let running: Promise<void>;
let native: NativeConnection;
let connection: Connection;
let client: Client;
let taskQueue: string;
let http: Server;
let smtp: SMTPServer;
const received: Received[] = [];
const mails: string[] = [];
/** Answers of the always-failing receiver. */
let brokenHits = 0;

async function rows<T>(query: string): Promise<T[]> {
  return (await wh.client.query({ query, format: 'JSONEachRow' })).json<T>();
}

let seq = 0;
/** Runs of one workflow finishing at `at` (one minute apart), with a status each. */
async function addRuns(at: number, statuses: string[]): Promise<void> {
  await wh.client.insert({
    table: 'run_versions',
    format: 'JSONEachRow',
    values: statuses.map((status, i) => ({
      source: 'strait-prod', run_id: `r-${++seq}`, provider: 'strait', workflow_id: 'wf-deploy', workflow_name: 'Deploy', status, provider_status: status,
      is_terminal: 1, created_at: toCh(at + i * 60_000 - 120_000), started_at: toCh(at + i * 60_000 - 60_000), finished_at: toCh(at + i * 60_000),
      duration_ms: 60_000, error: status === 'failed' ? `timeout after ${30_000 + seq} ms` : '', is_test: 0, first_seen_at: toCh(at), synced_at: toCh(at), version: 1,
    })),
  });
}

const run = (now: number, delivery = { maximumAttempts: 3, initialIntervalMs: 200 }) =>
  client.workflow.execute('alerts', { taskQueue, workflowId: `alerts-${randomUUID()}`, args: [{ now, delivery }] }) as Promise<AlertsResult>;

beforeAll(async () => {
  http = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url === '/broken') {
        brokenHits++;
        res.writeHead(500).end('no');
        return;
      }
      received.push({ path: req.url ?? '', body: JSON.parse(body) });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const hp = (http.address() as AddressInfo).port;
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, _session, cb) {
      let text = '';
      stream.on('data', (c: Buffer) => (text += c.toString()));
      stream.on('end', () => {
        mails.push(text);
        cb();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  const sp = (smtp.server.address() as AddressInfo).port;

  dir = mkdtempSync(join(tmpdir(), 'rs-alerts-'));
  taskQueue = `alerts-${randomUUID()}`;
  const config = parseConfig(
    {
      dataDir: dir,
      temporal: { taskQueue },
      report: { deliver: ['hook'] },
      owners: [{ name: 'payments', sources: ['strait-*'], workflows: ['Deploy'], notify: ['mail'] }],
      alerts: {
        notifiers: {
          hook: { type: 'webhook', urlEnv: 'TEST_HOOK_URL' },
          slack: { type: 'slack', urlEnv: 'TEST_SLACK_URL' },
          mail: { type: 'email', smtpUrlEnv: 'TEST_SMTP_URL', from: 'runsync@example.test', to: ['oncall@example.test'] },
          broken: { type: 'webhook', urlEnv: 'TEST_BROKEN_URL' },
        },
        rules: [
          { name: 'deploy-failing', type: 'failure_rate', threshold: 0.5, minRuns: 4, window: '6h', workflows: ['wf-*'], notify: ['hook', 'slack', 'mail'] },
          { name: 'deploy-failing-broken', type: 'failure_rate', threshold: 0.5, minRuns: 4, window: '6h', notify: ['broken'] },
          { name: 'other-source', type: 'failure_rate', threshold: 0.5, minRuns: 1, sources: ['tc*'], notify: ['hook'] },
        ],
      },
    },
    'test config',
  );
  const env = { TEST_HOOK_URL: `http://127.0.0.1:${hp}/hook`, TEST_SLACK_URL: `http://127.0.0.1:${hp}/slack`, TEST_SMTP_URL: `smtp://127.0.0.1:${sp}`, TEST_BROKEN_URL: `http://127.0.0.1:${hp}/broken` };
  wh = await openWarehouse({ dataDir: dir });
  await migrate(wh.client);
  installTemporalRuntime();
  native = await NativeConnection.connect({ address: inject('temporalAddress') });
  worker = await createWorker({ connection: native, config, client: wh.client, env, taskQueue });
  running = worker.run();
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection });
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running?.catch(() => undefined);
  await native?.close();
  await connection?.close();
  await wh?.close();
  await new Promise((r) => http?.close(r));
  await new Promise((r) => smtp?.close(() => r(undefined)));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('alerts', () => {
  it('fires once when the rule starts to hold, to every notifier, and records the firing', async () => {
    await addRuns(T0 - 2 * HOUR, ['succeeded', 'failed', 'failed', 'failed']);
    const r = await run(T0);
    expect(r).toEqual({ events: 2, delivered: 1, failed: 1 });
    const hook = received.filter((x) => x.path === '/hook');
    expect(hook).toHaveLength(1);
    expect(hook[0].body).toMatchObject({ alert: 'deploy-failing', key: 'strait-prod/wf-deploy', state: 'firing', at: new Date(T0).toISOString() });
    expect(String(hook[0].body.message)).toContain('failure rate 75.0%');
    const slack = received.filter((x) => x.path === '/slack');
    expect(slack).toHaveLength(1);
    expect(slack[0].body.text).toBe('[runsync] FIRING deploy-failing: strait-prod/wf-deploy');
    expect((slack[0].body.blocks as { type: string }[]).map((b) => b.type)).toEqual(['header', 'section']);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toContain('Subject: [runsync] FIRING deploy-failing: strait-prod/wf-deploy');
    expect(mails[0]).toContain('oncall@example.test');
  });

  it('records a delivery that keeps failing after Temporal retried it, without failing the workflow', async () => {
    expect(brokenHits).toBe(3);
    const ev = await rows<{ alert: string; state: string; delivered: number; attempts: number; error: string }>(
      `SELECT alert, state, delivered, attempts, error FROM alert_events FINAL ORDER BY alert`,
    );
    expect(ev).toEqual([
      { alert: 'deploy-failing', state: 'firing', delivered: 1, attempts: 1, error: '' },
      { alert: 'deploy-failing-broken', state: 'firing', delivered: 0, attempts: 1, error: 'notifier "broken" (webhook): HTTP 500' },
    ]);
    // The URL is a credential: it is in no event.
    expect(JSON.stringify(ev)).not.toContain('127.0.0.1');
  });

  it('stays quiet while the rule still holds (the failed delivery is tried again, nothing else)', async () => {
    await addRuns(T0 + 10 * 60_000, ['failed']);
    const before = received.length;
    const r = await run(T0 + HOUR);
    expect(r).toEqual({ events: 1, delivered: 0, failed: 1 });
    expect(received.length).toBe(before);
    expect(mails).toHaveLength(1);
    expect(brokenHits).toBe(6);
    const n = await rows<{ n: number }>(`SELECT toUInt32(count()) AS n FROM alert_events FINAL`);
    expect(n[0].n).toBe(2);
  });

  it('resolves once when the rule stops holding, then stays quiet', async () => {
    await addRuns(T0 + 2 * HOUR, ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded']);
    await run(T0 + 3 * HOUR);
    const hook = received.filter((x) => x.path === '/hook');
    expect(hook.map((h) => h.body.state)).toEqual(['firing', 'resolved']);
    expect(mails).toHaveLength(2);
    expect(mails[1]).toContain('Subject: [runsync] RESOLVED deploy-failing: strait-prod/wf-deploy');
    await run(T0 + 4 * HOUR);
    expect(received.filter((x) => x.path === '/hook')).toHaveLength(2);
    const ev = await rows<{ alert: string; state: string }>(`SELECT alert, state FROM alert_events FINAL ORDER BY alert, at, state`);
    expect(ev).toEqual([
      { alert: 'deploy-failing', state: 'firing' },
      { alert: 'deploy-failing', state: 'resolved' },
      { alert: 'deploy-failing-broken', state: 'firing' },
      { alert: 'deploy-failing-broken', state: 'resolved' },
    ]);
  });

  it('a dry run lists what would fire and writes nothing', async () => {
    await addRuns(T0 + 5 * HOUR, ['failed', 'failed', 'failed', 'failed']);
    const config = parseConfig({ dataDir: dir, alerts: { rules: [{ name: 'deploy-failing', type: 'failure_rate', threshold: 0.5, minRuns: 4, window: '2h' }] } }, 'test config');
    const t = await transitions(wh.client, config, T0 + 6 * HOUR);
    expect(t.map((e) => `${e.alert} ${e.key} ${e.state}`)).toEqual(['deploy-failing strait-prod/wf-deploy firing']);
    const n = await rows<{ n: number }>(`SELECT toUInt32(count()) AS n FROM alert_events FINAL`);
    expect(n[0].n).toBe(4);
  });

  it('runsync alerts --dry-run prints what would fire', async () => {
    const cfg = join(dir, 'runsync.config.json');
    writeFileSync(cfg, JSON.stringify({ dataDir: dir, alerts: { rules: [{ name: 'any-failing', type: 'failure_rate', threshold: 0.01, minRuns: 1, window: '3650d' }] } }));
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stdout.write;
    try {
      expect(await main(['alerts', '--dry-run', '--config', cfg])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    expect(lines.join('')).toMatch(/would fire +any-failing strait-prod\/wf-deploy: Deploy \(strait-prod\): failure rate/);
    const n = await rows<{ n: number }>(`SELECT toUInt32(count()) AS n FROM alert_events FINAL WHERE alert = 'any-failing'`);
    expect(n[0].n).toBe(0);
  });

  it('is evaluated by a Temporal Schedule', async () => {
    const config = parseConfig({ dataDir: dir, alerts: { schedule: '*/10 * * * *', rules: [{ name: 'x', type: 'stale_source', maxAge: '1h' }] } }, 'test config');
    try {
      expect(await applyAlertsSchedule(client, config, taskQueue)).toBe(ALERTS_SCHEDULE_ID);
      const d = await client.schedule.getHandle(ALERTS_SCHEDULE_ID).describe();
      expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'alerts', taskQueue });
      expect(JSON.stringify(d.spec)).toContain('"minute":[{"start":0,"end":59,"step":10}]');
    } finally {
      await client.schedule.getHandle(ALERTS_SCHEDULE_ID).delete().catch(() => undefined);
    }
  });
});

describe('alert rules', () => {
  const rule = (r: Record<string, unknown>) => alertRuleSchema.parse(r);
  const base = { source: 'b3', provider: 'b3os', workflow_name: 'Swap', provider_status: 'x', is_test: 0, synced_at: toCh(T0), version: 1 };
  const T = T0 + 30 * 24 * HOUR;

  it('patterns: exact names and *', () => {
    expect(matches(['wf-*'], 'wf-deploy')).toBe(true);
    expect(matches(['wf-*'], 'deploy')).toBe(false);
    expect(matches(['a.b'], 'axb')).toBe(false);
  });

  it('new_signature: a reason first seen in the window, not one seen in the four weeks before', async () => {
    const run = (id: string, at: number, error: string) => ({ ...base, run_id: id, workflow_id: 'b3-swap', status: 'failed', is_terminal: 1, started_at: toCh(at - 1000), finished_at: toCh(at), first_seen_at: toCh(at), error });
    await wh.client.insert({ table: 'run_versions', format: 'JSONEachRow', values: [
      run('ns-1', T - 10 * 24 * HOUR, 'slippage 31 bps above limit'),
      run('ns-2', T - HOUR, 'slippage 55 bps above limit'),
      run('ns-3', T - HOUR, 'nonce 8812 already used by 0xabcdef0123'),
    ] });
    const f = await evaluateRule(wh.client, rule({ name: 'new-reason', type: 'new_signature', window: '1d', sources: ['b3'] }), T);
    expect(f.map((x) => x.key)).toEqual(['b3/b3-swap/nonce <n> already used by <id>']);
  });

  it('p95_regression, stuck_run and stale_source', async () => {
    const runs = [];
    for (let i = 0; i < 10; i++) {
      const at = T - 20 * 24 * HOUR + i * HOUR;
      runs.push({ ...base, run_id: `p-old-${i}`, workflow_id: 'b3-p95', status: 'succeeded', is_terminal: 1, started_at: toCh(at - 60_000), finished_at: toCh(at), duration_ms: 60_000, first_seen_at: toCh(at) });
      const at2 = T - 2 * 24 * HOUR + i * HOUR;
      runs.push({ ...base, run_id: `p-new-${i}`, workflow_id: 'b3-p95', status: 'succeeded', is_terminal: 1, started_at: toCh(at2 - 300_000), finished_at: toCh(at2), duration_ms: 300_000, first_seen_at: toCh(at2) });
    }
    runs.push({ ...base, run_id: 'stuck-1', workflow_id: 'b3-p95', status: 'running', is_terminal: 0, started_at: toCh(T - 2 * HOUR), finished_at: null, duration_ms: null, first_seen_at: toCh(T - 2 * HOUR) });
    runs.push({ ...base, run_id: 'young-1', workflow_id: 'b3-p95', status: 'running', is_terminal: 0, started_at: toCh(T - 10 * 60_000), finished_at: null, duration_ms: null, first_seen_at: toCh(T - 10 * 60_000) });
    await wh.client.insert({ table: 'run_versions', format: 'JSONEachRow', values: runs });
    const p95 = await evaluateRule(wh.client, rule({ name: 'slower', type: 'p95_regression', factor: 2, minRuns: 5, window: '7d', workflows: ['b3-p95'] }), T);
    expect(p95.map((x) => x.key)).toEqual(['b3/b3-p95']);
    expect(p95[0].message).toContain('5.0×');
    // p95 of the last four weeks is 300 s; 3 × that is 15 min: the two-hour run is stuck, the ten-minute one is not.
    const stuck = await evaluateRule(wh.client, rule({ name: 'stuck', type: 'stuck_run', multiple: 3, floor: '5m', workflows: ['b3-p95'] }), T);
    expect(stuck.map((x) => x.key)).toEqual(['b3/stuck-1']);
    await wh.client.insert({ table: 'sync_run_versions', format: 'JSONEachRow', values: [
      { source: 'b3', sync_id: 's1', provider: 'b3os', started_at: toCh(T - 5 * HOUR), finished_at: toCh(T - 5 * HOUR + 1000), status: 'succeeded', version: 1 },
      { source: 'strait-prod', sync_id: 's2', provider: 'strait', started_at: toCh(T - 10 * 60_000), finished_at: toCh(T - 9 * 60_000), status: 'succeeded', version: 1 },
    ] });
    const stale = await evaluateRule(wh.client, rule({ name: 'stale', type: 'stale_source', maxAge: '2h' }), T);
    expect(stale.map((x) => x.key)).toEqual(['b3']);
  });
});

describe('report delivery', () => {
  it('delivers the weekly report to report.deliver, and to each owner cut to their workflows', async () => {
    await addRuns(T0 - 3 * HOUR, ['succeeded']);
    const before = received.length;
    const mailsBefore = mails.length;
    const r = (await client.workflow.execute('weeklyReport', { taskQueue, workflowId: `report-${randomUUID()}`, args: [{ week: '2026-W47' }] })) as { week: string; undelivered: string[] };
    expect(r.undelivered).toEqual([]);
    const hook = received.slice(before).filter((x) => x.path === '/hook');
    expect(hook).toHaveLength(1);
    expect(hook[0].body).toMatchObject({ title: 'Reliability report 2026-W47', week: '2026-W47', owner: '' });
    expect(String(hook[0].body.text)).toContain('## Retries');
    const mail = mails.slice(mailsBefore);
    expect(mail).toHaveLength(1);
    expect(mail[0]).toContain('Subject: Reliability report 2026-W47 for payments');
    // Cut to the owner's workflow: Deploy on strait-prod, not the B3OS workflows of the other tests.
    const text = mail[0].replace(/=\r?\n/g, '');
    expect(text).toContain('strait-prod');
    expect(text).not.toContain('b3-p95');
    expect(text).not.toContain('Swap');
  });
});
