/** Independent readings of provider values, for comparing the warehouse with a simulator's truth. */
import { expect } from 'vitest';

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

/**
 * The source's rows of `runs`, checked to be exactly the runs of the simulator's truth
 * (by key), with a way to find each row's truth for the field-by-field comparison.
 */
export async function runsAgainstTruth<T>(
  h: { query<R>(sql: string, params?: Record<string, unknown>): Promise<R[]> },
  source: string,
  truth: T[],
  keyOf: (t: T) => string,
): Promise<{ runs: any[]; truthOf: (row: { run_id: string }) => T }> {
  const runs = await h.query<any>(`SELECT * FROM runs WHERE source = {s:String} ORDER BY run_id`, { s: source });
  expect(runs.map((r) => r.run_id).sort()).toEqual(truth.map(keyOf).sort());
  const byKey = new Map(truth.map((t) => [keyOf(t), t]));
  return { runs, truthOf: (row) => byKey.get(row.run_id)! };
}
