import { createServer, type Server } from 'node:http';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient, parseRetryAfter } from '../../http/client.js';
import { Pacer } from '../../http/pacer.js';
import { shiftTimestamp, paginate, TIMESTAMP_CURSOR_STEP_NS, type Page, type PageState } from '../../http/paging.js';
import type { Paging } from '../../providers/types.js';


/** One page through the shared paginator. */
async function fetchPage(http: HttpClient, coll: { endpoint: string; path: string; items: string; paging: Paging }, _ctx: unknown, vars: Record<string, string>, state: PageState | undefined): Promise<Page> {
  for await (const page of paginate(http, { ...coll, query: () => ({}) }, { vars, window: { since: 0, now: 0 }, start: state })) return page;
  throw new Error('no page');
}
import { AuthError } from '../../http/errors.js';
import { scrub, scrubText } from '../../core/redact.js';

let server: Server | null = null;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A tiny scripted server: answers are taken in order. */
async function scripted(answers: { status: number; body: string; headers?: Record<string, string> }[]) {
  const seen: { url: string; auth: string | undefined; at: number }[] = [];
  server = createServer((req, res) => {
    seen.push({ url: req.url!, auth: req.headers.authorization, at: Date.now() });
    const a = answers.shift() ?? { status: 200, body: '{}' };
    res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
    res.end(a.body);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  const port = (server!.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, seen };
}

const client = (baseUrl: string, extra: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}) =>
  new HttpClient({ baseUrl, headers: { authorization: 'Bearer tok_secret_value' }, secrets: ['tok_secret_value'], timeoutMs: 2000, maxRetries: 4, pacer: new Pacer(1000), baseDelayMs: 5, ...extra });

describe('HTTP client', () => {
  it('retries 429 honouring Retry-After, and 5xx with backoff', async () => {
    const s = await scripted([
      // Seconds with a fraction (read as such), so the wait is long next to the 5 ms backoff but short to run.
      { status: 429, body: 'slow down', headers: { 'retry-after': '0.3' } },
      { status: 503, body: 'busy' },
      { status: 200, body: '{"ok":1}' },
    ]);
    const c = client(s.url);
    expect(await c.getJson('/x')).toEqual({ ok: 1 });
    expect(c.stats).toMatchObject({ apiCalls: 3, retries: 2, rateLimited: 1 });
    expect(s.seen[1].at - s.seen[0].at).toBeGreaterThanOrEqual(290);
  });

  it('stops at once on 401 with a message that does not carry the token', async () => {
    const s = await scripted([{ status: 401, body: '{"error":"bad token tok_secret_value"}' }]);
    const c = client(s.url);
    const err: any = await c.getJson("/x", {}, "GET /x").catch((e) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(err.message).toMatch(/GET \/x: HTTP 401/);
    expect(err.message).not.toContain('tok_secret_value');
    expect(s.seen.length).toBe(1);
  });

  it('gives up after maxRetries and says how often it tried', async () => {
    const s = await scripted(Array.from({ length: 5 }, () => ({ status: 500, body: 'boom' })));
    const err: any = await client(s.url, { maxRetries: 2 }).getJson("/x", {}, "GET /x").catch((e) => e);
    expect(err.message).toMatch(/GET \/x: HTTP 500.*\(gave up after 3 attempts\)/);
  });

  it('reads answers compressed as asked (gzip, br), or with a byte-order mark; the size limit applies unpacked', async () => {
    const doc = { data: Array.from({ length: 500 }, (_, i) => ({ id: `run-${i}`, status: 'completed' })) };
    const text = JSON.stringify(doc);
    const encodings: (string | undefined)[] = [];
    server = createServer((req, res) => {
      encodings.push(req.headers['accept-encoding']);
      if (req.url === '/gzip') res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipSync(text));
      else if (req.url === '/br') res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'br' }).end(brotliCompressSync(text));
      else res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end('\ufeff' + text);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server!.address() as { port: number }).port}`;
    for (const path of ['/gzip', '/br', '/bom']) expect(await client(url).getJson(path, {}, `GET ${path}`)).toEqual(doc);
    expect(encodings[0]).toMatch(/gzip/);
    // Compressed, the answer is small; unpacked, it passes the limit and is refused, naming the endpoint.
    expect(gzipSync(text).length).toBeLessThan(text.length / 4);
    const err: any = await client(url, { maxResponseBytes: text.length - 100 }).getJson('/gzip', {}, 'GET /gzip').catch((e) => e);
    expect(err.message).toMatch(/^GET \/gzip: answer of \d+ bytes or more is larger than the \d+-byte limit/);
  });

  it('a request that outlasts timeoutMs is a transient failure saying so', async () => {
    server = createServer((_req, res) => setTimeout(() => res.writeHead(200).end('{}'), 1_000));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server!.address() as { port: number }).port}`;
    const err: any = await client(url, { timeoutMs: 100, maxRetries: 0 }).getJson('/slow', {}, 'GET /slow').catch((e) => e);
    expect(err.message).toBe('GET /slow: timed out after 100 ms (gave up after 1 attempts)');
    expect(err.kind).toBe('transient');
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    expect(parseRetryAfter(null)).toBeNull();
  });
});

describe('paging', () => {
  it('turns a timestamp cursor into "<= last" by moving it one microsecond, at nanosecond precision, in UTC', () => {
    const past = (ts: string) => shiftTimestamp(ts, TIMESTAMP_CURSOR_STEP_NS);
    expect(past('2026-11-15T10:00:00.123456789Z')).toBe('2026-11-15T10:00:00.123457789Z');
    expect(past('2026-11-15T10:00:00.999999999Z')).toBe('2026-11-15T10:00:01.000000999Z');
    expect(past('2026-11-15T10:00:00Z')).toBe('2026-11-15T10:00:00.000001000Z');
    expect(past('2026-11-15T12:00:00.5+02:00')).toBe('2026-11-15T10:00:00.500001000Z');
    expect(shiftTimestamp('not a time', TIMESTAMP_CURSOR_STEP_NS)).toBeNull();
  });

  it('pages a timestamp cursor from the last item moved one microsecond, not the server cursor', async () => {
    const same = '2026-11-15T10:00:00.000000005Z';
    const s = await scripted([{ status: 200, body: JSON.stringify({ data: [{ id: 'a', created_at: '2026-11-15T10:00:01Z' }, { id: 'b', created_at: same }], next_cursor: same, has_more: true }) }]);
    const page = await fetchPage(
      client(s.url),
      { endpoint: 'list', path: '/runs', items: 'data', paging: { style: 'timestamp-cursor', cursorParam: 'cursor', itemTime: 'created_at', nextCursor: 'next_cursor', hasMore: 'has_more', limitParam: 'limit', limit: 2 } },
      { source: {} as never, since: 0, now: 0 },
      {},
      undefined,
    );
    expect(page.next).toEqual({ cursor: '2026-11-15T10:00:00.000001005Z' });
  });

  it('overlaps offset pages', async () => {
    const s = await scripted([{ status: 200, body: JSON.stringify({ data: { items: [1, 2, 3, 4], hasMore: true } }) }]);
    const page = await fetchPage(
      client(s.url),
      { endpoint: 'list', path: '/runs', items: 'data.items', paging: { style: 'offset', offsetParam: 'offset', limitParam: 'limit', limit: 4, hasMore: 'data.hasMore', overlap: 1 } },
      { source: {} as never, since: 0, now: 0 },
      {},
      { offset: 8 },
    );
    expect(page.next).toEqual({ offset: 11 });
    expect(s.seen[0].url).toBe('/runs?limit=4&offset=8');
  });
});

describe('scrubbing', () => {
  it('replaces credential-bearing fields and known secrets', () => {
    const out = scrub({ headers: { Authorization: 'Bearer ghp_abcdef123456', 'X-Api-Key': 'k_123456789', Accept: 'json' }, note: 'used tok_secret_value here' }, ['tok_secret_value']);
    expect(out).toEqual({ headers: { Authorization: '[REDACTED]', 'X-Api-Key': '[REDACTED]', Accept: 'json' }, note: 'used [REDACTED] here' });
    expect(scrubText('Authorization: Bearer abcdefghijkl')).toBe('Authorization: Bearer [REDACTED]');
  });

  it('redacts header pairs, tuples, arrays under secret names and URL credentials', () => {
    expect(scrub({ headers: [{ name: 'X-Api-Key', value: 'abcdefghij' }] })).toEqual({ headers: [{ name: 'X-Api-Key', value: '[REDACTED]' }] });
    expect(scrub({ headers: [['Cookie', 'session=abc']] })).toEqual({ headers: [['Cookie', '[REDACTED]']] });
    expect(scrub({ headers: { 'x-api-key': ['zzzzzzzz'], cookie: ['sid=1'] } })).toEqual({ headers: { 'x-api-key': ['[REDACTED]'], cookie: ['[REDACTED]'] } });
    expect(scrubText('GET https://user:pass@x/api?api_key=abc&token=xyz&page=2 failed')).toBe('GET https://[REDACTED]@x/api?api_key=[REDACTED]&token=[REDACTED]&page=2 failed');
  });
});

describe('paging edge cases', () => {
  const ctx = { source: {} as never, since: 0, now: 0 };
  it('ascending timestamp cursors step back, so items sharing the last timestamp come again', async () => {
    const s = await scripted([{ status: 200, body: JSON.stringify({ data: [{ created_at: '2026-11-15T10:00:00Z' }, { created_at: '2026-11-15T10:00:01.5Z' }], has_more: true }) }]);
    const page = await fetchPage(client(s.url), { endpoint: 'steps', path: '/s', items: 'data', paging: { style: 'timestamp-cursor', cursorParam: 'cursor', itemTime: 'created_at', order: 'asc', hasMore: 'has_more', limit: 2 } }, ctx, {}, undefined);
    expect(page.next).toEqual({ cursor: '2026-11-15T10:00:01.499999000Z' });
  });

  it('a full page sharing one timestamp falls back to the server cursor and says so', async () => {
    const same = '2026-11-15T10:00:00.000000005Z';
    const s = await scripted([{ status: 200, body: JSON.stringify({ data: [{ created_at: same }, { created_at: same }], next_cursor: same, has_more: true }) }]);
    const page = await fetchPage(client(s.url), { endpoint: 'list', path: '/r', items: 'data', paging: { style: 'timestamp-cursor', cursorParam: 'cursor', itemTime: 'created_at', nextCursor: 'next_cursor', hasMore: 'has_more', limit: 2 } }, ctx, {}, undefined);
    expect(page.next).toEqual({ cursor: same });
    expect(page.warning).toMatch(/may be skipped/);
  });

  it('without has_more, a short page does not end offset or page paging (servers cap page sizes); an empty one does', async () => {
    const s = await scripted([
      { status: 200, body: JSON.stringify({ items: [1, 2, 3] }) },
      { status: 200, body: JSON.stringify({ items: [] }) },
      { status: 200, body: JSON.stringify({ items: [1, 2, 3] }) },
      { status: 200, body: JSON.stringify({ items: [3] }) },
    ]);
    const pageColl = { endpoint: 'p', path: '/p', items: 'items', paging: { style: 'page' as const, pageParam: 'page', sizeParam: 'size', limit: 10, firstPage: 1 } };
    const p1 = await fetchPage(client(s.url), pageColl, ctx, {}, undefined);
    expect(p1.next).toEqual({ page: 2 });
    const p2 = await fetchPage(client(s.url), pageColl, ctx, {}, p1.next!);
    expect(p2.next).toBeNull();
    const offColl = { endpoint: 'o', path: '/o', items: 'items', paging: { style: 'offset' as const, offsetParam: 'offset', limitParam: 'limit', limit: 10, overlap: 1 } };
    const o1 = await fetchPage(client(s.url), offColl, ctx, {}, undefined);
    expect(o1.next).toEqual({ offset: 2 });
    const o2 = await fetchPage(client(s.url), offColl, ctx, {}, o1.next!);
    expect(o2.next).toBeNull(); // nothing beyond the overlapped item
  });
});
