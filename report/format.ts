/** Number and text formatting shared by the Markdown and HTML reports. */
import { fromCh } from '../core/time.js';
import type { ReportData } from './data.js';
import { isoDate } from './week.js';

/** The version of docs/metrics.md the numbers follow; the report's footer names it. */
export const METRICS_VERSION = '2';
export const footerText = (): string => `Metric definitions: docs/metrics.md, version ${METRICS_VERSION}.`;

export function percent(rate: number | null): string {
  return rate === null ? '–' : `${(rate * 100).toFixed(1)}%`;
}

/** Change of a rate in percentage points, with an arrow; '–' when either side is unknown. */
export function rateChange(now: number | null, before: number | null): string {
  if (now === null || before === null) return '–';
  const pp = (now - before) * 100;
  if (Math.abs(pp) < 0.05) return '±0.0 pp';
  return `${pp > 0 ? '▲ +' : '▼ '}${pp.toFixed(1)} pp`;
}

export function duration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  // Round once, at the unit shown, so 59.96 s is `1m 0s` and never `0m 60s` or `4m 60s`.
  if (Math.round(ms / 100) < 600) return `${(Math.round(ms / 100) / 10).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  const minutes = Math.round(ms / 60_000);
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
  const hours = Math.round(ms / 3_600_000);
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** `1 sync`, `2 syncs`. */
export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** Relative change of a duration; '–' when either side is unknown. */
export function durationChange(now: number | null, before: number | null): string {
  if (now === null || before === null || before === 0) return '–';
  const pct = ((now - before) / before) * 100;
  if (Math.abs(pct) < 0.5) return '±0%';
  return `${pct > 0 ? '▲ +' : '▼ '}${pct.toFixed(0)}%`;
}

export function freshness(seconds: number | null): string {
  if (seconds === null) return 'never synced successfully';
  if (seconds < 120) return `${Math.round(seconds)} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} days ago`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** 'Sun 22 Nov 14:00 UTC': fixed English names, whatever the host's locale. */
export function utcMinute(ms: number): string {
  const d = new Date(ms);
  const hh = String(d.getUTCHours()).padStart(2, '0');
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]} ${String(d.getUTCDate()).padStart(2, '0')} ${MONTHS[d.getUTCMonth()]} ${hh}:${mm} UTC`;
}

/** A time as ClickHouse returns it, or '–'. */
export function chTime(value: string | null): string {
  const ms = fromCh(value);
  return ms === null || Number.isNaN(ms) ? '–' : utcMinute(ms);
}

/** '2026-W47', or '2026-W47 (in progress, to Sun 22 Nov 14:00 UTC)' for a week not over yet. */
export function weekTitle(d: ReportData): string {
  return d.inProgress ? `${d.week.label} (in progress, to ${utcMinute(d.until)})` : d.week.label;
}

/** The sentence under the title: which span, compared with what. */
export function periodText(d: ReportData): string {
  const sunday = isoDate(d.week.end - 1);
  const base = d.inProgress
    ? `Week ${d.week.monday} to ${sunday} (UTC), in progress: runs that finished up to ${utcMinute(d.until)}, compared with ${d.previous.label} up to the same point (${utcMinute(d.previous.start)} to ${utcMinute(d.previousUntil)}).`
    : `Week ${d.week.monday} to ${sunday} (UTC), compared with ${d.previous.label}.`;
  return (
    base +
    (d.sourceFilter.length ? ` Sources: ${d.sourceFilter.join(', ')}.` : '') +
    (d.workflowFilter.length ? ` Workflows: ${d.workflowFilter.join(', ')}.` : '') +
    ` Generated ${d.generatedAt}.`
  );
}

/** Header of the columns that compare with the previous week. */
export const versusHeader = (d: ReportData): string => (d.inProgress ? 'vs same span last week' : 'vs last week');
export const previousHeader = (d: ReportData): string => (d.inProgress ? 'same span last week' : 'last week');

/** Per source, what makes the week's numbers possibly incomplete; sources without a problem are left out. */
export function completeness(d: ReportData): { source: string; problems: string[] }[] {
  return d.syncHealth
    .map((h) => ({
      source: h.source,
      problems: [
        h.live && (h.live.freshness_s === null || h.live.freshness_s > 6 * 3600) ? `last good sync ${freshness(h.live.freshness_s)}` : '',
        h.sync_failures ? `${plural(h.sync_failures, 'failed sync')} this week` : '',
        h.quarantined ? `${plural(h.quarantined, 'record')} quarantined this week` : '',
      ].filter(Boolean),
    }))
    .filter((x) => x.problems.length > 0);
}

/** The sync health table (plain text cells; the HTML escapes them). */
export function syncTable(d: ReportData): { head: string[]; rows: string[][] } {
  const head = ['source', 'syncs', 'failed syncs', 'quarantined', 'warnings', 'last error', 'error at'];
  if (d.inProgress) head.push('last good sync (now)', 'open runs (now)');
  const rows = d.syncHealth.map((h) => {
    const row = [h.source, String(h.syncs), String(h.sync_failures), String(h.quarantined), String(h.warnings), h.last_error || '–', h.last_error ? chTime(h.last_error_at) : '–'];
    if (d.inProgress) row.push(h.live ? freshness(h.live.freshness_s) : '–', h.live ? String(h.live.open_runs) : '–');
    return row;
  });
  return { head, rows };
}
