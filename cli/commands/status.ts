import type { Command } from '../args.js';
import { cliContext, out } from '../context.js';
import { openReader } from '../../warehouse/reader.js';
import { sourceStatus } from '../../runtime/status.js';

export const statusCommand: Command = {
  name: 'status',
  summary: 'per source: last sync and its outcome, watermark, open runs',
  usage: 'runsync status [--json] [--config PATH] [--data-dir DIR]',
  options: { json: { type: 'boolean' } },
  async run({ values }) {
    const ctx = cliContext(values);
    const wh = await openReader(ctx.dataDir);
    try {
      const rows = await sourceStatus(wh.client, ctx.config.sources.map((s) => s.name));
      if (values.json) {
        out(JSON.stringify(rows, null, 2));
        return 0;
      }
      if (rows.length === 0) {
        out('no sources configured and nothing synced yet');
        return 0;
      }
      for (const r of rows) {
        out(`${r.source}`);
        out(`  last sync:  ${r.lastSyncAt ?? 'never'}${r.lastStatus ? ` (${r.lastStatus})` : ''}${r.lastError ? ` — ${r.lastError}` : ''}`);
        out(`  last good:  ${r.lastSuccessAt ?? 'never'}`);
        out(`  watermark:  ${r.watermark ?? 'none'}`);
        out(`  runs:       ${r.runs} (${r.openRuns} open)`);
        out(`  quarantine: ${r.quarantined24h} in the last 24 h`);
      }
      return 0;
    } finally {
      await wh.close();
    }
  },
};
