import { writeFileSync } from 'node:fs';
import type { Command } from '../args.js';
import { JSON_OPTION } from '../args.js';
import { cliContext, out, outJson } from '../context.js';
import { UsageError } from '../errors.js';
import type { ReportFormat } from '../../report/index.js';

export const reportCommand: Command = {
  name: 'report',
  summary: 'weekly reliability report: failure rates, durations, failing and flaky workflows, sync health',
  options: [
    { flags: '--week <week>', description: 'ISO week, e.g. 2026-W47 (default: the last complete week)' },
    { flags: '--source <name>', description: 'only this source (repeatable, or comma-separated)', multiple: true },
    { flags: '--format <format>', description: 'md or html (default md, or html when --out ends in .html)' },
    { flags: '-o, --out <path>', description: 'write the report to a file instead of stdout' },
    { ...JSON_OPTION, description: 'print the report data (summary and sections) as JSON' },
  ],
  async run({ values }) {
    const { openReader } = await import('../../warehouse/reader.js');
    const { generateReport, lastCompleteWeek, parseIsoWeek } = await import('../../report/index.js');
    const format = (values.format ?? (typeof values.out === 'string' && values.out.endsWith('.html') ? 'html' : 'md')) as ReportFormat;
    if (format !== 'md' && format !== 'html') throw new UsageError(`--format must be md or html, not ${JSON.stringify(values.format)}`);
    let week;
    try {
      week = values.week ? parseIsoWeek(values.week) : lastCompleteWeek();
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const sources = ((values.source as string[] | undefined) ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
    const ctx = cliContext(values);
    const wh = await openReader(ctx.dataDir);
    try {
      if (sources.length) {
        // A source named but unknown is a mistake, not an empty report.
        const seen = (await (await wh.client.query({ query: 'SELECT DISTINCT source FROM sync_runs UNION DISTINCT SELECT DISTINCT source FROM runs', format: 'JSONEachRow' })).json<{ source: string }>()).map((r) => r.source);
        const known = [...new Set([...ctx.config.sources.map((s) => s.name), ...seen])].sort();
        const unknown = sources.filter((s) => !known.includes(s));
        if (unknown.length) throw new UsageError(`unknown source(s): ${unknown.join(', ')} (known: ${known.join(', ') || 'none'})`);
      }
      const { data, body } = await generateReport(wh.client, { week, sources, format });
      if (values.json) {
        outJson(data);
      } else if (values.out) {
        writeFileSync(values.out, body);
        out(`${week.label} report (${format}) written to ${values.out}`);
      } else {
        process.stdout.write(body.endsWith('\n') ? body : body + '\n');
      }
      return 0;
    } finally {
      await wh.close();
    }
  },
};
