/**
 * One runsync per data directory: a lock file names the process that holds it, so a
 * second one is refused before anything starts, and what a dead one left behind (its
 * lock, its service.json, an embedded Temporal server) is cleaned up with a word.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { onStop } from './lifecycle.js';

export interface LockInfo {
  pid: number;
  command: string;
  startedAt: string;
  url?: string;
}

export class InstanceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstanceError';
  }
}

const lockFile = (dataDir: string) => join(dataDir, 'runsync.lock');
const serviceFile = (dataDir: string) => join(dataDir, 'service.json');

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** Linux: processes whose command line contains every one of `needles` (none elsewhere). */
export function findProcesses(needles: string[]): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ');
      if (needles.every((n) => cmdline.includes(n))) found.push(Number(e));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** The embedded Temporal dev server(s) of a data directory, by their SQLite file. */
export function devServerPids(dataDir: string): number[] {
  return findProcesses(['start-dev', join(resolve(dataDir), 'temporal.sqlite')]);
}

function describe(info: LockInfo, dataDir: string): string {
  const service = readJson<{ url?: string; pid?: number }>(serviceFile(dataDir));
  const url = info.url ?? (service?.pid === info.pid ? service.url : undefined);
  return `runsync ${info.command} (pid ${info.pid}${url ? `, ${url}` : ''}, since ${info.startedAt})`;
}

/**
 * Claims the data directory for this process, or throws one line naming the instance
 * that holds it. Leftovers of a dead instance are removed first; `say` reports each.
 */
export async function claimDataDir(dataDir: string, command: string, say: (line: string) => void): Promise<void> {
  const path = lockFile(dataDir);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const held = readJson<LockInfo>(path);
      if (held && isAlive(held.pid)) {
        throw new InstanceError(`${resolve(dataDir)} is in use by ${describe(held, dataDir)}: stop it first, or use another --data-dir`);
      }
      if (!held) {
        // Being written by a process starting right now, or torn: look again before removing it.
        await sleep(200);
        const again = readJson<LockInfo>(path);
        if (again && isAlive(again.pid)) continue;
      }
      rmSync(path, { force: true });
      say(`removed the lock of a runsync that is no longer running${held ? ` (pid ${held.pid}, since ${held.startedAt})` : ''}`);
      continue;
    }
    writeSync(fd, JSON.stringify({ pid: process.pid, command, startedAt: new Date().toISOString() } satisfies LockInfo) + '\n');
    closeSync(fd);
    onStop(
      'data directory lock',
      async () => releaseDataDir(dataDir),
      () => releaseDataDir(dataDir),
    );
    await cleanLeftovers(dataDir, say);
    return;
  }
  throw new InstanceError(`${resolve(dataDir)}: cannot take its lock (${path}); another runsync is starting there`);
}

export function releaseDataDir(dataDir: string): void {
  const held = readJson<LockInfo>(lockFile(dataDir));
  if (held?.pid === process.pid) rmSync(lockFile(dataDir), { force: true });
}

/** What a dead instance may have left: its service.json, its embedded Temporal server. */
async function cleanLeftovers(dataDir: string, say: (line: string) => void): Promise<void> {
  const service = readJson<{ pid?: number; url?: string }>(serviceFile(dataDir));
  if (existsSync(serviceFile(dataDir)) && !(service?.pid && isAlive(service.pid) && service.pid !== process.pid)) {
    rmSync(serviceFile(dataDir), { force: true });
    say(`removed service.json of a runsync that is no longer running${service?.pid ? ` (pid ${service.pid}, ${service.url ?? 'no URL'})` : ''}`);
  }
  const stale = devServerPids(dataDir);
  if (stale.length === 0) return;
  say(`stopping a Temporal dev server left running on this data directory (pid ${stale.join(', ')})`);
  for (const pid of stale) killQuietly(pid, 'SIGTERM');
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && stale.some(isAlive)) await sleep(100);
  for (const pid of stale) if (isAlive(pid)) killQuietly(pid, 'SIGKILL');
}

function killQuietly(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** Records the URL the instance serves on, so a refused second start can name it. */
export function recordUrl(dataDir: string, url: string): void {
  const held = readJson<LockInfo>(lockFile(dataDir));
  if (held?.pid !== process.pid) return;
  const fd = openSync(lockFile(dataDir), 'w');
  writeSync(fd, JSON.stringify({ ...held, url } satisfies LockInfo) + '\n');
  closeSync(fd);
}

/** Linux: the pid listening on a TCP port, from /proc (null when unknown). */
function listenerPid(port: number): number | null {
  const inodes = new Set<string>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length < 10 || cols[3] !== '0A') continue; // 0A: LISTEN
        if (parseInt(cols[1].split(':')[1], 16) === port) inodes.add(cols[9]);
      }
    } catch {
      // Not Linux.
    }
  }
  if (inodes.size === 0) return null;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      for (const fd of readdirSync(`/proc/${e}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSafe(`/proc/${e}/fd/${fd}`));
        if (m && inodes.has(m[1])) return Number(e);
      }
    } catch {
      // Not ours to read, or gone.
    }
  }
  return null;
}

function readlinkSafe(p: string): string {
  try {
    return readlinkSync(p);
  } catch {
    return '';
  }
}

/** Throws one line when host:port cannot be listened on, naming who holds it where that can be known. */
export async function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const err = await new Promise<NodeJS.ErrnoException | null>((res) => {
    const srv = createServer();
    srv.once('error', (e) => res(e as NodeJS.ErrnoException));
    srv.listen(port, host, () => srv.close(() => res(null)));
  });
  if (!err) return;
  if (err.code !== 'EADDRINUSE') throw new InstanceError(`cannot listen on ${host}:${port}: ${err.message}`);
  const pid = listenerPid(port);
  let who = '';
  if (pid) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    } catch {
      // Gone meanwhile.
    }
    who = ` by ${/runsync/.test(cmd) ? 'runsync' : 'a process'} (pid ${pid}, http://${host}:${port})`;
  }
  throw new InstanceError(`port ${port} on ${host} is taken${who}: choose another with --port, or --port 0 for any free one`);
}
