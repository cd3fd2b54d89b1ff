import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options?: ParseArgsConfig['options'];
  run(args: { values: Record<string, any>; positionals: string[] }): Promise<number>;
}

/** Options every command takes. */
export const COMMON_OPTIONS = {
  config: { type: 'string', short: 'c' },
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  verbose: { type: 'boolean', short: 'v' },
} as const satisfies ParseArgsConfig['options'];

export function parseCommandArgs(cmd: Command, argv: string[]) {
  return parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...(cmd.options ?? {}) }, allowPositionals: true, strict: true });
}
