import { resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import type { RunsyncConfig } from '../config/schema.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { logToFile, setLogLevel } from '../core/log.js';

export interface CliContext {
  config: RunsyncConfig;
  configPath: string | null;
  dataDir: string;
}

/** Config from --config / RUNSYNC_CONFIG / ./runsync.config.json; --data-dir overrides the config's. */
export function cliContext(values: Record<string, any>): CliContext {
  if (values.verbose) setLogLevel('debug');
  const { config, path } = loadConfig(values.config);
  const dataDir = resolve(values['data-dir'] ?? process.env.RUNSYNC_DATA_DIR ?? config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  logToFile(join(dataDir, 'runsync.log'));
  return { config: { ...config, dataDir }, configPath: path, dataDir };
}

export function out(line = ''): void {
  process.stdout.write(line + '\n');
}
