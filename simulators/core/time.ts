/** Timestamp formats the providers use, all derived from simulated ms (+ optional sub-ms ns). */

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** `2026-11-15T10:00:00.123Z` (DX, B3OS). */
export function isoMs(ms: number): string {
  return new Date(ms).toISOString();
}

/** `2026-11-15T10:00:00Z`, or with `.123` when `withMs` (Anon). */
export function isoSeconds(ms: number, withMs = false): string {
  const s = new Date(ms).toISOString();
  return withMs ? s : s.slice(0, 19) + 'Z';
}

/** RFC 3339 with 9 fraction digits: `2026-11-15T10:00:00.123456789Z` (Strait). */
export function rfc3339Nano(ms: number, subNs: number): string {
  const base = new Date(ms).toISOString().slice(0, 19);
  const frac = pad(((ms % 1000) + 1000) % 1000, 3) + pad(subNs, 6);
  return `${base}.${frac}Z`;
}

/** Python `datetime.isoformat()` of an aware UTC time: `…T10:00:00.123000+00:00`, no fraction when 0 (Tracecat). */
export function isoPython(ms: number): string {
  const base = new Date(ms).toISOString().slice(0, 19);
  const msPart = ((ms % 1000) + 1000) % 1000;
  return msPart === 0 ? `${base}+00:00` : `${base}.${pad(msPart * 1000, 6)}+00:00`;
}

/** Nanoseconds since epoch as bigint, for exact comparisons at sub-ms precision. */
export function toNs(ms: number, subNs = 0): bigint {
  return BigInt(ms) * 1_000_000n + BigInt(subNs);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parse RFC 3339 with up to 9 fraction digits into ns since epoch; null when invalid. */
export function parseRfc3339Ns(s: string): bigint | null {
  const m = RFC3339.exec(s);
  if (!m) return null;
  const [, y, mo, d, h, mi, se, frac = '', zone] = m;
  const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +se);
  if (Number.isNaN(ms)) return null;
  let offsetMin = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    offsetMin = sign * (+zone.slice(1, 3) * 60 + +zone.slice(4, 6));
  }
  const fracNs = BigInt(frac.padEnd(9, '0') || '0');
  return BigInt(ms - offsetMin * 60_000) * 1_000_000n + fracNs;
}

/** Lenient ISO-8601 parse to ms (any fraction length, Z or offset); null when invalid. */
export function parseIsoMs(s: string): number | null {
  const ns = parseRfc3339Ns(s);
  if (ns !== null) return Number(ns / 1_000_000n);
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}
