import { resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import type { RunsyncConfig } from '../config/schema.js';
import { setLogLevel } from '../core/log.js';

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
  return { config: { ...config, dataDir }, configPath: path, dataDir };
}

export function out(line = ''): void {
  process.stdout.write(line + '\n');
}
