/**
 * The dashboard: this week's reliability report, computed live on each load,
 * with sync health first so readers know whether the numbers are complete. The
 * cards are the syncs of the week shown; for the week in progress also the state now.
 * Server-rendered (charts are SVG from report/charts.ts): no script, no assets.
 */
import type { RouteContext } from './app.js';
import { collectReport } from '../report/data.js';
import { renderReportBody, STYLE, esc } from '../report/html.js';
import { parseIsoWeek, weekOf } from '../report/week.js';
import { chTime, freshness, plural, weekTitle } from '../report/format.js';
import { warehouseDb } from '../warehouse/kysely.js';

export async function handleDashboard(ctx: RouteContext): Promise<void> {
  const { res, url } = ctx;
  let week;
  try {
    week = url.searchParams.get('week') ? parseIsoWeek(url.searchParams.get('week')!) : weekOf(Date.now());
  } catch (e) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`${(e as Error).message}\n`);
    return;
  }
  const sources = url.searchParams.getAll('source');
  // Links keep the query (token and sources included) and change only the week.
  const prevLink = new URLSearchParams(url.searchParams);
  prevLink.set('week', weekOf(week.start - 86_400_000).label);
  const data = await collectReport(warehouseDb(ctx.services.warehouse.client), { week, sources });
  const weekLabel = week.label;
  const health = data.syncHealth
    .map((h) => {
      const live = h.live;
      const bad = h.sync_failures > 0 || (live !== null && (live.freshness_s === null || live.freshness_s > 6 * 3600 || live.last_sync_status === 'failed'));
      const now = live ? `<div>last good sync ${esc(freshness(live.freshness_s))} · ${esc(plural(live.open_runs, 'open run'))}</div>` : '';
      const week = `<div>${esc(weekLabel)}: ${esc(plural(h.syncs, 'sync'))} · ${esc(h.sync_failures)} failed · ${esc(h.quarantined)} quarantined</div>`;
      const err = h.last_error ? `<div class="err">${esc(chTime(h.last_error_at))}: ${esc(h.last_error)}</div>` : '';
      return `<div class="card ${bad ? 'bad' : 'ok'}"><div class="src">${esc(h.source)}</div>${now}${week}${err}</div>`;
    })
    .join('');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="60"><link rel="icon" href="data:,">
<title>runsync · ${esc(weekTitle(data))}</title>
<style>${STYLE}
.health{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}.card{border:1px solid #e4e7ec;border-radius:8px;padding:8px 12px;min-width:220px;font-size:13px}
.card.ok{border-left:4px solid #12b76a}.card.bad{border-left:4px solid #f79009}.src{font-weight:600}.err{color:#b42318}
nav{font-size:13px;color:#5b6475;margin-bottom:12px}</style></head>
<body>
<nav>runsync dashboard · ${data.inProgress ? 'week in progress, ' : ''}live, refreshes every minute · <a href="?${esc(prevLink.toString())}">previous week</a></nav>
<section class="health" id="sync-health">${health || `<p class="empty">no sync in ${esc(week.label)}</p>`}</section>
${await renderReportBody(data)}
</body></html>
`;
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}
