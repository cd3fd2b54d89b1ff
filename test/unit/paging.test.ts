import { describe, expect, it } from 'vitest';
import { nextPage, pageQuery } from '../../http/paging.js';
import type { Paging } from '../../providers/types.js';

/** The page-state machine alone: request from state, next state from answer. No server. */

const ts: Paging = { style: 'timestamp-cursor', cursorParam: 'cursor', itemTime: 'created_at', nextCursor: 'next_cursor', hasMore: 'has_more', limitParam: 'limit', limit: 3 };
const item = (created_at: unknown) => ({ id: String(created_at), created_at });

describe('page requests', () => {
  it('sends the paging parameters of each style', () => {
    expect(pageQuery(ts, undefined)).toEqual({ limit: 3 });
    expect(pageQuery(ts, { cursor: 'c' })).toEqual({ limit: 3, cursor: 'c' });
    expect(pageQuery({ style: 'offset', offsetParam: 'o', limitParam: 'l', limit: 10, overlap: 2 }, undefined)).toEqual({ l: 10, o: 0 });
    expect(pageQuery({ style: 'page', pageParam: 'p', sizeParam: 's', limit: 10, firstPage: 1 }, { page: 4 })).toEqual({ s: 10, p: 4 });
  });
});

describe('timestamp cursors', () => {
  it('page on from the last item, one microsecond past it, so the edge is listed again', () => {
    const items = [item('2026-11-15T10:00:03Z'), item('2026-11-15T10:00:02Z'), item('2026-11-15T10:00:01.5Z')];
    expect(nextPage(ts, undefined, { has_more: true }, items, 'e').next).toEqual({ cursor: '2026-11-15T10:00:01.500001000Z' });
  });
  it('ascending order moves the other way', () => {
    const asc: Paging = { ...ts, order: 'asc' };
    expect(nextPage(asc, undefined, { has_more: true }, [item('2026-11-15T10:00:01.5Z')], 'e').next).toEqual({ cursor: '2026-11-15T10:00:01.499999000Z' });
  });
  it('a last item without a readable time does not stop paging: the last valid one sets the cursor', () => {
    const items = [item('2026-11-15T10:00:03Z'), item('2026-11-15T10:00:02Z'), [], item('2026-13-45T99:00:00Z')];
    expect(nextPage(ts, undefined, { has_more: true }, items, 'e').next).toEqual({ cursor: '2026-11-15T10:00:02.000001000Z' });
  });
  it('with no valid time on the page, the server cursor is used and that is said', () => {
    const out = nextPage(ts, undefined, { has_more: true, next_cursor: 'srv' }, [[], {}], 'e');
    expect(out.next).toEqual({ cursor: 'srv' });
    expect(out.warning).toMatch(/no item of the page has a readable created_at/);
  });
  it('with neither, the page fails (and the call is retried), never silently ends', () => {
    expect(() => nextPage(ts, undefined, { has_more: true }, [[]], 'e')).toThrow(/no item of the page has a readable created_at/);
  });
  it('a full page sharing one timestamp takes the server cursor and warns', () => {
    const same = '2026-11-15T10:00:00Z';
    const out = nextPage(ts, undefined, { has_more: true, next_cursor: same }, [item(same), item(same), item(same)], 'e');
    expect(out.next).toEqual({ cursor: same });
    expect(out.warning).toMatch(/may be skipped/);
  });
  it('ends on has_more false or an empty page', () => {
    expect(nextPage(ts, undefined, { has_more: false }, [item('2026-11-15T10:00:00Z')], 'e').next).toBeNull();
    expect(nextPage({ ...ts, hasMore: undefined }, undefined, {}, [], 'e').next).toBeNull();
  });
});

describe('cursors, offsets and page numbers', () => {
  const cursor: Paging = { style: 'cursor', cursorParam: 'cursor', nextCursor: 'next', hasMore: 'more', limit: 10 };
  it('an opaque cursor is followed while the answer says there is more', () => {
    expect(nextPage(cursor, undefined, { next: 'abc', more: true }, [1], 'e').next).toEqual({ cursor: 'abc' });
    expect(nextPage(cursor, undefined, { next: 'abc', more: false }, [1], 'e').next).toBeNull();
    expect(nextPage(cursor, undefined, { next: '', more: true }, [1], 'e').next).toBeNull();
  });
  it('offsets step back by the overlap, and a page with nothing beyond it ends the listing', () => {
    const off: Paging = { style: 'offset', offsetParam: 'o', limitParam: 'l', limit: 4, overlap: 1 };
    expect(nextPage(off, { offset: 8 }, {}, [1, 2, 3, 4], 'e').next).toEqual({ offset: 11 });
    expect(nextPage(off, { offset: 11 }, {}, [4], 'e').next).toBeNull();
  });
  it('page numbers stop at the total', () => {
    const pg: Paging = { style: 'page', pageParam: 'p', sizeParam: 's', limit: 2, firstPage: 1, total: 'total' };
    expect(nextPage(pg, undefined, { total: 3 }, [1, 2], 'e').next).toEqual({ page: 2 });
    expect(nextPage(pg, { page: 2 }, { total: 3 }, [3], 'e').next).toBeNull();
  });
});
