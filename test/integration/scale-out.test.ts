/**
 * Scale-out: two `runsync worker` processes on one task queue of one Temporal dev server, both
 * applying the schedules, syncing the five demo sources into one warehouse over HTTP. The
 * warehouse is a STAND-IN FOR A CLICKHOUSE SERVER (test/helpers/clickhouse-standin.ts): the real
 * engine behind ClickHouse's HTTP interface. Provider APIs are the simulators.
 *
 * Each tick triggers every source's schedule once: each source must sync exactly once, nothing
 * may be written twice, and a worker killed (SIGKILL) in the middle of a sync must leave the
 * other to finish it (after the activity's heartbeat timeout).
 */
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { Client, Connection } from '@temporalio/client';
import { startClickHouseStandin, type ClickHouseStandin } from '../helpers/clickhouse-standin.js';
import { startDemo, type Demo } from '../../runtime/demo.js';
import { addToInbox } from '../../warehouse/queries.js';
import { SYNC_SCHEDULE_PREFIX } from '../../runtime/schedules.js';
import { bundleWorkflows } from '../../scripts/bundle-workflows.js';

const ROOT = resolve(import.meta.dirname, '../..');
let dir: string;
let standin: ClickHouseStandin;
let demo: Demo;
let ch: ClickHouseClient;
let temporal: Client;
let connection: Connection;
const workers: { proc: ChildProcess; out: string; exited: Promise<number | null> }[] = [];
const taskQueue = `scale-${randomUUID().slice(0, 8)}`;
let dxIds: string[] = [];

function startWorker(env: Record<string, string>): Promise<(typeof workers)[number]> {
  const proc = spawn(process.execPath, [join(ROOT, 'bin/runsync.js'), 'worker', '--schedules', '--config', join(dir, 'runsync.config.json')], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const w = { proc, out: '', exited: new Promise<number | null>((r) => proc.on('exit', (code) => r(code))) };
  workers.push(w);
  return new Promise((ready, fail) => {
    const onData = (b: Buffer) => {
      w.out += b.toString();
      if (/worker on task queue/.test(w.out)) ready(w);
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void w.exited.then((code) => fail(new Error(`worker exited (${code}) before it was ready:\n${w.out}`)));
  });
}

const sources = () => demo.config.sources.map((s) => s.name);

async function syncsPerSource(): Promise<Map<string, { source: string; n: number; done: number; ok: number }>> {
  const rows = await (
    await ch.query({
      query: `SELECT source, toUInt32(count()) AS n, toUInt32(countIf(finished_at IS NOT NULL)) AS done, toUInt32(countIf(status = 'succeeded')) AS ok,
                     arrayStringConcat(groupArrayIf(error, status = 'failed'), ' | ') AS errors
              FROM sync_runs GROUP BY source`,
      format: 'JSONEachRow',
    })
  ).json<{ source: string; n: number; done: number; ok: number; errors: string }>();
  return new Map(rows.map(({ errors, ...r }) => [r.source, errors ? { ...r, errors } : r]));
}

/** Triggers every source's schedule once and waits for that tick's syncs to finish. */
async function tick(expectSyncs: number, during?: () => Promise<void>): Promise<void> {
  for (const s of sources()) await temporal.schedule.getHandle(SYNC_SCHEDULE_PREFIX + s).trigger();
  if (during) await during();
  const deadline = Date.now() + 300_000;
  for (;;) {
    const m = await syncsPerSource();
    if (sources().every((s) => (m.get(s)?.done ?? 0) >= expectSyncs)) return;
    if (Date.now() > deadline) throw new Error(`tick did not finish: ${JSON.stringify([...m])}`);
    await sleep(500);
  }
}

/** Per source: rows in `runs`, distinct run ids, and the ids themselves. */
async function warehouseRuns(): Promise<Map<string, { rows: number; ids: Set<string> }>> {
  const rows = await (await ch.query({ query: 'SELECT source, run_id FROM runs', format: 'JSONEachRow' })).json<{ source: string; run_id: string }>();
  const m = new Map<string, { rows: number; ids: Set<string> }>();
  for (const r of rows) {
    const e = m.get(r.source) ?? { rows: 0, ids: new Set<string>() };
    e.rows++;
    e.ids.add(r.run_id);
    m.set(r.source, e);
  }
  return m;
}

/** The simulators' own run ids, for the sources whose truth names runs by `id` (Tracecat's are per execution attempt). */
function truthIds(): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  demo.config.sources.forEach((s, i) => {
    const t = demo.simulators[i].truth() as { runs?: { id: string }[] };
    if (s.provider === 'dx') m.set(s.name, new Set(dxIds));
    else if (s.provider !== 'tracecat' && t.runs) m.set(s.name, new Set(t.runs.map((r) => r.id)));
  });
  return m;
}

async function expectWarehouseMatchesSimulators(): Promise<void> {
  const got = await warehouseRuns();
  for (const s of sources()) {
    const g = got.get(s);
    expect(g, `${s}: no runs`).toBeDefined();
    expect(g!.rows, `${s}: a run appears twice`).toBe(g!.ids.size);
  }
  for (const [s, ids] of truthIds()) expect([...got.get(s)!.ids].sort(), s).toEqual([...ids].sort());
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-scale-'));
  standin = await startClickHouseStandin({ path: join(dir, 'clickhouse'), users: { runsync: { password: 'w-scale' } } });
  ch = createClient({ url: standin.url, username: 'runsync', password: 'w-scale' });
  await ch.command({ query: 'CREATE DATABASE runsync' });
  await ch.close();
  ch = createClient({ url: standin.url, username: 'runsync', password: 'w-scale', database: 'runsync' });
  // Frozen simulated time (speed 0): the simulators change only when the test advances them.
  // A yearly cron: the schedules fire when the test triggers them, not on their own.
  demo = await startDemo({ dataDir: join(dir, 'demo'), speed: 0, schedule: '0 0 1 1 *' });
  const config = { sources: demo.config.sources, temporal: { taskQueue } };
  writeFileSync(join(dir, 'runsync.config.json'), JSON.stringify(config));
  const bundle = join(dir, 'workflow-bundle.js');
  await bundleWorkflows(bundle);
  const tokens = Object.fromEntries(demo.config.sources.map((s) => [s.tokenEnv, process.env[s.tokenEnv]!]));
  const env = {
    ...tokens,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    // A deployment of its own: the demo's source names and schedules are also those of
    // `start --demo` in start.test.ts, and ids are per namespace.
    TEMPORAL_NAMESPACE: inject('temporalOwnNamespace'),
    CLICKHOUSE_URL: standin.url,
    CLICKHOUSE_USER: 'runsync',
    CLICKHOUSE_PASSWORD: 'w-scale',
    CLICKHOUSE_DATABASE: 'runsync',
    RUNSYNC_WORKFLOW_BUNDLE: bundle,
    RUNSYNC_TEMPORAL_LOG: 'ERROR',
    RUNSYNC_LOG_LEVEL: 'warn',
  };
  // Started together: they migrate the same empty database at the same time.
  await Promise.all([startWorker({ ...env, RUNSYNC_DATA_DIR: join(dir, 'w1') }), startWorker({ ...env, RUNSYNC_DATA_DIR: join(dir, 'w2') })]);
  connection = await Connection.connect({ address: inject('temporalAddress') });
  temporal = new Client({ connection, namespace: inject('temporalOwnNamespace') });
  for (const { source, ids } of demo.initialInbox) {
    await addToInbox(ch, source, ids);
    dxIds.push(...ids);
  }
}, 300_000);

afterAll(async () => {
  for (const w of workers) w.proc.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
  for (const s of sources()) await temporal?.schedule.getHandle(SYNC_SCHEDULE_PREFIX + s).delete().catch(() => undefined);
  await connection?.close();
  await ch?.close();
  await demo?.close();
  await standin?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('two workers, one task queue, five sources', () => {
  it('each source syncs once per tick and every run is written once', async () => {
    await tick(1);
    const m = await syncsPerSource();
    for (const s of sources()) expect(m.get(s), s).toEqual({ source: s, n: 1, done: 1, ok: 1 });
    await expectWarehouseMatchesSimulators();
    const migrations = await (await ch.query({ query: 'SELECT name, toUInt32(count()) AS n FROM schema_migrations GROUP BY name HAVING n > 1', format: 'JSONEachRow' })).json();
    expect(migrations, 'a migration recorded twice').toEqual([]);
  }, 400_000);

  it('a worker killed in the middle of a sync leaves the other to finish it', async () => {
    // New runs in every simulator, so the tick has work to do.
    for (const sim of demo.simulators) sim.advance(2 * 86_400_000);
    let killed = '';
    const seen = new Set<string>();
    await tick(2, async () => {
      // Find an activity in flight and kill the worker that runs it.
      const deadline = Date.now() + 60_000;
      while (!killed && Date.now() < deadline) {
        for await (const wf of temporal.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
          // The latest run: a sync may have continued as new.
          const d = await temporal.workflow.getHandle(wf.workflowId).describe();
          for (const p of d.raw.pendingActivities ?? []) seen.add(`${p.activityType?.name}@${p.lastWorkerIdentity || '-'}`);
          const pending = (d.raw.pendingActivities ?? []).find((p) => p.lastWorkerIdentity);
          const pid = Number(/^(\d+)@/.exec(pending?.lastWorkerIdentity ?? '')?.[1]);
          const victim = workers.find((w) => w.proc.pid === pid);
          if (victim) {
            victim.proc.kill('SIGKILL');
            killed = `${wf.workflowId} (${pending!.activityType?.name})`;
            break;
          }
        }
        if (!killed) await sleep(100);
      }
    });
    expect(killed, `no activity was caught in flight; seen: ${[...seen].join(', ')}; workers ${workers.map((w) => w.proc.pid).join(', ')}`).not.toBe('');
    expect(workers.filter((w) => w.proc.exitCode === null && w.proc.signalCode === null)).toHaveLength(1);
    const m = await syncsPerSource();
    for (const s of sources()) expect(m.get(s), s).toEqual({ source: s, n: 2, done: 2, ok: 2 });
    await expectWarehouseMatchesSimulators();
  }, 400_000);
});
