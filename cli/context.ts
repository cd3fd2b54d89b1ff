import { resolve, join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { loadConfig } from '../config/load.js';
import type { RunsyncConfig } from '../config/schema.js';
import { logToFile } from '../core/log.js';

export interface CliContext {
  config: RunsyncConfig;
  configPath: string | null;
  dataDir: string;
}

/** Config from --config / RUNSYNC_CONFIG / ./runsync.config.json; --data-dir overrides the config's. */
export function cliContext(values: Record<string, any>): CliContext {
  const { config, path } = loadConfig(values.config);
  const dataDir = resolve(values.dataDir ?? process.env.RUNSYNC_DATA_DIR ?? config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  logToFile(join(dataDir, 'runsync.log'));
  return { config: { ...config, dataDir }, configPath: path, dataDir };
}

export function out(line = ''): void {
  process.stdout.write(line + '\n');
}

/** Prints a value as JSON (for --json). */
export function outJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** A warehouse timestamp (`2026-12-02 11:38:00.906`, UTC) as ISO-8601 with Z; null stays null. */
export function isoUtc(value: string | number | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number') return new Date(value).toISOString();
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value.replace(' ', 'T') : value.replace(' ', 'T') + 'Z');
  return Number.isFinite(ms) ? new Date(ms).toISOString() : value;
}
