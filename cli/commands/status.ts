import type { Command } from '../args.js';
import { JSON_OPTION } from '../args.js';
import { cliContext, isoUtc, out, outJson } from '../context.js';
import type { SyncProgressView } from '../../runtime/progress.js';

/** The running service's syncs in flight, read from its Temporal (null when there is no service to ask). */
async function inFlight(dataDir: string, sources: string[]): Promise<Map<string, SyncProgressView> | null> {
  const { readServiceFile } = await import('../../server/service-file.js');
  const { ProgressReader } = await import('../../runtime/progress.js');
  const { Client, Connection } = await import('@temporalio/client');
  const { temporalConnectOptions } = await import('../../runtime/temporal-connection.js');
  const service = readServiceFile(dataDir);
  const temporal = service?.temporal;
  if (!temporal) return null;
  const connection = await Connection.connect({ ...temporalConnectOptions(temporal.address, process.env, temporal.namespace), connectTimeout: 3_000 });
  try {
    const reader = new ProgressReader(new Client({ connection, namespace: temporal.namespace }));
    const views = await Promise.all(sources.map((s) => reader.read(s).catch(() => null)));
    return new Map(views.filter((v): v is SyncProgressView => v !== null).map((v) => [v.source, v]));
  } finally {
    await connection.close();
  }
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'per source: last sync and its outcome, watermark, open runs, and the sync in flight with its progress',
  options: [JSON_OPTION],
  async run({ values }) {
    const { openReader } = await import('../../warehouse/reader.js');
    const { sourceStatus } = await import('../../runtime/status.js');
    const { formatProgress } = await import('../../runtime/progress.js');
    const ctx = cliContext(values);
    const wh = await openReader(ctx.dataDir);
    try {
      const rows = (await sourceStatus(wh.client, ctx.config.sources.map((s) => s.name))).map((r) => ({
        ...r,
        lastSyncAt: isoUtc(r.lastSyncAt),
        lastSuccessAt: isoUtc(r.lastSuccessAt),
        watermark: isoUtc(r.watermark),
      }));
      const progress = await inFlight(
        ctx.dataDir,
        rows.map((r) => r.source),
      ).catch(() => null);
      if (values.json) {
        outJson(rows.map((r) => ({ ...r, syncing: progress?.get(r.source) ?? null })));
        return 0;
      }
      if (rows.length === 0) {
        out('no sources configured and nothing synced yet');
        return 0;
      }
      for (const r of rows) {
        const p = progress?.get(r.source);
        out(`${r.source}`);
        // A sync in flight leaves a "running" row; its progress says more than the row.
        if (p) out(`  syncing:    since ${p.startedAt}: ${formatProgress(p).replace(`${r.source}: `, '')}`);
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
