/**
 * Timestamps from five APIs: RFC 3339 with 0–9 fraction digits, `Z` or an offset,
 * sometimes a space instead of `T`. Everything becomes UTC epoch milliseconds.
 */
/** DateTime64(3)'s range: a time outside it would be stored as another time. */
const MIN_YEAR = 1900;
const MAX_YEAR = 2299;

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Parses a timestamp leniently; returns null for null/empty and throws on garbage. */
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
function daysInMonth(y: number, mo: number): number {
  return mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : DAYS[mo - 1];
}

export function parseTimestamp(value: unknown, field = 'timestamp'): number | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value !== 'string') throw new TypeError(`${field}: expected a timestamp string, got ${typeof value}`);
  // Each time is read twice (checked by the provider's schema, then mapped), and runs repeat theirs.
  const known = parsed.get(value);
  if (known !== undefined) return known;
  const m = ISO.exec(value.trim());
  if (!m) throw new TypeError(`${field}: not a timestamp: ${JSON.stringify(value.slice(0, 64))}`);
  const [, y, mo, d, h, mi, s = '0', frac = '', tz = 'Z'] = m;
  // Calendar values are checked, not rolled over: 2026-13-45 is an error, not 2027-02-14.
  if (+mo < 1 || +mo > 12) throw new TypeError(`${field}: month ${mo} does not exist: ${value}`);
  if (+d < 1 || +d > daysInMonth(+y, +mo)) throw new TypeError(`${field}: day ${d} does not exist in ${y}-${mo}: ${value}`);
  if (+h > 23 || +mi > 59 || +s > 60) throw new TypeError(`${field}: time of day ${h}:${mi}:${s} does not exist: ${value}`);
  if (+y < MIN_YEAR || +y > MAX_YEAR) throw new TypeError(`${field}: year ${y} is outside ${MIN_YEAR}–${MAX_YEAR}, the range the warehouse stores: ${value}`);
  const ms = Number((frac + '000').slice(0, 3));
  let t = Date.UTC(+y, +mo - 1, +d, +h, +mi, Math.min(+s, 59), ms);
  if (tz !== 'Z' && tz !== 'z') {
    const sign = tz[0] === '-' ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    const offMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0');
    t -= sign * offMin * 60_000;
  }
  if (!Number.isFinite(t)) throw new TypeError(`${field}: out of range: ${value}`);
  if (parsed.size >= 4096) parsed.clear();
  parsed.set(value, t);
  return t;
}
/** Times read lately, by their text: only those that parsed (an error names its field each time). */
const parsed = new Map<string, number>();

/** ClickHouse DateTime64(3, 'UTC') literal as JSONEachRow accepts it. */
export function toCh(ms: number): string;
export function toCh(ms: number | null | undefined): string | null;
export function toCh(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined) return null;
  // `YYYY-MM-DDTHH:mm:ss.sssZ` for every year the warehouse stores (MIN_YEAR–MAX_YEAR).
  const iso = new Date(ms).toISOString();
  return iso.length === 24 ? `${iso.slice(0, 10)} ${iso.slice(11, 23)}` : iso.replace('T', ' ').replace('Z', '');
}

/** Reads a `DateTime64(3,'UTC')` value as ClickHouse prints it back. */
export function fromCh(value: string | null | undefined): number | null {
  if (value === null || value === undefined || value === '') return null;
  return Date.parse(value.replace(' ', 'T') + 'Z');
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "90s", "15m", "2h", "7d" → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw new TypeError(`not a duration: ${JSON.stringify(text)} (expected e.g. "90s", "15m", "2h", "7d")`);
  return Math.round(Number(m[1]) * UNITS[m[2]]);
}
