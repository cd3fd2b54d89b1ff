import type { HttpClient } from './client.js';
import type { Collection, ListContext } from '../providers/types.js';

/** Where paging stands, JSON-serialisable: it travels in heartbeats and activity results. */
export interface PageState {
  cursor?: string;
  offset?: number;
  page?: number;
}

export interface Page {
  items: unknown[];
  /** State to fetch the next page from; null when this was the last page. */
  next: PageState | null;
  /** Something the caller should record (a page edge where items may be skipped). */
  warning?: string;
}

export function pick(body: unknown, path: string): unknown {
  if (!path) return body;
  let v: any = body;
  for (const part of path.split('.')) v = v == null ? undefined : v[part];
  return v;
}

export function fillPath(path: string, vars: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_, k: string) => {
    if (!(k in vars)) throw new Error(`path ${path}: no value for {${k}}`);
    return encodeURIComponent(vars[k]);
  });
}

const NS = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})$/;

/** An RFC 3339 timestamp moved by `deltaNs` nanoseconds, written in UTC with nanosecond precision. */
export function shiftTimestamp(ts: string, deltaNs: bigint): string {
  const m = NS.exec(ts);
  if (!m) throw new Error(`not an RFC 3339 timestamp: ${ts}`);
  const base = Date.parse(m[1] + m[3]);
  const frac = BigInt((m[2] ?? '').padEnd(9, '0').slice(0, 9) || '0');
  const total = BigInt(base) * 1_000_000n + frac + deltaNs;
  const secs = total / 1_000_000_000n;
  const nanos = total % 1_000_000_000n;
  const iso = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  return `${iso}.${nanos.toString().padStart(9, '0')}Z`;
}

/** RFC 3339 timestamp + 1 ns. */
export function nextNanosecond(ts: string): string {
  return shiftTimestamp(ts, 1n);
}

/**
 * How far a timestamp cursor is moved past the last item: one microsecond, so that a
 * server keeping microseconds (PostgreSQL) still includes the last item's instant.
 * Items between are ones already seen, and repeats are dropped by key.
 */
export const TIMESTAMP_CURSOR_STEP_NS = 1_000n;

/** Fetches one page of a collection from `state` (undefined = first page). */
export async function fetchPage(
  http: HttpClient,
  coll: Collection,
  ctx: ListContext,
  vars: Record<string, string>,
  state: PageState | undefined,
): Promise<Page> {
  const p = coll.paging;
  const query = { ...(coll.query?.(ctx) ?? {}) };
  switch (p.style) {
    case 'cursor':
    case 'timestamp-cursor':
      if (p.limitParam) query[p.limitParam] = p.limit;
      if (state?.cursor) query[p.cursorParam] = state.cursor;
      break;
    case 'offset':
      query[p.limitParam] = p.limit;
      query[p.offsetParam] = state?.offset ?? 0;
      break;
    case 'page':
      query[p.sizeParam] = p.limit;
      query[p.pageParam] = state?.page ?? p.firstPage;
      break;
  }
  const body = await http.getJson(fillPath(coll.path, vars), query, coll.endpoint);
  const raw = Array.isArray(body) ? body : pick(body, coll.items);
  if (!Array.isArray(raw)) throw new Error(`${coll.endpoint}: expected an array at "${coll.items || '(answer)'}", got ${raw === null ? 'null' : typeof raw}`);
  const items = raw;
  const hasMoreField = 'hasMore' in p && p.hasMore ? pick(body, p.hasMore) : undefined;
  const hasMore = typeof hasMoreField === 'boolean' ? hasMoreField : undefined;

  switch (p.style) {
    case 'single':
      return { items, next: null };
    case 'cursor': {
      const next = pick(body, p.nextCursor);
      const nextOk = typeof next === 'string' && next !== '';
      return { items, next: (hasMore ?? nextOk) && nextOk ? { cursor: next as string } : null };
    }
    case 'timestamp-cursor': {
      // Without has_more, a short page is not proof of the end (a server may cap the size): stop on an empty one.
      if (items.length === 0 || hasMore === false) return { items, next: null };
      const last = pick(items[items.length - 1], p.itemTime);
      if (typeof last !== 'string') throw new Error(`${coll.endpoint}: last item has no ${p.itemTime} to page from`);
      const asc = p.order === 'asc';
      const first = pick(items[0], p.itemTime);
      if (first === last && items.length >= p.limit) {
        // A full page sharing one timestamp would come back forever with an inclusive
        // cursor: take the server's own (exclusive) cursor, and say what may be skipped.
        const serverNext = p.nextCursor ? pick(body, p.nextCursor) : last;
        return {
          items,
          next: { cursor: String(serverNext ?? last) },
          warning: `${coll.endpoint}: a whole page of ${items.length} items shares ${p.itemTime} ${last}; further items with that exact ${p.itemTime} may be skipped by the server's cursor`,
        };
      }
      return { items, next: { cursor: shiftTimestamp(last, asc ? -TIMESTAMP_CURSOR_STEP_NS : TIMESTAMP_CURSOR_STEP_NS) } };
    }
    case 'offset': {
      // A page with nothing beyond the overlap brings nothing new: the end (when has_more is absent).
      if (items.length === 0 || hasMore === false || (hasMore === undefined && items.length <= p.overlap)) return { items, next: null };
      const offset = state?.offset ?? 0;
      return { items, next: { offset: offset + Math.max(1, items.length - p.overlap) } };
    }
    case 'page': {
      const page = state?.page ?? p.firstPage;
      const total = p.total ? Number(pick(body, p.total)) : NaN;
      if (items.length === 0 || hasMore === false) return { items, next: null };
      if (hasMore === undefined && Number.isFinite(total)) {
        const seen = (page - p.firstPage) * p.limit + items.length;
        if (seen >= total) return { items, next: null };
      }
      return { items, next: { page: page + 1 } };
    }
  }
}
