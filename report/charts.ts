/**
 * Charts of the report, described in Vega-Lite and rendered to SVG on the server
 * by Vega (no browser, no canvas): the HTML stays one self-contained file.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { ReportData } from './data.js';

const WIDTH = 640;

async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const base = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width: WIDTH,
  config: { font: 'system-ui, sans-serif', view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { orient: 'bottom' } },
} as const;

/** Daily failure rate per source over this week and the one before. */
export function failureRateChart(d: ReportData): Promise<string> {
  const values = d.daily.filter((x) => x.failure_rate !== null).map((x) => ({ ...x, day: `${x.day}T00:00:00Z` }));
  return toSvg({
    ...base,
    height: 220,
    title: 'Daily failure rate per source (dashed line: start of the week)',
    data: { values },
    layer: [
      { mark: { type: 'rule', strokeDash: [4, 4], color: '#999' }, data: { values: [{ t: new Date(d.week.start).toISOString() }] }, encoding: { x: { field: 't', type: 'temporal' } } },
      {
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'day', type: 'temporal', title: null, axis: { format: '%a %d %b', labelAngle: -30 }, timeUnit: 'utcyearmonthdate' },
          y: { field: 'failure_rate', type: 'quantitative', title: 'failure rate', axis: { format: '.0%' } },
          color: { field: 'source', type: 'nominal', title: 'source' },
          tooltip: [{ field: 'source' }, { field: 'runs' }, { field: 'failures' }],
        },
      },
    ],
  } as TopLevelSpec);
}

/** Distribution of run durations per source this week (log scale: seconds to hours). */
export function durationChart(d: ReportData): Promise<string> {
  const values = d.durations.filter((x) => x.duration_ms > 0).map((x) => ({ source: x.source, seconds: x.duration_ms / 1000 }));
  return toSvg({
    ...base,
    height: { step: 34 },
    title: 'Run durations this week',
    data: { values },
    mark: { type: 'boxplot', extent: 'min-max', size: 18 },
    encoding: {
      y: { field: 'source', type: 'nominal', title: null },
      x: { field: 'seconds', type: 'quantitative', title: 'duration (seconds, log scale)', scale: { type: 'log' } },
      color: { field: 'source', type: 'nominal', legend: null },
    },
  } as TopLevelSpec);
}

/** Terminal runs per day and source. */
export function runsChart(d: ReportData): Promise<string> {
  const values = d.daily.map((x) => ({ ...x, day: `${x.day}T00:00:00Z` }));
  return toSvg({
    ...base,
    height: 160,
    title: 'Finished runs per day',
    data: { values },
    mark: 'bar',
    encoding: {
      x: { field: 'day', type: 'ordinal', timeUnit: 'utcyearmonthdate', title: null, axis: { format: '%a %d', labelAngle: 0 } },
      y: { field: 'runs', type: 'quantitative', title: 'runs', stack: 'zero' },
      color: { field: 'source', type: 'nominal', title: 'source' },
    },
  } as TopLevelSpec);
}
