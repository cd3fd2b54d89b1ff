/** The weekly report as Markdown, for pasting into chat or a wiki. */
import type { ReportData, ScopeSummary } from './data.js';
import { completeness, duration, durationChange, footerText, percent, periodText, previousHeader, rateChange, syncTable, utcMinute, versusHeader, weekTitle } from './format.js';
import { reliabilityTables, type Cell } from './tables.js';

const cellText = (c: Cell) => (c.hint ? `${c.text} (${c.hint})` : c.text);

/** Table cells: pipes and newlines would break the table. */
const cell = (v: unknown) => String(v ?? '').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

function table(head: string[], rows: unknown[][], empty = 'none'): string {
  if (rows.length === 0) return `_${empty}_\n`;
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
  out.push(`# Reliability report ${weekTitle(d)}`);
  out.push('');
  out.push(periodText(d));
  out.push('');
  const stale = completeness(d);
  if (stale.length) {
    out.push(`> **Completeness:** ${stale.map((x) => `${x.source}: ${x.problems.join(', ')}`).join('; ')}.`);
    out.push('');
  }
  out.push('## Summary');
  out.push('');
  out.push(table(['scope', 'runs', 'failure rate', versusHeader(d), 'p50', 'change', 'p95', 'change'], [scopeRow(d.overall), ...d.perSource.map(scopeRow)]));
  out.push('Failure rate = (failed + timed out) / (succeeded + failed + timed out) of the runs that finished in the week; cancelled and test runs are left out.');
  out.push('');
  out.push('## Workflows that failed most');
  out.push('');
  out.push(table(['source', 'workflow', 'failures', 'runs', 'failure rate', previousHeader(d)], d.mostFailing.map((w) => [w.source, w.workflow_name || w.workflow_id, w.failures, w.runs, percent(w.failure_rate), w.prev_failures])));
  out.push('## New failures');
  out.push('');
  out.push('Workflows that failed this week and ran the week before without failing.');
  out.push('');
  out.push(table(['source', 'workflow', 'failures', 'runs'], d.newFailures.map((w) => [w.source, w.workflow_name || w.workflow_id, w.failures, w.runs])));
  out.push('## New workflows');
  out.push('');
  out.push('Workflows with no run before this week (their failures are not new failures).');
  out.push('');
  out.push(table(['source', 'workflow', 'failures', 'runs', 'failure rate'], d.newWorkflows.map((w) => [w.source, `${w.workflow_name || w.workflow_id} (new workflow)`, w.failures, w.runs, percent(w.failure_rate)])));
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
  if (d.sourcesWithoutDurations.length) {
    out.push(`Durations: ${d.sourcesWithoutDurations.join(', ')} ${d.sourcesWithoutDurations.length === 1 ? 'has' : 'have'} no run with a known duration (the provider reports no start time).`);
    out.push('');
  }
  for (const sec of reliabilityTables(d)) {
    out.push(`## ${sec.title}`);
    out.push('');
    out.push(sec.intro);
    out.push('');
    out.push(table(sec.head, sec.rows.map((r) => r.map(cellText)), sec.empty));
    for (const m of sec.more ?? []) {
      out.push(m.intro);
      out.push('');
      out.push(table(m.head, m.rows.map((r) => r.map(cellText)), m.empty));
    }
  }
  out.push(`## Sync health in ${d.week.label}`);
  out.push('');
  out.push(d.inProgress ? `Syncs started in the week up to ${utcMinute(d.until)}, and the state now.` : 'Syncs started in the week and records quarantined in it.');
  out.push('');
  const sync = syncTable(d);
  out.push(table(sync.head, sync.rows));
  out.push('---');
  out.push('');
  out.push(footerText());
  out.push('');
  return out.join('\n');
}
