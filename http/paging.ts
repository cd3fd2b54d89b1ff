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

/** RFC 3339 timestamp + 1 ns, keeping nanosecond precision: turns a `<` cursor into `<=`. */
export function nextNanosecond(ts: string): string {
  const m = NS.exec(ts);
  if (!m) throw new Error(`not an RFC 3339 timestamp: ${ts}`);
  const base = Date.parse(m[1] + m[3]);
  const frac = BigInt((m[2] ?? '').padEnd(9, '0').slice(0, 9) || '0');
  const total = BigInt(base) * 1_000_000n + frac + 1n;
  const secs = total / 1_000_000_000n;
  const nanos = total % 1_000_000_000n;
  const iso = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  return `${iso}.${nanos.toString().padStart(9, '0')}Z`;
}

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
  const fullPage = 'limit' in p && items.length >= p.limit;
  const more = (fallback: boolean) => (typeof hasMoreField === 'boolean' ? hasMoreField : fallback);

  switch (p.style) {
    case 'single':
      return { items, next: null };
    case 'cursor': {
      const next = pick(body, p.nextCursor);
      return { items, next: more(next != null && next !== '') && typeof next === 'string' && next ? { cursor: next } : null };
    }
    case 'timestamp-cursor': {
      if (!more(fullPage) || items.length === 0) return { items, next: null };
      const last = pick(items[items.length - 1], p.itemTime);
      if (typeof last !== 'string') throw new Error(`${coll.endpoint}: last item has no ${p.itemTime} to page from`);
      const cursor = nextNanosecond(last);
      // A page of items that all share one timestamp would repeat forever with `<=`:
      // then take the server's own cursor and accept its `<` semantics.
      const first = pick(items[0], p.itemTime);
      if (first === last && fullPage) {
        const serverNext = p.nextCursor ? pick(body, p.nextCursor) : last;
        return { items, next: { cursor: String(serverNext ?? last) } };
      }
      return { items, next: { cursor } };
    }
    case 'offset': {
      if (!more(fullPage) || items.length === 0) return { items, next: null };
      const offset = state?.offset ?? 0;
      return { items, next: { offset: offset + Math.max(1, items.length - p.overlap) } };
    }
    case 'page': {
      const page = state?.page ?? p.firstPage;
      const total = p.total ? Number(pick(body, p.total)) : NaN;
      const seen = (page - p.firstPage + 1) * p.limit;
      const done = items.length < p.limit || (Number.isFinite(total) && seen >= total);
      return { items, next: done ? null : { page: page + 1 } };
    }
  }
}
