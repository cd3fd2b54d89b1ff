import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { demoSimulators, type DemoSimulator } from '../../runtime/demo.js';
import type { World, WorldRun } from '../../simulators/core/world.js';

/**
 * `runsync start --demo`, stopped, then started again on the same data directory (its own
 * embedded Temporal server, as a user runs it). The demo rebuilds the same simulated worlds
 * from `demo.json`, and they follow the wall clock, so runs may start, progress or finish
 * between the two starts. What the second start asks each provider for is read from the
 * simulators' request log (RUNSYNC_DEMO_REQUEST_LOG) and judged against the same worlds
 * rebuilt here: a run's detail is asked for only when the run is new or changed at the
 * provider since the first start began, or still open or within `settle` (10 min in the
 * demo) of finishing, which the README says is polled because its list entry need not show
 * a change.
 */
const SETTLE_MS = 10 * 60_000;
let root: string;
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) process.kill(-c.pid!, 'SIGKILL');
  if (root) rmSync(root, { recursive: true, force: true });
});

interface Logged {
  provider: string;
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  status: number;
}

/** One start of the demo until its first sync is done and it syncs on schedule, then SIGINT. */
async function startAndStop(dir: string, requestLog: string): Promise<{ stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['bin/runsync.js', 'start', '--demo', '--port', '0', '--data-dir', dir], {
    env: { ...process.env, TEMPORAL_ADDRESS: undefined, RUNSYNC_LOG_LEVEL: 'info', RUNSYNC_DEMO_REQUEST_LOG: requestLog },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number>((r) => child.on('exit', (code) => r(code ?? -1)));
  const deadline = Date.now() + 150_000;
  while (!stdout.includes('syncing on schedule')) {
    if (Date.now() > deadline) throw new Error(`start --demo did not finish its first sync:\n${stdout}\n${stderr}`);
    if (child.exitCode !== null) throw new Error(`start --demo exited early (${child.exitCode}):\n${stdout}\n${stderr}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  child.kill('SIGINT');
  const code = await Promise.race([exited, new Promise<number>((r) => setTimeout(() => r(-99), 30_000))]);
  expect(code, stderr).toBe(0);
  return { stdout, stderr };
}

/** The run a detail request asks for (provider's run id as it appears in the path or query), or null for other requests. */
function detailRunId(r: Logged): string | null {
  const m =
    r.provider === 'strait' ? /^\/v1\/workflow-runs\/([^/]+)(?:\/steps)?$/.exec(r.path)
    : r.provider === 'b3os' ? /^\/v1\/runs\/([^/]+)$/.exec(r.path)
    : r.provider === 'anon' ? /\/workflow-runs\/([^/]+)$/.exec(r.path)
    : r.provider === 'tracecat' ? /^\/workflow-executions\/([^/]+)(?:\/compact)?$/.exec(r.path)
    : null;
  if (r.provider === 'dx') return r.path === '/workflowRuns.info' && typeof r.query.id === 'string' ? r.query.id : null;
  if (!m || m[1] === 'search') return null;
  return decodeURIComponent(m[1]);
}

function readLog(file: string): Logged[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Logged);
}

/** The provider's answer to `r` at the simulator's current time. */
async function answer(s: DemoSimulator, r: Logged): Promise<string> {
  const url = new URL(r.path, new URL(s.sim.url).origin);
  for (const [k, v] of Object.entries(r.query)) for (const x of Array.isArray(v) ? v : [v]) url.searchParams.append(k, x);
  for (;;) {
    const res = await fetch(url, { headers: { authorization: `Bearer ${s.sim.token}`, 'x-org-id': 'org_demo' } });
    const body = await res.text();
    if (res.status === 429) {
      await new Promise((ok) => setTimeout(ok, 1_000));
      continue;
    }
    return `${res.status} ${body}`;
  }
}

/** The world's run behind a provider run id (Tracecat's paths carry the execution id). */
function worldRun(world: World, id: string): WorldRun | undefined {
  return world.byId.get(id) ?? world.runs.find((r) => (r.meta as Record<string, unknown> | undefined)?.execId === id);
}

describe('a restart on the same data directory', () => {
  it('asks for no run that is unchanged at the provider, and says nothing alarming', async () => {
    root = mkdtempSync(join(tmpdir(), 'runsync-restart-'));
    const dir = join(root, 'data');
    const log1 = join(root, 'requests-1.jsonl');
    const log2 = join(root, 'requests-2.jsonl');
    // Everything the first start saw, it saw at or after A; the second start saw nothing after B.
    const A = Date.now();
    const first = await startAndStop(dir, log1);
    for (const p of ['strait', 'tracecat', 'b3os', 'anon', 'dx']) expect(first.stdout).toMatch(new RegExp(`${p}-demo\\s+ok\\s+new=[1-9]`));
    const second = await startAndStop(dir, log2);
    const B = Date.now();

    // Nothing alarming: no warning or error line, no run said to be gone.
    expect(second.stderr).not.toMatch(/ (WARN|ERROR) /);
    expect(second.stderr).not.toMatch(/no longer known|run gone/);
    // The first stopped cleanly: nothing of it to clean up.
    expect(second.stderr).not.toMatch(/no longer running/);

    const sims = new Map((await demoSimulators({ dataDir: dir })).map((s) => [s.provider as string, s]));
    try {
      const firstDetails = readLog(log1).filter((r) => detailRunId(r) !== null);
      const secondDetails = readLog(log2).filter((r) => detailRunId(r) !== null);
      // The first start fetched the whole history; the second listed every listable provider again.
      expect(firstDetails.length).toBeGreaterThan(500);
      const listedAgain = new Set(readLog(log2).map((r) => r.provider));
      for (const p of ['strait', 'tracecat', 'b3os', 'anon']) expect(listedAgain.has(p), p).toBe(true);
      const key = (r: Logged) => `${r.provider} ${r.path} ${new URLSearchParams(Object.entries(r.query).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => [k, x]))).toString()}`;
      const distinct = (rs: Logged[]) => [...new Map(rs.map((r) => [key(r), r])).values()];
      const asked = distinct(secondDetails);
      // A sample of what the first start fetched, to show the comparison below can tell an unchanged run.
      const sample = distinct(firstDetails).filter((_, i) => i % 25 === 0);

      const at = async (t: number, rs: Logged[]) => {
        for (const s of sims.values()) s.sim.advance(Math.max(0, t - s.sim.clock.now()));
        return Promise.all(rs.map((r) => answer(sims.get(r.provider)!, r)));
      };
      const atA = await at(A, [...asked, ...sample]);
      const atB = await at(B, [...asked, ...sample]);

      const unchangedSample = sample.filter((_, i) => atA[asked.length + i] === atB[asked.length + i]).length;
      expect(unchangedSample, 'most runs the first start fetched are unchanged between the starts').toBeGreaterThan(sample.length / 2);

      const wasted: string[] = [];
      asked.forEach((r, i) => {
        if (atA[i] !== atB[i]) return; // new or changed at the provider since A
        const id = detailRunId(r)!;
        const world = (sims.get(r.provider)!.sim as unknown as { world: World }).world;
        const run = worldRun(world, id);
        const v = run ? world.view(run, B) : null;
        // Open, or finished within `settle` of the second start: polled on purpose.
        if (v && (v.finishedAt === null || v.finishedAt >= A - SETTLE_MS)) return;
        wasted.push(`${key(r)} (${v ? `${v.status}, finished ${new Date(v.finishedAt!).toISOString()}` : 'no such run'})`);
      });
      expect(wasted).toEqual([]);
    } finally {
      await Promise.all([...sims.values()].map((s) => s.sim.close()));
    }
  }, 420_000);
});
