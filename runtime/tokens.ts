import type { RunsyncConfig } from '../config/schema.js';

/**
 * Enabled sources whose token variable is unset or empty, as "source (VARIABLE)": a worker
 * refuses to start with any, rather than failing each sync of that source later.
 */
export function missingTokens(config: RunsyncConfig, env: NodeJS.ProcessEnv): string[] {
  return config.sources.filter((s) => s.enabled && !env[s.tokenEnv]).map((s) => `${s.name} (${s.tokenEnv})`);
}
