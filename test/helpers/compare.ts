/** Independent readings of provider values, for comparing the warehouse with a simulator's truth. */

/** A provider timestamp as ClickHouse prints DateTime64(3,'UTC'): UTC, millisecond precision, truncated. */
export function chTime(ts: string | null | undefined): string | null {
  if (ts === null || ts === undefined || ts === '') return null;
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) throw new Error(`bad timestamp in truth: ${ts}`);
  // Date parsing keeps milliseconds and drops finer digits, as the contract asks.
  const m = /\.(\d+)/.exec(ts);
  const ms = m ? Number((m[1] + '00').slice(0, 3)) : 0;
  const base = new Date(Math.floor(d.getTime() / 1000) * 1000 + ms);
  return base.toISOString().replace('T', ' ').replace('Z', '');
}

export function msBetween(a: string | null | undefined, b: string | null | undefined): number | null {
  const x = chTime(a);
  const y = chTime(b);
  if (x === null || y === null) return null;
  const d = Date.parse(y.replace(' ', 'T') + 'Z') - Date.parse(x.replace(' ', 'T') + 'Z');
  return d < 0 ? null : d;
}

export const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
