import type { Command } from './args.js';
import { parseCommandArgs } from './args.js';
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

export const COMMANDS: Command[] = [startCommand, workerCommand, syncCommand, checkCommand, migrateCommand, statusCommand, sqlCommand, reportCommand, alertsCommand, trackCommand, serveCommand];

function usage(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'runsync: workflow runs from DX, Anon, Strait, Tracecat and B3OS into ClickHouse, driven by Temporal',
    '',
    'usage: runsync <command> [options]',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'common options: --config PATH (or RUNSYNC_CONFIG), --data-dir DIR (default .runsync), --verbose',
    'run `runsync <command> --help` for a command\'s options',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  let args;
  try {
    args = parseCommandArgs(cmd, rest);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\nusage: ${cmd.usage}\n`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(`${cmd.summary}\nusage: ${cmd.usage}\n`);
    return 0;
  }
  try {
    return await cmd.run(args as { values: Record<string, any>; positionals: string[] });
  } catch (e) {
    if (e instanceof ConfigError) process.stderr.write(`runsync: ${e.message}\n`);
    else process.stderr.write(`runsync ${name}: ${(e as Error).message}\n`);
    if (process.env.RUNSYNC_DEBUG) process.stderr.write(((e as Error).stack ?? '') + '\n');
    return 1;
  }
}

// Run when executed directly (bin/runsync.js or `node --import tsx cli/main.ts`).
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`${(e as Error).stack}\n`);
      process.exit(1);
    },
  );
}
