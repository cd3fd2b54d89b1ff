/**
 * `<dataDir>/service.json`: written by a running `runsync start` so other runsync
 * commands on the same data dir (which cannot open the embedded chDB while the
 * service holds it) find its HTTP endpoint. Holds no secret: only the URL, the
 * pid and the name of the token's environment variable.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ServiceInfo {
  url: string;
  pid: number;
  startedAt: string;
  tokenEnv?: string;
  /** Where the service's Temporal is, so `status` can read the progress of its syncs. */
  temporal?: { address: string; namespace: string };
}

const file = (dataDir: string) => join(dataDir, 'service.json');

export function writeServiceFile(dataDir: string, info: Omit<ServiceInfo, 'pid' | 'startedAt'>): void {
  writeFileSync(file(dataDir), JSON.stringify({ ...info, pid: process.pid, startedAt: new Date().toISOString() }, null, 2) + '\n');
}

/** The running service of this data dir, or null (no file, or its process is gone). */
export function readServiceFile(dataDir: string): ServiceInfo | null {
  if (!existsSync(file(dataDir))) return null;
  try {
    const info = JSON.parse(readFileSync(file(dataDir), 'utf8')) as ServiceInfo;
    process.kill(info.pid, 0);
    return info;
  } catch {
    return null;
  }
}

export function removeServiceFile(dataDir: string): void {
  const info = existsSync(file(dataDir)) ? (() => { try { return JSON.parse(readFileSync(file(dataDir), 'utf8')) as ServiceInfo; } catch { return null; } })() : null;
  // Only the process that wrote it removes it.
  if (!info || info.pid === process.pid) rmSync(file(dataDir), { force: true });
}
