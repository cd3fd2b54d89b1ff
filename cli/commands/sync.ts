import type { Command } from '../args.js';
import { cliContext, out } from '../context.js';
import { startServices } from '../../runtime/services.js';
import { formatOutcomes, syncOnce } from '../../runtime/run-sync.js';

export const syncCommand: Command = {
  name: 'sync',
  summary: 'run one sync of each source through Temporal, print counts, exit (non-zero if a source failed)',
  usage: 'runsync sync --once [--full] [--source NAME]... [--config PATH] [--data-dir DIR]',
  options: { once: { type: 'boolean' }, full: { type: 'boolean' }, source: { type: 'string', multiple: true } },
  async run({ values }) {
    if (!values.once) {
      out('runsync sync runs one sync and exits: pass --once (for continuous syncing use `runsync start`)');
      return 2;
    }
    const ctx = cliContext(values);
    if (ctx.config.sources.length === 0) {
      out('no sources configured: add them to runsync.config.json (see README) or try `runsync start --demo --once`');
      return 2;
    }
    const unknown = ((values.source as string[] | undefined) ?? []).filter((n) => !ctx.config.sources.some((s) => s.name === n));
    if (unknown.length) {
      out(`unknown source(s): ${unknown.join(', ')} (configured: ${ctx.config.sources.map((s) => s.name).join(', ')})`);
      return 2;
    }
    const services = await startServices({ config: ctx.config, dataDir: ctx.dataDir });
    try {
      const outcomes = await syncOnce(services.client, ctx.config, services.temporal.taskQueue, values.source, { full: !!values.full });
      out(`sync finished:\n${formatOutcomes(outcomes)}`);
      return outcomes.every((o) => o.ok) ? 0 : 1;
    } finally {
      await services.close();
    }
  },
};
