import { z } from 'zod';
import { parseTimestamp } from '../core/time.js';
import { sha1Hex } from '../core/hash.js';

/** Stable hash of the named fields of an object: the change marker of a run. */
export function fingerprintOf(obj: Record<string, unknown>, fields: readonly string[]): string {
  let text = '';
  for (const f of fields) text += f + '=' + JSON.stringify(obj?.[f] ?? null) + '\n';
  return sha1Hex(text).slice(0, 16);
}

/** A timestamp field: any RFC 3339 variant. Validated, kept as the provider's text. */
export const tsRequired = z.string().superRefine((s, ctx) => {
  try {
    if (parseTimestamp(s) === null) ctx.addIssue({ code: 'custom', message: 'empty, expected a timestamp' });
  } catch (e) {
    // The parser says what is wrong (month 13, year 0000); the path says which field.
    ctx.addIssue({ code: 'custom', message: (e as Error).message.replace(/^timestamp: /, '') });
  }
});

/** The same, where null, absent or an empty string (B3OS types its times as plain strings) means "not yet". */
export const ts = z.union([tsRequired, z.literal('')]).nullish();

export const t = (v: string | null | undefined): number | null => parseTimestamp(v ?? null);

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** Flat string attributes from a record: strings kept, other values as JSON; empty ones dropped. */
export function attrs(obj: Record<string, unknown> | null | undefined, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj ?? {})) {
    if (v === null || v === undefined || v === '') continue;
    out[prefix + k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

export const str = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
