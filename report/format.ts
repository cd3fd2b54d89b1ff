/** Number formatting shared by the Markdown and HTML reports. */

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
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s - m * 60)}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${m - h * 60}m`;
}

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
