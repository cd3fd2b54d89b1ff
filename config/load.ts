import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { configSchema, type RunsyncConfig, type SourceConfig } from './schema.js';
import { providerOptionsSchema } from '../providers/index.js';

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly issues: string[] = [],
  ) {
    super(issues.length ? `${message}\n${issues.map((i) => '  - ' + i).join('\n')}` : message);
    this.name = 'ConfigError';
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
}

function issuesOf(err: z.ZodError, prefix: readonly PropertyKey[] = []): string[] {
  return err.issues.map((i) => `${formatPath([...prefix, ...i.path]) || '(root)'}: ${i.message}`);
}

/** Validates a parsed config object; every problem is listed with its path before anything starts. */
export function parseConfig(raw: unknown, origin = 'config'): RunsyncConfig {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${origin} is invalid`, issuesOf(parsed.error));
  const cfg = parsed.data;
  const problems: string[] = [];
  cfg.sources.forEach((s, i) => {
    const opts = providerOptionsSchema(s.provider).safeParse(s.options);
    if (!opts.success) problems.push(...issuesOf(opts.error, ['sources', i, 'options']));
    else s.options = opts.data as Record<string, unknown>;
  });
  if (problems.length) throw new ConfigError(`${origin} is invalid`, problems);
  return cfg;
}

/** Resolution order: explicit path, RUNSYNC_CONFIG, ./runsync.config.json, else an empty config. */
export function loadConfig(path?: string): { config: RunsyncConfig; path: string | null } {
  const chosen = path ?? process.env.RUNSYNC_CONFIG ?? (existsSync('runsync.config.json') ? 'runsync.config.json' : undefined);
  if (!chosen) return { config: parseConfig({}), path: null };
  const full = resolve(chosen);
  if (!existsSync(full)) throw new ConfigError(`config file not found: ${full}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(full, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${full} is not valid JSON: ${(e as Error).message}`);
  }
  return { config: parseConfig(raw, full), path: full };
}

/** The token of a source, read from its environment variable at the moment of use. */
export function sourceToken(source: SourceConfig, env: NodeJS.ProcessEnv = process.env): string {
  const token = env[source.tokenEnv];
  if (!token) throw new ConfigError(`source "${source.name}": environment variable ${source.tokenEnv} is not set`);
  return token;
}
