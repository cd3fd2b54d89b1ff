/** ISO weeks (Monday-based, UTC), the unit of the reliability report. */

const DAY = 86_400_000;

export interface IsoWeek {
  /** '2026-W47' */
  label: string;
  /** Monday 00:00 UTC, epoch ms. */
  start: number;
  /** The next Monday 00:00 UTC (exclusive end). */
  end: number;
  /** 'YYYY-MM-DD' of the Monday, as the `week` column of failure_rates_weekly holds it. */
  monday: string;
}

export const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

function mondayOf(ms: number): number {
  const d = new Date(ms);
  const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  return midnight - ((d.getUTCDay() + 6) % 7) * DAY;
}

/** The ISO week containing `ms`. */
export function weekOf(ms: number): IsoWeek {
  const start = mondayOf(ms);
  // ISO year: the year of that week's Thursday.
  const thursday = start + 3 * DAY;
  const year = new Date(thursday).getUTCFullYear();
  const firstMonday = mondayOf(Date.UTC(year, 0, 4));
  const n = Math.round((start - firstMonday) / (7 * DAY)) + 1;
  return { label: `${year}-W${String(n).padStart(2, '0')}`, start, end: start + 7 * DAY, monday: isoDate(start) };
}

/** Parses '2026-W47' (also '2026W47', '2026-w47'); throws with a clear message otherwise. */
export function parseIsoWeek(text: string): IsoWeek {
  const m = /^(\d{4})-?[Ww](\d{1,2})$/.exec(text.trim());
  if (!m) throw new Error(`not an ISO week: ${JSON.stringify(text)} (expected e.g. 2026-W47)`);
  const year = Number(m[1]);
  const n = Number(m[2]);
  const start = mondayOf(Date.UTC(year, 0, 4)) + (n - 1) * 7 * DAY;
  const w = weekOf(start);
  if (n < 1 || w.label !== `${year}-W${String(n).padStart(2, '0')}`) throw new Error(`${text}: ${year} has no week ${n}`);
  return w;
}

export const previousWeek = (w: IsoWeek): IsoWeek => weekOf(w.start - 7 * DAY);
/** The last complete week before `now` (what the Monday schedule reports on). */
export const lastCompleteWeek = (now = Date.now()): IsoWeek => previousWeek(weekOf(now));
