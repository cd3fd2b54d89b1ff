/**
 * Charts of the report, described in Vega-Lite and rendered to SVG on the server
 * by Vega (no browser, no canvas): the HTML stays one self-contained file.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { ReportData } from './data.js';

const WIDTH = 640;

async function toSvg(spec: TopLevelSpec): Promise<string> {
  // Loaded when a chart is drawn: Vega is large, and most commands never draw one.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Tableau 10: one colour per source, the same in every chart of a report. */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/** Every source the report names, sorted, each with its colour. */
export function sourceColours(d: ReportData): { domain: string[]; range: string[] } {
  const domain = [...new Set([...d.perSource.map((s) => s.source), ...d.syncHealth.map((s) => s.source), ...d.daily.map((x) => x.source), ...d.durations.map((x) => x.source)])]
    .filter(Boolean)
    .sort();
  return { domain, range: domain.map((_, i) => PALETTE[i % PALETTE.length]) };
}

const colour = (d: ReportData, extra: Record<string, unknown> = {}) => ({ field: 'source', type: 'nominal', scale: sourceColours(d), ...extra });

const base = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width: WIDTH,
  config: { font: 'system-ui, sans-serif', view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { orient: 'bottom' } },
} as const;

/** A chart of `values` in the report's look; null when there is nothing to draw. */
function chart(values: unknown[], spec: { height: number | { step: number }; title: string } & Record<string, unknown>): Promise<string> | null {
  return values.length === 0 ? null : toSvg({ ...base, ...spec, data: { values } } as TopLevelSpec);
}

/** The days of `d.daily` that `keep` keeps, each day as a UTC time. */
const days = (d: ReportData, keep: (x: ReportData['daily'][number]) => boolean) => d.daily.filter(keep).map((x) => ({ ...x, day: `${x.day}T00:00:00Z` }));

/** Daily failure rate per source over this week and the one before; null when there is nothing to draw. */
export function failureRateChart(d: ReportData): Promise<string> | null {
  return chart(days(d, (x) => x.failure_rate !== null), {
    height: 220,
    title: 'Daily failure rate per source (dashed line: start of the week)',
    layer: [
      { mark: { type: 'rule', strokeDash: [4, 4], color: '#999' }, data: { values: [{ t: new Date(d.week.start).toISOString() }] }, encoding: { x: { field: 't', type: 'temporal' } } },
      {
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'day', type: 'temporal', title: null, axis: { format: '%a %d %b', labelAngle: -30 }, timeUnit: 'utcyearmonthdate' },
          y: { field: 'failure_rate', type: 'quantitative', title: 'failure rate', axis: { format: '.0%' } },
          color: colour(d, { title: 'source' }),
          tooltip: [{ field: 'source' }, { field: 'runs' }, { field: 'failures' }],
        },
      },
    ],
  });
}

/** Distribution of run durations per source this week (log scale: seconds to hours); null when none is known. */
export function durationChart(d: ReportData): Promise<string> | null {
  const values = d.durations.filter((x) => x.duration_ms > 0).map((x) => ({ source: x.source, seconds: x.duration_ms / 1000 }));
  return chart(values, {
    height: { step: 34 },
    title: 'Run durations this week',
    mark: { type: 'boxplot', extent: 'min-max', size: 18 },
    encoding: {
      y: { field: 'source', type: 'nominal', title: null },
      x: { field: 'seconds', type: 'quantitative', title: 'duration (seconds, log scale)', scale: { type: 'log' } },
      color: colour(d, { legend: null }),
    },
  });
}

/** Terminal runs per day and source; null when no run finished. */
export function runsChart(d: ReportData): Promise<string> | null {
  return chart(days(d, (x) => x.runs > 0), {
    height: 160,
    title: 'Finished runs per day',
    mark: 'bar',
    encoding: {
      x: { field: 'day', type: 'ordinal', timeUnit: 'utcyearmonthdate', title: null, axis: { format: '%a %d', labelAngle: 0 } },
      y: { field: 'runs', type: 'quantitative', title: 'runs', stack: 'zero' },
      color: colour(d, { title: 'source' }),
    },
  });
}
