/**
 * Whole-process measurements for the benchmark: a command in its own process group, timed
 * from spawn to exit, with its process tree (runsync and the Temporal dev server it starts)
 * sampled from /proc every 100 ms.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TICK_MS = 10; // 1000 / CLK_TCK (100 on Linux)
const PRELOAD = fileURLToPath(new URL('./preload.mjs', import.meta.url));

export interface ProcessFigures {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** CPU of the tree: the root's own (exact, from getrusage when it is a Node process) plus the last sample of every descendant. */
  cpuMs: number;
  /** Highest sampled sum of the RSS of every live process in the tree. */
  peakTreeRssMb: number;
  /** The root process's own peak RSS (exact for Node processes, sampled VmHWM otherwise). */
  peakRootRssMb: number;
  /** Peak RSS (VmHWM) of each descendant by command name, MiB. */
  children: Record<string, number>;
}

interface Sample {
  cpuMs: number;
  rssKb: number;
  hwmKb: number;
  name: string;
}

function readProc(pid: number): (Sample & { ppid: number }) | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (f[0] === 'Z') return null;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { ppid: Number(f[1]), cpuMs: (Number(f[11]) + Number(f[12])) * TICK_MS, rssKb: kb('VmRSS'), hwmKb: kb('VmHWM'), name };
  } catch {
    return null; // ended while we looked
  }
}

/** Every live process whose parent chain reaches `root`, plus those already seen (they may have been re-parented). */
function tree(root: number, seen: Set<number>): Map<number, Sample> {
  const all = new Map<number, Sample & { ppid: number }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const p = readProc(Number(d));
    if (p) all.set(Number(d), p);
  }
  const out = new Map<number, Sample>();
  const queue = [root, ...[...seen].filter((p) => all.has(p))];
  while (queue.length) {
    const pid = queue.shift()!;
    if (out.has(pid) || !all.has(pid)) continue;
    out.set(pid, all.get(pid)!);
    for (const [c, p] of all) if (p.ppid === pid && !out.has(c)) queue.push(c);
  }
  return out;
}

/** Children still running, so a Ctrl-C of the benchmark can stop them. */
export const running = new Set<ChildProcess>();

/** Stops every measured process group still running: SIGINT first (runsync stops its dev server), SIGKILL after 5 s. */
export async function stopRunning(): Promise<void> {
  const kids = [...running];
  for (const c of kids) if (c.pid) try { process.kill(-c.pid, 'SIGINT'); } catch { /* gone */ }
  const deadline = Date.now() + 5_000;
  while (kids.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const c of kids) if (c.pid && c.exitCode === null && c.signalCode === null) try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ }
}

/**
 * Runs `command args` to its end and measures it. A Node command (`node: true`) gets the
 * preload that records its own CPU and peak RSS exactly at exit.
 */
export async function measure(command: string, args: string[], opts: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    node?: boolean;
    usageFile?: string;
    timeoutMs?: number;
    /** An IPC channel to the child (messages through `onLine`'s child). */
    ipc?: boolean;
    /** Each line the process writes on stdout, as it comes. */
    onLine?: (line: string, child: ChildProcess) => void;
  },): Promise<ProcessFigures> {
  const usageFile = opts.node ? opts.usageFile : undefined;
  if (usageFile) rmSync(usageFile, { force: true });
  const fullArgs = opts.node ? ['--import', PRELOAD, ...args] : args;
  const began = performance.now();
  const child = spawn(command, fullArgs, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env, ...(usageFile ? { RUNSYNC_BENCH_USAGE: usageFile } : {}) },
    stdio: opts.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  let pending = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d;
    if (!opts.onLine) return;
    pending += d;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      opts.onLine(line, child);
    }
  });
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal, at: performance.now() })),
  );
  const last = new Map<number, Sample>();
  const seen = new Set<number>();
  let peakTree = 0;
  const sample = () => {
    if (!child.pid) return;
    const t = tree(child.pid, seen);
    let sum = 0;
    for (const [pid, s] of t) {
      seen.add(pid);
      last.set(pid, s);
      sum += s.rssKb;
    }
    peakTree = Math.max(peakTree, sum);
  };
  sample();
  const timer = setInterval(sample, 100);
  const killer = opts.timeoutMs ? setTimeout(() => child.pid && process.kill(-child.pid, 'SIGINT'), opts.timeoutMs) : null;
  const end = await exited;
  clearInterval(timer);
  if (killer) clearTimeout(killer);
  // Descendants that outlive the root (the dev server stopping) are followed until they end.
  const rootPid = child.pid!;
  for (let i = 0; i < 100 && [...seen].some((p) => p !== rootPid && readProc(p)); i++) {
    for (const p of seen) {
      const s = p !== rootPid ? readProc(p) : null;
      if (s) last.set(p, s);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  running.delete(child);
  const wallMs = end.at - began;
  await new Promise((r) => setImmediate(r));
  const usage = usageFile && existsSync(usageFile) ? (JSON.parse(readFileSync(usageFile, 'utf8')) as { cpuMs: number; maxRssKb: number }) : null;
  const root = last.get(rootPid);
  let cpuMs = usage ? usage.cpuMs : (root?.cpuMs ?? 0);
  const children: Record<string, number> = {};
  for (const [pid, s] of last) {
    if (pid === rootPid) continue;
    cpuMs += s.cpuMs;
    children[s.name] = Math.max(children[s.name] ?? 0, s.hwmKb / 1024);
  }
  return {
    code: end.code,
    signal: end.signal,
    stdout,
    stderr,
    wallMs,
    cpuMs,
    peakTreeRssMb: Math.max(peakTree / 1024, usage ? usage.maxRssKb / 1024 : 0),
    peakRootRssMb: usage ? usage.maxRssKb / 1024 : (root?.hwmKb ?? 0) / 1024,
    children,
  };
}
