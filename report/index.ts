/** The weekly reliability report: collect with Kysely, render Markdown or HTML, store. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { warehouseDb } from '../warehouse/kysely.js';
import { nextVersion } from '../warehouse/version.js';
import { toCh } from '../core/time.js';
import { collectReport, type ReportData, type ReportOptions } from './data.js';
import { renderMarkdown } from './markdown.js';
import { renderHtml } from './html.js';

export type ReportFormat = 'md' | 'html';
export { collectReport, renderMarkdown, renderHtml, type ReportData };
export { parseIsoWeek, weekOf, lastCompleteWeek, previousWeek, type IsoWeek } from './week.js';

export async function generateReport(client: ClickHouseClient, opts: ReportOptions & { format: ReportFormat }): Promise<{ data: ReportData; body: string }> {
  const data = await collectReport(warehouseDb(client), opts);
  return { data, body: opts.format === 'html' ? await renderHtml(data) : renderMarkdown(data) };
}

/** `<dataDir>/reports/reliability-2026-W47[-source].md` */
export function reportFileName(data: ReportData, format: ReportFormat): string {
  const scope = data.sourceFilter.length ? `-${data.sourceFilter.join('+').replace(/[^A-Za-z0-9_.+-]/g, '_')}` : '';
  return `reliability-${data.week.label}${scope}.${format}`;
}

/** Writes the report into `<dataDir>/reports/` and a row into the `reports` table. */
export async function storeReport(client: ClickHouseClient, dataDir: string, data: ReportData, format: ReportFormat, body: string): Promise<string> {
  const dir = join(dataDir, 'reports');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, reportFileName(data, format));
  writeFileSync(path, body);
  const o = data.overall;
  await client.insert({
    table: 'reports',
    format: 'JSONEachRow',
    values: [
      {
        week: data.week.monday,
        source: data.sourceFilter.join(','),
        format,
        generated_at: toCh(Date.parse(data.generatedAt)),
        path,
        summary: JSON.stringify({ week: data.week.label, in_progress: data.inProgress, until: new Date(data.until).toISOString(), runs: o.runs, failure_rate: o.failure_rate, prev_failure_rate: o.prev_failure_rate, p50_duration_ms: o.p50_duration_ms, p95_duration_ms: o.p95_duration_ms }),
        body,
        version: nextVersion(),
      },
    ],
  });
  return path;
}
