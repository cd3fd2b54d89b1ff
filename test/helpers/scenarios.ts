/**
 * Whole-process scenarios on the real CLI (`bin/runsync.js sync --once`) against the five
 * simulators: a fault matrix and a kill-and-restart backfill. Used by the kill test and by
 * `npm run soak` (larger scale); no test framework inside.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { startStraitSimulator } from '../../simulators/strait.js';
import { startTracecatSimulator, type TracecatSimulator } from '../../simulators/tracecat.js';
import { startB3osSimulator } from '../../simulators/b3os.js';
import { startAnonSimulator } from '../../simulators/anon.js';
import { startDxSimulator, type DxSimulator } from '../../simulators/dx.js';
import { Rng } from '../../simulators/core/rng.js';
import { compareWithTruth, describeComparison, expectedOf, isExact, type AnySimulator, type Comparison } from './truth.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCENARIO_PROVIDERS = ['strait', 'tracecat', 'b3os', 'anon', 'dx'] as const;
type P = (typeof SCENARIO_PROVIDERS)[number];

/** How a total number of runs is shared out (DX runs are tracked one by one, so fewer). */
const SHARE: Record<P, number> = { strait: 0.25, tracecat: 0.2, b3os: 0.25, anon: 0.25, dx: 0.05 };

export interface ScenarioSims {
  sims: Record<P, AnySimulator>;
  dxIds: string[];
  requests(): number;
  faultsInjected(): number;
  close(): Promise<void>;
}

/** Five simulators holding `total` runs between them over the past three days; time stands still. */
export async function startScenarioSims(total: number, seed: number): Promise<ScenarioSims> {
  const start = Date.now() - 3_600_000;
  const n = (p: P) => Math.max(10, Math.round(total * SHARE[p]));
  const sims = {
    strait: await startStraitSimulator({ seed: seed + 1, initialRuns: n('strait'), runsPerHour: 0, start }),
    tracecat: await startTracecatSimulator({ seed: seed + 2, initialRuns: n('tracecat'), runsPerHour: 0, start }),
    b3os: await startB3osSimulator({ seed: seed + 3, initialRuns: n('b3os'), runsPerHour: 0, start }),
    anon: await startAnonSimulator({ seed: seed + 4, initialRuns: n('anon'), runsPerHour: 0, start }),
    dx: await startDxSimulator({ seed: seed + 5, initialRuns: n('dx'), runsPerHour: 0, start }),
  } satisfies Record<P, AnySimulator>;
  const dxIds = (sims.dx as DxSimulator).drainNewRunIds();
  const all = Object.values(sims) as AnySimulator[];
  return {
    sims,
    dxIds,
    requests: () => all.reduce((a, s) => a + s.requests.length, 0),
    faultsInjected: () => all.reduce((a, s) => a + s.faults.injectedTotal(), 0),
    close: async () => {
      await Promise.all(all.map((s) => s.close()));
    },
  };
}

export const sourceName = (p: P) => `${p}-scn`;

/** A config file for the CLI pointing at the simulators, and the environment with their tokens. */
export function writeScenarioConfig(dir: string, s: ScenarioSims, opts: { taskQueue: string; timeout?: string; concurrency?: number }): { config: string; env: Record<string, string> } {
  const options: Record<P, Record<string, unknown>> = {
    strait: { projectId: 'proj_demo' },
    tracecat: { workspaceId: (s.sims.tracecat as TracecatSimulator).workspaceId, limit: 200 },
    b3os: { orgId: 'org_demo' },
    anon: {},
    dx: {},
  };
  const env: Record<string, string> = {};
  const sources = SCENARIO_PROVIDERS.map((p) => {
    const tokenEnv = `SCN_${p.toUpperCase()}_TOKEN`;
    env[tokenEnv] = s.sims[p].token;
    return {
      name: sourceName(p), provider: p, baseUrl: s.sims[p].url, tokenEnv, options: options[p],
      lookback: '30m', settle: '0s', backfill: '30d', rateLimit: 5000, concurrency: opts.concurrency ?? 16, timeout: opts.timeout ?? '30s', maxRetries: 8,
    };
  });
  const config = join(dir, 'runsync.config.json');
  writeFileSync(config, JSON.stringify({ dataDir: join(dir, 'data'), temporal: { taskQueue: opts.taskQueue }, sources }, null, 2));
  return { config, env };
}

export interface CliRun {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** The real CLI in its own process group (so what it leaves behind can be found), joined to `temporalAddress`. */
export function runCli(args: string[], env: Record<string, string>): CliRun {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'runsync.js'), ...args], {
    cwd: REPO,
    env: { ...process.env, RUNSYNC_LOG_LEVEL: 'warn', RUNSYNC_TEMPORAL_LOG: 'ERROR', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal, stdout, stderr })),
  );
  return { child, exited };
}

interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
}

function procs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces, inside parentheses).
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (f[0] === 'Z') continue; // a zombie has ended; only its exit status is left
      out.push({ pid: Number(d), ppid: Number(f[1]), pgrp: Number(f[2]) });
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** Every live descendant of `pid`. */
export function descendants(pid: number): number[] {
  const all = procs();
  const found: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    for (const c of all) if (c.ppid === p) {
      found.push(c.pid);
      queue.push(c.pid);
    }
  }
  return found;
}

/** Live processes of a process group, plus any of `pids` still alive. */
export function leftovers(pgrp: number, pids: number[]): number[] {
  const all = procs();
  const alive = new Set(all.map((p) => p.pid));
  return [...new Set([...all.filter((p) => p.pgrp === pgrp).map((p) => p.pid), ...pids.filter((p) => alive.has(p))])];
}

/** Runs queries against a data directory from a separate process (see wh-query.ts). */
export function queryDir(dataDir: string, queries: { sql: string; params?: Record<string, unknown> }[]): Promise<unknown[][]> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test', 'helpers', 'wh-query.ts'), dataDir], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? res(JSON.parse(out) as unknown[][]) : rej(new Error(`wh-query exited ${code}: ${err.trim().split('\n').pop()}`))));
    child.stdin.end(JSON.stringify(queries));
  });
}

/** compareWithTruth for every source, with all queries run in one separate process. */
export async function compareDir(dataDir: string, s: ScenarioSims): Promise<Record<P, Comparison>> {
  const exps = Object.fromEntries(SCENARIO_PROVIDERS.map((p) => [p, expectedOf(s.sims[p], { dxIds: s.dxIds })])) as Record<P, ReturnType<typeof expectedOf>>;
  // Pass 1 records the queries (they do not depend on the answers), pass 2 answers them.
  const recorded: { sql: string; params?: Record<string, unknown> }[] = [];
  const record = async <R,>(sql: string, params?: Record<string, unknown>): Promise<R[]> => {
    recorded.push({ sql, params });
    return [];
  };
  for (const p of SCENARIO_PROVIDERS) await compareWithTruth(record, sourceName(p), exps[p]);
  const answers = await queryDir(dataDir, recorded);
  let i = 0;
  const replay = async <R,>(): Promise<R[]> => answers[i++] as R[];
  const out = {} as Record<P, Comparison>;
  for (const p of SCENARIO_PROVIDERS) out[p] = await compareWithTruth(replay, sourceName(p), exps[p]);
  return out;
}

/** The run's own time the watermark is compared with (the contract's created time, B3OS's start). */
function runTimes(s: ScenarioSims): Record<P, { id: string; at: number }[]> {
  const ms = (v: string | null | undefined) => (v ? Date.parse(v) : Number.NaN);
  const e = (p: P) => expectedOf(s.sims[p], { dxIds: s.dxIds }).runs;
  return {
    strait: e('strait').map((r) => ({ id: r.run_id, at: ms(r.created_at?.replace(' ', 'T') + 'Z') })),
    tracecat: e('tracecat').map((r) => ({ id: r.run_id, at: ms(r.created_at?.replace(' ', 'T') + 'Z') })),
    b3os: e('b3os').map((r) => ({ id: r.run_id, at: ms(r.started_at?.replace(' ', 'T') + 'Z') })),
    anon: e('anon').map((r) => ({ id: r.run_id, at: ms(r.created_at?.replace(' ', 'T') + 'Z') })),
    dx: [],
  };
}

export interface KillRecord {
  /** Requests the simulators had answered when the process was killed (null: it ended first). */
  killedAfterRequests: number | null;
  exit: string;
  /** Processes of the killed run still alive a moment after the kill. */
  leftovers: number[];
  watermarks: Record<string, string | null>;
  /** `source: run` the simulator served with a time at or below the source's watermark, missing from runs. */
  uncovered: string[];
}

export interface ScenarioResult {
  scenario: string;
  faults: number;
  expected: number;
  landed: number;
  lost: number;
  duplicated: number;
  wallMs: number;
  exact: boolean;
  details: string[];
  kills: KillRecord[];
  finalExit: string;
}

/** Syncs a killed process started are still open on the server (no worker left): end them, within 20 s. */
async function terminateOpen(temporalAddress: string, taskQueue: string): Promise<number> {
  const connection = await Connection.connect({ address: temporalAddress, connectTimeout: 5_000 });
  const deadline = AbortSignal.timeout(20_000);
  let n = 0;
  try {
    const client = new Client({ connection });
    await connection.withAbortSignal(deadline, async () => {
      for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
        await client.workflow.getHandle(wf.workflowId, wf.runId).terminate('scenario finished').catch(() => undefined);
        n++;
      }
    });
  } finally {
    await connection.close();
  }
  return n;
}

function summarise(scenario: string, s: ScenarioSims, cmp: Record<P, Comparison>, began: number, kills: KillRecord[], finalExit: string): ScenarioResult {
  const all = Object.values(cmp);
  return {
    scenario,
    faults: s.faultsInjected() + kills.filter((k) => k.killedAfterRequests !== null).length,
    expected: all.reduce((a, c) => a + c.expected, 0),
    landed: all.reduce((a, c) => a + c.landed, 0),
    lost: all.reduce((a, c) => a + c.lost.length, 0),
    duplicated: all.reduce((a, c) => a + c.duplicated.length + c.childrenDuplicated.length, 0),
    wallMs: Date.now() - began,
    exact: all.every(isExact),
    details: SCENARIO_PROVIDERS.map((p) => `${p}: ${describeComparison(cmp[p])}`),
    kills,
    finalExit,
  };
}

const exitText = (r: { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }) =>
  `${r.signal ? `signal ${r.signal}` : `exit ${r.code}`}${r.code ? `: ${(r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' | ')}` : ''}`;

/**
 * A backfill of `total` runs; `runsync sync --once` SIGKILLed `kills` times at random
 * points (after a seeded number of answered requests) and started again; then run to the end.
 */
export async function runKillScenario(opts: { total: number; kills: number; seed: number; temporalAddress: string; log?: (m: string) => void }): Promise<ScenarioResult> {
  const began = Date.now();
  const log = opts.log ?? (() => undefined);
  const s = await startScenarioSims(opts.total, opts.seed);
  const dir = mkdtempSync(join(tmpdir(), 'runsync-kill-'));
  const taskQueue = `kill-${opts.seed}-${Date.now()}`;
  try {
    const { config, env } = writeScenarioConfig(dir, s, { taskQueue });
    const fullEnv = { ...env, TEMPORAL_ADDRESS: opts.temporalAddress };
    const args = ['--config', config, '--data-dir', join(dir, 'data')];
    const track = await runCli(['track', sourceName('dx'), ...s.dxIds, ...args], fullEnv).exited;
    if (track.code !== 0) throw new Error(`runsync track failed: ${exitText(track)}`);
    const rng = new Rng(opts.seed);
    const times = runTimes(s);
    const kills: KillRecord[] = [];
    for (let k = 0; k < opts.kills; k++) {
      // Early enough that each restart redoes little: the final run still reads everything.
      const threshold = rng.int(150, Math.max(300, Math.round(opts.total * 0.15)));
      const before = s.requests();
      const run = runCli(['sync', '--once', ...args], fullEnv);
      let ended: Awaited<CliRun['exited']> | null = null;
      void run.exited.then((r) => (ended = r));
      while (!ended && s.requests() - before < threshold) await sleep(20);
      let record: KillRecord;
      if (ended) {
        record = { killedAfterRequests: null, exit: exitText(ended), leftovers: [], watermarks: {}, uncovered: [] };
      } else {
        const pid = run.child.pid!;
        const tree = descendants(pid);
        process.kill(pid, 'SIGKILL');
        const r = await run.exited;
        await sleep(1_500);
        const left = leftovers(pid, tree);
        // Leave nothing running even when the check fails, so later runs are not disturbed.
        for (const p of left) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
        record = { killedAfterRequests: s.requests() - before, exit: exitText(r), leftovers: left, watermarks: {}, uncovered: [] };
      }
      const [state, ids] = await queryDir(join(dir, 'data'), [
        { sql: `SELECT source, toString(watermark) AS watermark FROM sync_state FINAL` },
        { sql: `SELECT source, run_id FROM runs` },
      ]);
      const have = new Set((ids as { source: string; run_id: string }[]).map((r) => `${r.source}|${r.run_id}`));
      for (const row of state as { source: string; watermark: string | null }[]) {
        record.watermarks[row.source] = row.watermark;
        const p = SCENARIO_PROVIDERS.find((x) => sourceName(x) === row.source);
        if (!p || !row.watermark) continue;
        const wm = Date.parse(row.watermark.replace(' ', 'T') + 'Z');
        for (const t of times[p]) if (t.at <= wm && !have.has(`${row.source}|${t.id}`)) record.uncovered.push(`${row.source}: ${t.id}`);
      }
      kills.push(record);
      log(`kill ${k + 1}: ${record.killedAfterRequests === null ? `ended first (${record.exit})` : `after ${record.killedAfterRequests} requests`}, leftovers ${record.leftovers.length}, uncovered ${record.uncovered.length}`);
    }
    let final: Awaited<CliRun['exited']> | null = null;
    // One clean run to the end; a second one if the first reports a failed source.
    for (let i = 0; i < 2; i++) {
      final = await runCli(['sync', '--once', ...args], fullEnv).exited;
      if (final.code === 0) break;
      log(`final sync ${i + 1}: ${exitText(final)}`);
    }
    await terminateOpen(opts.temporalAddress, taskQueue).then(
      (n) => log(`final sync: ${exitText(final!)}; ${n} sync workflows of killed processes terminated`),
      (e) => log(`could not terminate open workflows: ${(e as Error).message}`),
    );
    const cmp = await compareDir(join(dir, 'data'), s);
    return summarise(`kill x${opts.kills}`, s, cmp, began, kills, exitText(final!));
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `syncs` runs of `runsync sync --once` with `rate` of requests faulty (every kind), then one
 * with faults off.
 */
export async function runFaultScenario(opts: { total: number; rate: number; syncs: number; seed: number; temporalAddress: string; log?: (m: string) => void }): Promise<ScenarioResult> {
  const began = Date.now();
  const log = opts.log ?? (() => undefined);
  const s = await startScenarioSims(opts.total, opts.seed);
  const dir = mkdtempSync(join(tmpdir(), 'runsync-faults-'));
  const taskQueue = `faults-${opts.seed}-${Date.now()}`;
  try {
    const { config, env } = writeScenarioConfig(dir, s, { taskQueue, timeout: '2s' });
    const fullEnv = { ...env, TEMPORAL_ADDRESS: opts.temporalAddress };
    const args = ['--config', config, '--data-dir', join(dir, 'data')];
    const track = await runCli(['track', sourceName('dx'), ...s.dxIds, ...args], fullEnv).exited;
    if (track.code !== 0) throw new Error(`runsync track failed: ${exitText(track)}`);
    let i = 0;
    for (const sim of Object.values(s.sims) as AnySimulator[]) sim.faults.random({ rate: opts.rate, seed: opts.seed + i++, stallMs: 3_000 });
    for (let k = 0; k < opts.syncs; k++) {
      const r = await runCli(['sync', '--once', ...args], fullEnv).exited;
      log(`faulty sync ${k + 1}: ${exitText(r)}`);
    }
    for (const sim of Object.values(s.sims) as AnySimulator[]) sim.faults.random(null);
    const final = await runCli(['sync', '--once', ...args], fullEnv).exited;
    log(`clean sync: ${exitText(final)}`);
    await terminateOpen(opts.temporalAddress, taskQueue).catch(() => undefined);
    const cmp = await compareDir(join(dir, 'data'), s);
    return summarise(`faults ${Math.round(opts.rate * 100)}% x${opts.syncs}`, s, cmp, began, [], exitText(final));
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The soak table. */
export function formatTable(rows: ScenarioResult[]): string {
  const head = ['scenario', 'faults injected', 'runs expected', 'landed', 'lost', 'duplicated', 'wall time'];
  const body = rows.map((r) => [r.scenario, String(r.faults), String(r.expected), String(r.landed), String(r.lost), String(r.duplicated), `${(r.wallMs / 1000).toFixed(1)} s`]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' | ') + ' |';
  return [line(head), '|' + w.map((n, i) => (i === 0 ? '-'.repeat(n + 2) : '-'.repeat(n + 1) + ':')).join('|') + '|', ...body.map(line)].join('\n');
}
