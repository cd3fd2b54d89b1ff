/** The weekly report as one self-contained HTML file: inline CSS, charts as inline SVG. */
import type { ReportData, ScopeSummary } from './data.js';
import { durationChart, failureRateChart, runsChart } from './charts.js';
import { completeness, duration, durationChange, footerText, percent, periodText, previousHeader, rateChange, syncTable, utcMinute, versusHeader, weekTitle } from './format.js';
import { reliabilityTables, workflowCell, type Cell } from './tables.js';

export const esc = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function table(head: string[], rows: string[][], empty = 'none'): string {
  if (rows.length === 0) return `<p class="empty">${esc(empty)}</p>`;
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** A workflow by name with its id on hover. */
const cellHtml = (c: Cell) => (c.hint ? `<span title="${esc(c.hint)}">${esc(c.text)}</span>` : esc(c.text));
const wf = (name: string, id: string) => cellHtml(workflowCell(name, id));

const trend = (text: string) => `<span class="${text.startsWith('▲') ? 'up' : text.startsWith('▼') ? 'down' : ''}">${esc(text)}</span>`;

const scopeRow = (s: ScopeSummary) => [
  s.source ? esc(s.source) : '<strong>all sources</strong>',
  esc(s.runs),
  esc(percent(s.failure_rate)),
  trend(rateChange(s.failure_rate, s.prev_failure_rate)),
  esc(duration(s.p50_duration_ms)),
  trend(durationChange(s.p50_duration_ms, s.prev_p50_duration_ms)),
  esc(duration(s.p95_duration_ms)),
  trend(durationChange(s.p95_duration_ms, s.prev_p95_duration_ms)),
];

/** Only http(s) links become anchors: a provider could hand back `javascript:`. */
const safeUrl = (u: string) => /^https?:\/\//i.test(u);

export const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;color:#1d2330;max-width:1000px;margin:24px auto;padding:0 16px;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e4e7ec;padding-bottom:4px}
.meta{color:#5b6475}.warn{background:#fff7e6;border:1px solid #f5c77e;padding:8px 12px;border-radius:6px}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}
th{font-weight:600;color:#5b6475;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
td:nth-child(n+2){font-variant-numeric:tabular-nums}.up{color:#b42318}.down{color:#027a48}.empty{color:#8a93a3;font-style:italic}
figure{margin:12px 0}figure svg{max-width:100%;height:auto}.charts{display:flex;flex-direction:column;gap:8px}
`;

/** The report body (no <html> wrapper): shared by the file and the dashboard. */
export async function renderReportBody(d: ReportData): Promise<string> {
  const [rateSvg, durSvg, runsSvg] = await Promise.all([failureRateChart(d), durationChart(d), runsChart(d)]);
  const noRuns = '<p class="empty">no runs this week</p>';
  const weekRuns = d.durations.length > 0 || d.overall.runs > 0;
  const missing = d.sourcesWithoutDurations.length
    ? `<p class="meta" id="no-durations">Not in the duration chart: ${esc(d.sourcesWithoutDurations.join(', '))}: no run with a known duration (the provider reports no start time).</p>`
    : '';
  const figure = (name: string, svg: string | null, empty: string) => `<figure class="chart" data-chart="${name}">${svg ?? empty}</figure>`;
  const stale = completeness(d);
  const parts: string[] = [];
  parts.push(`<h1>Reliability report ${esc(weekTitle(d))}</h1>`);
  if (d.inProgress) parts.push(`<p class="warn" id="partial-week"><strong>Partial week:</strong> runs up to ${esc(utcMinute(d.until))}, compared with the same span of ${esc(d.previous.label)}.</p>`);
  parts.push(`<p class="meta">${esc(periodText(d))}</p>`);
  if (stale.length) {
    parts.push(`<p class="warn"><strong>Completeness:</strong> ${stale.map((x) => `${esc(x.source)}: ${esc(x.problems.join(', '))}`).join('; ')}.</p>`);
  }
  parts.push('<h2>Summary</h2>');
  parts.push(table(['scope', 'runs', 'failure rate', versusHeader(d), 'p50', 'change', 'p95', 'change'], [scopeRow(d.overall), ...d.perSource.map(scopeRow)]));
  parts.push('<p class="meta">Failure rate = (failed + timed out) / (succeeded + failed + timed out) of the runs that finished in the week; cancelled and test runs are left out.</p>');
  parts.push(
    `<div class="charts">${figure('failure-rate', rateSvg, weekRuns ? '<p class="empty">no run succeeded or failed in these two weeks</p>' : noRuns)}` +
      `${figure('durations', durSvg, weekRuns ? '<p class="empty">no run with a known duration this week</p>' : noRuns)}${missing}${figure('runs', runsSvg, noRuns)}</div>`,
  );
  parts.push('<h2>Workflows that failed most</h2>');
  parts.push(table(['source', 'workflow', 'failures', 'runs', 'failure rate', previousHeader(d)], d.mostFailing.map((w) => [esc(w.source), wf(w.workflow_name, w.workflow_id), esc(w.failures), esc(w.runs), esc(percent(w.failure_rate)), esc(w.prev_failures)])));
  parts.push('<h2>New failures</h2><p class="meta">Workflows that failed this week and ran the week before without failing.</p>');
  parts.push(table(['source', 'workflow', 'failures', 'runs'], d.newFailures.map((w) => [esc(w.source), wf(w.workflow_name, w.workflow_id), esc(w.failures), esc(w.runs)])));
  parts.push('<h2>New workflows</h2><p class="meta">Workflows with no run before this week (their failures are not new failures).</p>');
  parts.push(table(['source', 'workflow', 'failures', 'runs', 'failure rate'], d.newWorkflows.map((w) => [esc(w.source), `${wf(w.workflow_name, w.workflow_id)} <span class="meta">(new workflow)</span>`, esc(w.failures), esc(w.runs), esc(percent(w.failure_rate))])));
  parts.push('<h2>Flaky workflows</h2><p class="meta">Outcome changed between consecutive runs on at least half of the runs.</p>');
  parts.push(table(['source', 'workflow', 'runs', 'failures', 'outcome changes'], d.flaky.map((f) => [esc(f.source), wf(f.workflow_name, f.workflow_id), esc(f.runs), esc(f.failures), esc(`${f.flips} (${Math.round(f.flip_rate * 100)}%)`)])));
  parts.push('<h2>Slowest runs</h2>');
  parts.push(table(['source', 'workflow', 'run', 'status', 'duration', 'finished'], d.slowest.map((r) => [esc(r.source), wf(r.workflow_name, r.workflow_id), r.url && safeUrl(r.url) ? `<a href="${esc(r.url)}">${esc(r.run_id)}</a>` : esc(r.run_id), esc(r.status), esc(duration(r.duration_ms)), esc(r.finished_at)])));
  parts.push('<h2>Step hot spots</h2>');
  parts.push(table(['source', 'workflow', 'step', 'failures', 'runs', 'failure rate', 'p95 (worst day)'], d.stepHotSpots.map((s) => [esc(s.source), wf(s.workflow_name, s.workflow_id), esc(s.step_ref), esc(s.failures), esc(s.runs), esc(percent(s.failure_rate)), esc(duration(s.p95_duration_ms))]), 'no failing steps (or no provider with steps)'));
  for (const sec of reliabilityTables(d)) {
    parts.push(`<h2 id="${sec.id}">${esc(sec.title)}</h2><p class="meta">${esc(sec.intro)}</p>`);
    parts.push(table(sec.head, sec.rows.map((r) => r.map(cellHtml)), sec.empty));
    for (const m of sec.more ?? []) parts.push(`<p class="meta">${esc(m.intro)}</p>`, table(m.head, m.rows.map((r) => r.map(cellHtml)), m.empty));
  }
  parts.push(`<h2>Sync health in ${esc(d.week.label)}</h2>`);
  parts.push(`<p class="meta">${d.inProgress ? `Syncs started in the week up to ${esc(utcMinute(d.until))}, and the state now.` : 'Syncs started in the week and records quarantined in it.'}</p>`);
  const sync = syncTable(d);
  parts.push(table(sync.head, sync.rows.map((r) => r.map(esc))));
  parts.push(`<footer class="meta" id="metrics-version">${esc(footerText())}</footer>`);
  return parts.join('\n');
}

export async function renderHtml(d: ReportData): Promise<string> {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="data:,"><title>Reliability report ${esc(weekTitle(d))}</title><style>${STYLE}</style></head>
<body>
${await renderReportBody(d)}
</body></html>
`;
}
