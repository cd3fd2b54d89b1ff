import type { Command } from '../args.js';
import { JSON_OPTION } from '../args.js';
import { cliContext, out, outJson } from '../context.js';
import { UsageError } from '../errors.js';

export const checkCommand: Command = {
  name: 'check',
  summary: 'validate the config and check every source: token set and accepted, API answering',
  options: [{ flags: '--source <name>', description: 'check only this source (repeatable)', multiple: true }, JSON_OPTION],
  async run({ values }) {
    const { checkSource } = await import('../../runtime/check.js');
    const ctx = cliContext(values);
    const only = (values.source as string[] | undefined) ?? [];
    const configured = ctx.config.sources.map((s) => s.name);
    const unknown = only.filter((n) => !configured.includes(n));
    if (unknown.length) throw new UsageError(`unknown source(s): ${unknown.join(', ')} (configured: ${configured.join(', ') || 'none'})`);
    if (ctx.config.sources.length === 0) {
      throw new UsageError(`no sources configured in ${ctx.configPath ?? 'the config (none found: defaults)'}: add them (see README), or try \`runsync start --demo\``);
    }
    const sources = ctx.config.sources.filter((s) => only.length === 0 || only.includes(s.name));
    const results = await Promise.all(sources.map((s) => checkSource(s)));
    if (values.json) {
      outJson({ config: ctx.configPath, sources: results });
    } else {
      out(`config ${ctx.configPath ?? '(none: defaults)'} is valid; ${ctx.config.sources.length} source(s)`);
      for (const r of results) out(`  ${r.source.padEnd(20)} ${r.ok ? 'ok    ' : 'FAILED'}  ${r.message}`);
    }
    return results.every((r) => r.ok) ? 0 : 1;
  },
};
