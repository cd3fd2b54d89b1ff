/** How a runsync subcommand declares itself; cli/main.ts turns this into commander commands. */
export interface OptionSpec {
  /** commander flags, e.g. `--source <name>`, `-o, --out <path>`, `--json`. */
  flags: string;
  description: string;
  /** Repeatable (`--source a --source b`): the value is an array. */
  multiple?: boolean;
}

export interface Command {
  name: string;
  summary: string;
  /** Positional arguments in commander's syntax, e.g. `[query...]`, `<source> <runIds...>`. */
  args?: string;
  options?: OptionSpec[];
  /** Examples and notes shown under the options in --help. */
  help?: string;
  run(args: { values: Record<string, any>; positionals: string[] }): Promise<number>;
}

/** Options every command takes. */
export const COMMON_OPTIONS: OptionSpec[] = [
  { flags: '-c, --config <path>', description: 'config file (default: RUNSYNC_CONFIG or ./runsync.config.json)' },
  { flags: '--data-dir <dir>', description: 'data directory: embedded warehouse, Temporal state, logs (default .runsync)' },
  { flags: '-v, --verbose', description: 'debug logs (each request, decisions) and stacks with errors' },
  { flags: '-q, --quiet', description: 'warnings and errors only, no progress' },
];

/** `--json` for commands that print data. */
export const JSON_OPTION: OptionSpec = { flags: '--json', description: 'print the result as JSON on stdout' };
