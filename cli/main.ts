import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command as Commander, CommanderError, Option } from 'commander';
import type { Command } from './args.js';
import { COMMON_OPTIONS } from './args.js';
import { startCommand } from './commands/start.js';
import { workerCommand } from './commands/worker.js';
import { syncCommand } from './commands/sync.js';
import { checkCommand } from './commands/check.js';
import { migrateCommand } from './commands/migrate.js';
import { statusCommand } from './commands/status.js';
import { sqlCommand } from './commands/sql.js';
import { trackCommand } from './commands/track.js';
import { reportCommand } from './commands/report.js';
import { serveCommand } from './commands/serve.js';
import { alertsCommand } from './commands/alerts.js';
import { ConfigError } from '../config/load.js';
import { installSignalHandlers, ShutdownError, stopAll, stopping } from '../runtime/lifecycle.js';
import { setLogLevel } from '../core/log.js';
import { UsageError } from './errors.js';
import { InstanceError } from '../runtime/instance.js';
import { PROJECT_ROOT } from '../core/paths.js';

export const COMMANDS: Command[] = [startCommand, workerCommand, syncCommand, checkCommand, migrateCommand, statusCommand, sqlCommand, reportCommand, alertsCommand, trackCommand, serveCommand];

export const VERSION = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;


/** Commander's messages ("error: unknown option '--x'") in runsync's words: one line naming the command. */
function usageLine(cmd: string | null, message: string): string {
  const text = message.replace(/^error:\s*/, '').split('\n')[0].trim();
  return `runsync${cmd ? ' ' + cmd : ''}: ${text} (see \`runsync${cmd ? ' ' + cmd : ''} --help\`)`;
}

function firstLine(e: unknown): string {
  return ((e as Error)?.message ?? String(e)).split('\n')[0];
}

function buildProgram(onRun: (cmd: Command, values: Record<string, any>, positionals: string[]) => void): Commander {
  const program = new Commander('runsync')
    .description('workflow runs from DX, Anon, Strait, Tracecat and B3OS into ClickHouse, driven by Temporal')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show this help')
    .helpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError(true)
    // One line per option, whatever the terminal's width.
    .configureHelp({ helpWidth: 200 })
    .exitOverride();
  for (const c of COMMANDS) {
    const sub = program.command(c.name).description(c.summary).helpOption('-h, --help', 'show this help').exitOverride().showSuggestionAfterError(true);
    if (c.args) sub.arguments(c.args);
    else sub.allowExcessArguments(false);
    for (const o of [...(c.options ?? []), ...COMMON_OPTIONS]) {
      const opt = new Option(o.flags, o.description);
      if (o.multiple) opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
      sub.addOption(opt);
    }
    if (c.help) sub.addHelpText('after', `\n${c.help}`);
    sub.action((...params: unknown[]) => {
      const cmdObj = params[params.length - 1] as Commander;
      onRun(c, cmdObj.opts(), cmdObj.args);
    });
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  installSignalHandlers();
  let chosen: { cmd: Command; values: Record<string, any>; positionals: string[] } | null = null;
  const program = buildProgram((cmd, values, positionals) => (chosen = { cmd, values, positionals }));
  let errorLine: string | null = null;
  const sinkFor = (name: string | null) => ({
    writeOut: (s: string) => process.stdout.write(s),
    writeErr: (s: string) => process.stderr.write(s),
    outputError: (s: string) => (errorLine = usageLine(name, s)),
  });
  program.configureOutput(sinkFor(null));
  for (const sub of program.commands) sub.configureOutput(sinkFor(sub.name()));
  if (argv.length === 0) {
    process.stderr.write(program.helpInformation());
    return 2;
  }
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      if (errorLine) process.stderr.write(errorLine + '\n');
      return 2;
    }
    throw e;
  }
  if (!chosen) return 0;
  const { cmd, values, positionals } = chosen as { cmd: Command; values: Record<string, any>; positionals: string[] };
  if (values.verbose) setLogLevel('debug');
  else if (values.quiet) setLogLevel('warn');
  try {
    return await cmd.run({ values, positionals: positionals.flat() });
  } catch (e) {
    // A signal stops the command: the lifecycle reports it and decides the exit.
    if (e instanceof ShutdownError || stopping.aborted) return await new Promise<number>(() => undefined);
    if (e instanceof UsageError) {
      process.stderr.write(`runsync ${cmd.name}: ${e.message}\n`);
      return 2;
    }
    if (e instanceof InstanceError) {
      process.stderr.write(`runsync ${cmd.name}: ${e.message}\n`);
      return 1;
    }
    // A config error lists every field that is wrong, one per line.
    if (e instanceof ConfigError) process.stderr.write(`runsync: ${(e as Error).message}\n`);
    else process.stderr.write(`runsync ${cmd.name}: ${firstLine(e)}\n`);
    if (values.verbose || process.env.RUNSYNC_DEBUG) process.stderr.write(((e as Error).stack ?? '') + '\n');
    return 1;
  } finally {
    if (!stopping.aborted) await stopAll();
  }
}

// Run when executed directly (bin/runsync.js or `node --import tsx cli/main.ts`).
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`runsync: ${firstLine(e)}\n`);
      process.exit(1);
    },
  );
}
