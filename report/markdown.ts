/** The weekly report as Markdown, for pasting into chat or a wiki. */
import type { ReportData, ScopeSummary } from './data.js';
import { duration, durationChange, freshness, percent, rateChange } from './format.js';

/** Table cells: pipes and newlines would break the table. */
const cell = (v: unknown) => String(v ?? '').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

function table(head: string[], rows: unknown[][]): string {
  if (rows.length === 0) return '_none_\n';
  return [`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n') + '\n';
}

const scopeRow = (s: ScopeSummary) => [
  s.source || '**all sources**',
  s.runs,
  percent(s.failure_rate),
  rateChange(s.failure_rate, s.prev_failure_rate),
  duration(s.p50_duration_ms),
  durationChange(s.p50_duration_ms, s.prev_p50_duration_ms),
  duration(s.p95_duration_ms),
  durationChange(s.p95_duration_ms, s.prev_p95_duration_ms),
];

export function renderMarkdown(d: ReportData): string {
  const out: string[] = [];
  out.push(`# Reliability report ${d.week.label}`);
  out.push('');
  out.push(`Week ${d.week.monday} to ${new Date(d.week.end - 1).toISOString().slice(0, 10)} (UTC), compared with ${d.previous.label}.` + (d.sourceFilter.length ? ` Sources: ${d.sourceFilter.join(', ')}.` : '') + ` Generated ${d.generatedAt}.`);
  out.push('');
  const stale = d.syncHealth.filter((h) => h.freshness_s === null || h.freshness_s > 6 * 3600 || h.sync_failures_7d > 0 || h.quarantined_1d > 0);
  if (stale.length) {
    out.push(`> **Completeness:** ${stale.map((h) => `${h.source}: ${[h.freshness_s === null || h.freshness_s > 6 * 3600 ? `last good sync ${freshness(h.freshness_s)}` : '', h.sync_failures_7d ? `${h.sync_failures_7d} failed sync(s) in 7 days` : '', h.quarantined_1d ? `${h.quarantined_1d} record(s) quarantined today` : ''].filter(Boolean).join(', ')}`).join('; ')}.`);
    out.push('');
  }
  out.push('## Summary');
  out.push('');
  out.push(table(['scope', 'runs', 'failure rate', 'vs last week', 'p50', 'change', 'p95', 'change'], [scopeRow(d.overall), ...d.perSource.map(scopeRow)]));
  out.push('Failure rate = (failed + timed out) / (succeeded + failed + timed out) of the runs that finished in the week; cancelled and test runs are left out.');
  out.push('');
  out.push('## Workflows that failed most');
  out.push('');
  out.push(table(['source', 'workflow', 'failures', 'runs', 'failure rate', 'last week'], d.mostFailing.map((w) => [w.source, w.workflow_name || w.workflow_id, w.failures, w.runs, percent(w.failure_rate), w.prev_failures])));
  out.push('## New failures');
  out.push('');
  out.push('Workflows that failed this week and not the week before.');
  out.push('');
  out.push(table(['source', 'workflow', 'failures', 'runs'], d.newFailures.map((w) => [w.source, w.workflow_name || w.workflow_id, w.failures, w.runs])));
  out.push('## Flaky workflows');
  out.push('');
  out.push('Outcome changed between consecutive runs on at least half of the runs.');
  out.push('');
  out.push(table(['source', 'workflow', 'runs', 'failures', 'outcome changes'], d.flaky.map((f) => [f.source, f.workflow_name || f.workflow_id, f.runs, f.failures, `${f.flips} (${Math.round(f.flip_rate * 100)}%)`])));
  out.push('## Slowest runs');
  out.push('');
  out.push(table(['source', 'workflow', 'run', 'status', 'duration', 'finished'], d.slowest.map((r) => [r.source, r.workflow_name || r.workflow_id, r.url ? `[${r.run_id}](${r.url})` : r.run_id, r.status, duration(r.duration_ms), r.finished_at])));
  out.push('## Step hot spots');
  out.push('');
  out.push(table(['source', 'workflow', 'step', 'failures', 'runs', 'failure rate', 'p95 (worst day)'], d.stepHotSpots.map((s) => [s.source, s.workflow_name || s.workflow_id, s.step_ref, s.failures, s.runs, percent(s.failure_rate), duration(s.p95_duration_ms)])));
  out.push('## Sync health');
  out.push('');
  out.push(table(['source', 'last good sync', 'open runs', 'quarantined (24 h)', 'failed syncs (7 d)', 'last error'], d.syncHealth.map((h) => [h.source, freshness(h.freshness_s), h.open_runs, h.quarantined_1d, h.sync_failures_7d, h.last_error])));
  return out.join('\n');
}
