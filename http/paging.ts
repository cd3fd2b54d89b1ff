import type { HttpClient, Query } from './client.js';
import { HttpError } from './errors.js';
import type { BoundCollection, Paging } from '../providers/types.js';

/** Where paging stands, JSON-serialisable: it travels in heartbeats and activity results. */
export interface PageState {
  cursor?: string;
  offset?: number;
  page?: number;
}

export interface Page {
  items: unknown[];
  /** The state this page was fetched from (undefined for the first). */
  state: PageState | undefined;
  /** State to fetch the next page from; null when this was the last page. */
  next: PageState | null;
  /** Something the caller should record (a page edge where items may be skipped). */
  warning?: string;
}

export function pick(body: unknown, path: string): unknown {
  if (!path) return body;
  let v: unknown = body;
  for (const part of path.split('.')) v = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

export function fillPath(path: string, vars: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_, k: string) => {
    if (!(k in vars)) throw new Error(`path ${path}: no value for {${k}}`);
    return encodeURIComponent(vars[k]);
  });
}

const NS = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})$/;

/** An RFC 3339 timestamp moved by `deltaNs` nanoseconds, written in UTC with nanosecond precision; null when it is not one. */
export function shiftTimestamp(ts: string, deltaNs: bigint): string | null {
  const m = NS.exec(ts);
  if (!m) return null;
  const base = Date.parse(m[1] + m[3]);
  if (!Number.isFinite(base)) return null;
  const frac = BigInt((m[2] ?? '').padEnd(9, '0').slice(0, 9) || '0');
  const total = BigInt(base) * 1_000_000n + frac + deltaNs;
  const secs = total / 1_000_000_000n;
  const nanos = total % 1_000_000_000n;
  const iso = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  return `${iso}.${nanos.toString().padStart(9, '0')}Z`;
}

/**
 * How far a timestamp cursor is moved past the last item: one microsecond, so that a
 * server keeping microseconds (PostgreSQL) still includes the last item's instant.
 * Items between are ones already seen, and repeats are dropped by key.
 */
export const TIMESTAMP_CURSOR_STEP_NS = 1_000n;

/** The paging parameters of the request for `state` (undefined: the first page). */
export function pageQuery(p: Paging, state: PageState | undefined): Query {
  switch (p.style) {
    case 'cursor':
    case 'timestamp-cursor':
      return { ...(p.limitParam ? { [p.limitParam]: p.limit } : {}), ...(state?.cursor ? { [p.cursorParam]: state.cursor } : {}) };
    case 'offset':
      return { [p.limitParam]: p.limit, [p.offsetParam]: state?.offset ?? 0 };
    case 'page':
      return { [p.sizeParam]: p.limit, [p.pageParam]: state?.page ?? p.firstPage };
  }
}

/**
 * The next state from an answer: pure, so every paging edge is tested without a server.
 * Throws when the answer gives no way on (a timestamp cursor with no valid item time).
 */
export function nextPage(p: Paging, state: PageState | undefined, body: unknown, items: unknown[], endpoint: string): { next: PageState | null; warning?: string } {
  const hasMoreField = 'hasMore' in p && p.hasMore ? pick(body, p.hasMore) : undefined;
  const hasMore = typeof hasMoreField === 'boolean' ? hasMoreField : undefined;
  switch (p.style) {
    case 'cursor': {
      const next = pick(body, p.nextCursor);
      const nextOk = typeof next === 'string' && next !== '';
      return { next: (hasMore ?? nextOk) && nextOk ? { cursor: next } : null };
    }
    case 'timestamp-cursor': {
      // Without has_more, a short page is not proof of the end (a server may cap the size): stop on an empty one.
      if (items.length === 0 || hasMore === false) return { next: null };
      const asc = p.order === 'asc';
      const serverNext = p.nextCursor ? pick(body, p.nextCursor) : undefined;
      // The edge is the last item with a readable time: one bad item at the end must not stop paging.
      let last: string | null = null;
      let shifted: string | null = null;
      for (let i = items.length - 1; i >= 0 && shifted === null; i--) {
        const t = pick(items[i], p.itemTime);
        if (typeof t === 'string') shifted = shiftTimestamp((last = t), asc ? -TIMESTAMP_CURSOR_STEP_NS : TIMESTAMP_CURSOR_STEP_NS);
      }
      if (shifted === null || last === null) {
        if (typeof serverNext === 'string' && serverNext) return { next: { cursor: serverNext }, warning: `${endpoint}: no item of the page has a readable ${p.itemTime}; paging goes on from the server's cursor` };
        throw new HttpError(`${endpoint}: no item of the page has a readable ${p.itemTime} and the answer has no cursor to page on`, 200, endpoint, 'transient');
      }
      const first = pick(items[0], p.itemTime);
      if (first === last && items.length >= p.limit) {
        // A full page sharing one timestamp would come back forever with an inclusive
        // cursor: take the server's own (exclusive) cursor, and say what may be skipped.
        return {
          next: { cursor: String(typeof serverNext === 'string' && serverNext ? serverNext : last) },
          warning: `${endpoint}: a whole page of ${items.length} items shares ${p.itemTime} ${last}; further items with that exact ${p.itemTime} may be skipped by the server's cursor`,
        };
      }
      return { next: { cursor: shifted } };
    }
    case 'offset': {
      // A page with nothing beyond the overlap brings nothing new: the end (when has_more is absent).
      if (items.length === 0 || hasMore === false || (hasMore === undefined && items.length <= p.overlap)) return { next: null };
      return { next: { offset: (state?.offset ?? 0) + Math.max(1, items.length - p.overlap) } };
    }
    case 'page': {
      const page = state?.page ?? p.firstPage;
      if (items.length === 0 || hasMore === false) return { next: null };
      const total = p.total ? Number(pick(body, p.total)) : NaN;
      if (hasMore === undefined && Number.isFinite(total) && (page - p.firstPage) * p.limit + items.length >= total) return { next: null };
      return { next: { page: page + 1 } };
    }
  }
}

const sameState = (a: PageState | undefined, b: PageState) => a !== undefined && a.cursor === b.cursor && a.offset === b.offset && a.page === b.page;

export interface PaginateOptions {
  vars?: Record<string, string>;
  window: { since: number; now: number };
  /** Resume from here (undefined: the first page). */
  start?: PageState;
  /** Stop (returning) once this many pages were fetched or this time passed; the last page's `next` says where to resume. */
  budget?: { maxPages: number; deadline: number };
}

/**
 * Every page of a collection, in order. Owns the two rules every loop needs: paging
 * must advance (an answer pointing at itself is an error, not a loop), and a budget
 * ends a call between pages.
 */
export async function* paginate(http: HttpClient, coll: BoundCollection, o: PaginateOptions): AsyncGenerator<Page, void, undefined> {
  let state = o.start;
  const path = fillPath(coll.path, o.vars ?? {});
  for (let pages = 0; ; pages++) {
    if (o.budget && pages > 0 && (pages >= o.budget.maxPages || Date.now() >= o.budget.deadline)) return;
    const body = await http.getJson(path, { ...coll.query(o.window), ...pageQuery(coll.paging, state) }, coll.endpoint);
    const raw = Array.isArray(body) ? body : pick(body, coll.items);
    if (!Array.isArray(raw)) {
      throw new HttpError(`${coll.endpoint}: expected an array at "${coll.items || '(answer)'}", got ${raw === null ? 'null' : typeof raw}`, 200, coll.endpoint, 'transient');
    }
    const { next, warning } = nextPage(coll.paging, state, body, raw, coll.endpoint);
    if (next && sameState(state, next)) throw new HttpError(`${coll.endpoint}: paging did not advance (the answer to ${JSON.stringify(state)} points at itself)`, 200, coll.endpoint, 'permanent');
    yield { items: raw, state, next, warning };
    if (!next) return;
    state = next;
  }
}
