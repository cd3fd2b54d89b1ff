import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startStraitSimulator, type StraitSimulator } from '../../simulators/strait.js';

/**
 * Stopping and crashing, as a user or a supervisor does it: signals at random points of a
 * first sync, SIGKILL, a second start on the same data directory, a busy port. runsync
 * runs in its own process group; what it leaves behind is looked for by process group and
 * by data directory.
 */
let sim: StraitSimulator;
let root: string;
let config: string;
const RUNS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number>;
}

function spawnRunsync(args: string[], env: Record<string, string | undefined>): Proc {
  const child = spawn(process.execPath, ['bin/runsync.js', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number>((r) => child.on('exit', (code, sig) => r(code ?? (sig ? -1 : -2))));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function run(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = spawnRunsync(args, env);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** Pids whose process group is `pgid` (Linux /proc). */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) out.push(Number(e));
    } catch {
      // Gone.
    }
  }
  return out;
}

/** Pids whose command line mentions `needle`. */
function processesWith(needle: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(needle)) out.push(Number(e));
    } catch {
      // Gone.
    }
  }
  return out;
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const sql = (dir: string, query: string) => run(['sql', query, '--config', config, '--data-dir', dir]);

beforeAll(async () => {
  // Enough runs, fetched slowly enough (rateLimit), that a first sync lasts several seconds.
  sim = await startStraitSimulator({ seed: 33, initialRuns: RUNS, runsPerHour: 0, start: Date.now() - 3_600_000 });
  root = mkdtempSync(join(tmpdir(), 'runsync-life-'));
  config = join(root, 'runsync.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      temporal: { taskQueue: `life-${Date.now()}` },
      server: { port: 0 },
      sources: [{ name: `life-${process.pid}`, provider: 'strait', baseUrl: sim.url, tokenEnv: 'LIFE_TOKEN', rateLimit: 60, concurrency: 2, options: { projectId: 'proj_demo' } }],
    }),
  );
});

afterAll(async () => {
  await sim?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('signals during a first sync', () => {
  // Points in the sync by the provider requests made so far (random each run), plus two
  // before any request: while runsync loads, and while it connects.
  // While it loads (before Node runs runsync's first line the default action ends it: nothing started yet).
  const points: { signal: NodeJS.Signals; afterRequests: number | null; afterMs?: number }[] = [
    { signal: 'SIGINT', afterRequests: null, afterMs: 1_000 },
    // While the warehouse is migrated (a migration stopped half-way once left its lock behind).
    { signal: 'SIGTERM', afterMs: 1_800, afterRequests: null },
    { signal: 'SIGTERM', afterRequests: null, afterMs: 2_500 },
  ];
  for (let i = 0; i < 6; i++) points.push({ signal: i % 2 ? 'SIGTERM' : 'SIGINT', afterRequests: 1 + Math.floor(Math.random() * (RUNS - 40)) });

  it.each(points.map((p, i) => ({ ...p, i })))('$signal after $afterRequests requests ($afterMs ms): stops within 15 s, leaves nothing, sync cancelled', async ({ signal, afterRequests, afterMs, i }) => {
    const dir = join(root, `sig-${i}`);
    sim.clearRequests();
    const p = spawnRunsync(['sync', '--once', '--config', config, '--data-dir', dir], { TEMPORAL_ADDRESS: inject('temporalAddress'), LIFE_TOKEN: sim.token });
    const pgid = p.child.pid!;
    if (afterRequests !== null) await waitFor(() => sim.requests.length >= afterRequests || p.child.exitCode !== null, 90_000, `${afterRequests} requests`);
    else await sleep(afterMs!);
    expect(p.child.exitCode, `exited before the signal: ${p.stderr()}`).toBeNull();
    const t0 = Date.now();
    process.kill(pgid, signal);
    const code = await Promise.race([p.exited, sleep(15_000).then(() => 'timeout' as const)]);
    const took = Date.now() - t0;
    if (code === 'timeout') process.kill(-pgid, 'SIGKILL');
    expect(code, `still running 15 s after ${signal}; stderr:\n${p.stderr()}`).not.toBe('timeout');
    expect(took).toBeLessThan(15_000);
    // 130/143 from runsync's own shutdown; -1 (ended by the signal itself) only before any of its code ran.
    if (code === -1) expect(afterMs).toBeDefined();
    else expect(code).toBe(signal === 'SIGINT' ? 130 : 143);
    // Nothing of its group, nothing on its data directory (the embedded server of a start).
    await waitFor(() => groupMembers(pgid).length === 0, 3_000, 'the process group to be empty').catch(() => undefined);
    expect(groupMembers(pgid)).toEqual([]);
    expect(processesWith(dir)).toEqual([]);
    expect(p.stderr()).not.toMatch(/WORKER_SHUTDOWN|run fetch failed|Activity failed/);
    expect(existsSync(join(dir, 'runsync.lock'))).toBe(false);
    if (!existsSync(join(dir, 'clickhouse'))) return; // stopped before the warehouse was opened
    const r = await sql(dir, "SELECT (SELECT arrayStringConcat(groupArray(status), ',') FROM sync_runs), (SELECT count() FROM quarantine) FORMAT TSV");
    expect(r.stderr).toBe('');
    const [syncs, quarantined] = r.stdout.replace(/\n$/, '').split('\t');
    expect(quarantined).toBe('0');
    const statuses = syncs ? syncs.split(',') : [];
    expect(statuses).not.toContain('running');
    // A signal in the middle of the sync (requests were made, not all of them): recorded as cancelled.
    if (afterRequests !== null && afterRequests < RUNS - 40) expect(statuses).toEqual(['cancelled']);
  });
});

describe('progress', () => {
  it('a backfill without a terminal prints a progress line at least every 5 s', async () => {
    const dir = join(root, 'progress');
    const r = await run(['sync', '--once', '--config', config, '--data-dir', dir], { TEMPORAL_ADDRESS: inject('temporalAddress'), LIFE_TOKEN: sim.token, RUNSYNC_LOG_LEVEL: 'info' });
    expect(r.code, r.stderr).toBe(0);
    const at = (l: string) => Date.parse(l.split(' ')[0]);
    const lines = r.stderr.split('\n');
    const progress = lines.filter((l) => / INFO  progress life-\d+: /.test(l));
    const finished = lines.find((l) => / INFO  sync finished /.test(l));
    expect(finished).toBeDefined();
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toMatch(/: [a-z -]+, \d+ pages, \d+ runs \(\d+ new, \d+ updated, \d+ polled\), \d+ rows \([\d.]+\/s\), \d+ requests, \d+ retries, \d+ rate-limited/);
    const times = [...progress.map(at), at(finished!)];
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1], `gap before ${i}`).toBeLessThanOrEqual(5_000);
    // The counts grow as the sync goes.
    const rows = progress.map((l) => Number(/(\d+) rows/.exec(l)![1]));
    expect(rows.at(-1)!).toBeGreaterThan(rows[0]);
  });
});

describe('crash and a second instance', () => {
  it('a second start is refused in one line before anything starts; SIGKILL leaves no embedded server; the next start cleans up and says so', async () => {
    const dir = join(root, 'start');
    const env = { LIFE_TOKEN: sim.token, TEMPORAL_ADDRESS: undefined };
    const first = spawnRunsync(['start', '--config', config, '--data-dir', dir], env);
    try {
      await waitFor(() => /^http: +http:\/\/\S+/m.test(first.stdout()) || first.child.exitCode !== null, 90_000, 'the first start to serve');
      expect(first.child.exitCode, first.stderr()).toBeNull();
      const url = /^http: +(http:\/\/\S+)/m.exec(first.stdout())![1];
      expect(processesWith(join(dir, 'temporal.sqlite')).length).toBeGreaterThan(0);

      const t0 = Date.now();
      const second = await run(['start', '--config', config, '--data-dir', dir], env);
      expect(second.code).toBe(1);
      expect(second.stderr.split('\n')[0]).toBe(`runsync start: ${dir} is in use by runsync start (pid ${first.child.pid}, ${url}, since ${JSON.parse(readFileSync(join(dir, 'runsync.lock'), 'utf8')).startedAt}): stop it first, or use another --data-dir`);
      expect(second.stderr.trim().split('\n')).toHaveLength(1);
      expect(second.stdout).toBe('');
      expect(Date.now() - t0).toBeLessThan(30_000);

      process.kill(first.child.pid!, 'SIGKILL');
      await first.exited;
      await waitFor(() => processesWith(join(dir, 'temporal.sqlite')).length === 0, 10_000, 'the embedded Temporal server to stop').catch(() => undefined);
      expect(processesWith(join(dir, 'temporal.sqlite'))).toEqual([]);
      expect(existsSync(join(dir, 'service.json'))).toBe(true); // left by the killed process

      const third = spawnRunsync(['start', '--config', config, '--data-dir', dir], env);
      try {
        await waitFor(() => /syncing on schedule/.test(third.stdout()) || third.child.exitCode !== null, 120_000, 'the restart to sync');
        expect(third.stderr()).toMatch(/removed the lock of a runsync that is no longer running \(pid \d+/);
        expect(third.stderr()).toMatch(/removed service\.json of a runsync that is no longer running/);
        third.child.kill('SIGTERM');
        expect(await Promise.race([third.exited, sleep(15_000).then(() => 'timeout')])).toBe(0);
        expect(existsSync(join(dir, 'service.json'))).toBe(false);
        expect(existsSync(join(dir, 'runsync.lock'))).toBe(false);
        expect(processesWith(join(dir, 'temporal.sqlite'))).toEqual([]);
      } finally {
        if (third.child.exitCode === null && third.child.signalCode === null) process.kill(-third.child.pid!, 'SIGKILL');
      }
    } finally {
      if (first.child.exitCode === null && first.child.signalCode === null) process.kill(-first.child.pid!, 'SIGKILL');
    }
  }, 300_000);

  it('a busy --port is refused in one line naming who holds it, before anything starts', async () => {
    const dir = join(root, 'port');
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await run(['start', '--port', String(port), '--config', config, '--data-dir', dir], { LIFE_TOKEN: sim.token });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`runsync start: port ${port} on 127.0.0.1 is taken by a process (pid ${process.pid}, http://127.0.0.1:${port}): choose another with --port, or --port 0 for any free one\n`);
      expect(existsSync(join(dir, 'clickhouse'))).toBe(false);
      expect(existsSync(join(dir, 'temporal.sqlite'))).toBe(false);
      expect(existsSync(join(dir, 'runsync.lock'))).toBe(false);
    } finally {
      server.close();
    }
  });
});
