import type { ClickHouseClient } from '@clickhouse/client';
import { select } from '../warehouse/queries.js';

/** A short account of what the warehouse holds, per source. */
export async function warehouseSummary(client: ClickHouseClient): Promise<string> {
  const rows = await select<{ source: string; provider: string; runs: string; terminal: string; failed: string; steps: string; events: string; links: string }>(
    client,
    `SELECT r.source AS source, any(r.provider) AS provider, count() AS runs, countIf(r.is_terminal = 1) AS terminal,
            countIf(r.status IN ('failed', 'timed_out')) AS failed,
            any(s.n) AS steps, any(e.n) AS events, any(l.n) AS links
     FROM runs AS r
     LEFT JOIN (SELECT source, count() AS n FROM steps GROUP BY source) AS s ON s.source = r.source
     LEFT JOIN (SELECT source, count() AS n FROM events GROUP BY source) AS e ON e.source = r.source
     LEFT JOIN (SELECT source, count() AS n FROM links GROUP BY source) AS l ON l.source = r.source
     GROUP BY r.source ORDER BY r.source`,
  );
  if (rows.length === 0) return 'the warehouse holds no runs yet';
  const head = `${'source'.padEnd(20)} ${'provider'.padEnd(9)} ${'runs'.padStart(6)} ${'finished'.padStart(8)} ${'failed'.padStart(6)} ${'steps'.padStart(6)} ${'events'.padStart(6)} ${'links'.padStart(6)}`;
  return [
    'in the warehouse:',
    head,
    ...rows.map((r) => {
      const n = (v: unknown, w: number) => String(v ?? 0).padStart(w);
      return `${r.source.padEnd(20)} ${r.provider.padEnd(9)} ${n(r.runs, 6)} ${n(r.terminal, 8)} ${n(r.failed, 6)} ${n(r.steps, 6)} ${n(r.events, 6)} ${n(r.links, 6)}`;
    }),
  ].join('\n');
}
