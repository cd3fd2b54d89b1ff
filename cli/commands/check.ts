import type { Command } from '../args.js';
import { cliContext, out } from '../context.js';
import { checkSource } from '../../runtime/check.js';

export const checkCommand: Command = {
  name: 'check',
  summary: 'validate the config and check every source: token set and accepted, API answering',
  usage: 'runsync check [--source NAME]... [--config PATH]',
  options: { source: { type: 'string', multiple: true } },
  async run({ values }) {
    const ctx = cliContext(values);
    const only = (values.source as string[] | undefined) ?? [];
    const unknown = only.filter((n) => !ctx.config.sources.some((s) => s.name === n));
    if (unknown.length) {
      out(`unknown source(s): ${unknown.join(', ')} (configured: ${ctx.config.sources.map((s) => s.name).join(', ') || 'none'})`);
      return 2;
    }
    const sources = ctx.config.sources.filter((s) => only.length === 0 || only.includes(s.name));
    out(`config ${ctx.configPath ?? '(none: defaults)'} is valid; ${ctx.config.sources.length} source(s)`);
    if (sources.length === 0) return only.length ? 2 : 0;
    const results = await Promise.all(sources.map((s) => checkSource(s)));
    for (const r of results) out(`  ${r.source.padEnd(20)} ${r.ok ? 'ok    ' : 'FAILED'}  ${r.message}`);
    return results.every((r) => r.ok) ? 0 : 1;
  },
};
