import { writeFileSync } from 'node:fs';
import type { Command } from '../args.js';
import { cliContext, out } from '../context.js';
import { openReader } from '../../warehouse/reader.js';
import { generateReport, lastCompleteWeek, parseIsoWeek, type ReportFormat } from '../../report/index.js';

export const reportCommand: Command = {
  name: 'report',
  summary: 'weekly reliability report: failure rates, durations, failing and flaky workflows, sync health',
  usage: 'runsync report [--week 2026-W47] [--source NAME]… [--format md|html] [--out PATH] [--config PATH] [--data-dir DIR]',
  options: {
    week: { type: 'string' },
    source: { type: 'string', multiple: true },
    format: { type: 'string' },
    out: { type: 'string', short: 'o' },
  },
  async run({ values }) {
    const format = (values.format ?? (typeof values.out === 'string' && values.out.endsWith('.html') ? 'html' : 'md')) as ReportFormat;
    if (format !== 'md' && format !== 'html') {
      out(`--format must be md or html, not ${JSON.stringify(values.format)}`);
      return 2;
    }
    let week;
    try {
      week = values.week ? parseIsoWeek(values.week) : lastCompleteWeek();
    } catch (e) {
      out((e as Error).message);
      return 2;
    }
    const sources = ((values.source as string[] | undefined) ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
    const ctx = cliContext(values);
    const wh = await openReader(ctx.dataDir);
    try {
      const { body } = await generateReport(wh.client, { week, sources, format });
      if (values.out) {
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
