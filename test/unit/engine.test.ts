import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.js';
import { strait } from '../../providers/strait.js';
import { bindCollection } from '../../providers/define.js';
import type { BoundStream } from '../../providers/types.js';
import { SourceSync, ShortfallError } from '../../sync/engine.js';
import { sourceHttpClient } from '../../sync/source-http.js';
import { DEFAULT_ITEM_LIMITS } from '../../sync/limits.js';
import { Pacer } from '../../http/pacer.js';
import type { Logger } from '../../core/log.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { scriptedApi, type Answer } from '../helpers/scripted-api.js';

/**
 * The engine against an in-memory store and a scripted API: its decisions without chDB
 * or Temporal. The provider is the real Strait definition; only its API is scripted.
 */

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
const NOW = Date.parse('2026-11-20T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

type Run = { id: string; workflow_id: string; status: string; created_at: string; finished_at?: string | null; started_at?: string | null };
const run = (i: number, status = 'completed'): Run => ({
  id: `run-${String(i).padStart(4, '0')}`,
  workflow_id: 'wf',
  status,
  // Newest first: run 0 is the newest, one minute apart.
  created_at: iso(NOW - 60_000 * (i + 1)),
  started_at: iso(NOW - 60_000 * (i + 1)),
  finished_at: status === 'completed' ? iso(NOW - 60_000 * i - 1000) : null,
});

/** Strait's list endpoint over `items` (raw values, so tests can slip anything in), paged by `< cursor`. */
/** A record nested 10,000 levels deep, as text (no serialiser here could write it). */
const DEEP = Symbol('deep');
const DEEP_TEXT = JSON.stringify({ ...run(102), id: 'deep' }).replace(/}$/, `,"payload":${'['.repeat(10_000)}"x"${']'.repeat(10_000)}}`);

function straitApi(items: unknown[], opts: { pageSize?: number; raw?: boolean; detail?: (id: string) => Answer; steps?: (id: string) => Answer; list?: (n: number) => Answer | undefined; other?: (path: string) => Answer } = {}) {
  const created = (x: unknown) => (x === DEEP ? iso(NOW - 150_000) : typeof x === 'object' && x !== null && 'created_at' in x ? String((x as Run).created_at) : '');
  let lists = 0;
  return scriptedApi((path, q) => {
    if (path === '/v1/workflow-runs') {
      const instead = opts.list?.(++lists);
      if (instead) return instead;
      const cursor = q.get('cursor');
      const limit = Number(q.get('limit') ?? 100);
      // Items without a readable time come only on the first page.
      const from = cursor ? items.filter((x) => Date.parse(created(x)) < Date.parse(cursor)) : items;
      const page = from.slice(0, Math.min(limit, opts.pageSize ?? limit));
      const body = { data: page, has_more: from.length > page.length, next_cursor: created(page[page.length - 1]) || null };
      if (!opts.raw) return { json: body };
      // Items written one by one, so the deep record goes in as text.
      const data = page.map((x) => (x === DEEP ? DEEP_TEXT : JSON.stringify(x))).join(',');
      return { text: `{"data":[${data}],"has_more":${body.has_more},"next_cursor":${JSON.stringify(body.next_cursor)}}` };
    }
    const steps = /^\/v1\/workflow-runs\/([^/]+)\/steps$/.exec(path);
    if (steps) return opts.steps?.(decodeURIComponent(steps[1])) ?? { json: { data: [], has_more: false } };
    const detail = /^\/v1\/workflow-runs\/([^/]+)$/.exec(path);
    if (detail) return opts.detail?.(decodeURIComponent(detail[1])) ?? { status: 404, json: { error: 'not found' } };
    return opts.other?.(path) ?? { status: 404, json: { error: path } };
  });
}

let api: Awaited<ReturnType<typeof straitApi>> | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

function engine(url: string, store: MemoryStore, extra: Record<string, unknown> = {}, log: Logger = quiet, checkEveryMs?: number, streams?: (s: BoundStream[]) => BoundStream[]) {
  const source = parseConfig({
    sources: [{ name: 's', provider: 'strait', baseUrl: url, tokenEnv: 'T', settle: '0s', rateLimit: 1000, maxRetries: 2, timeout: '2s', options: { projectId: 'p' }, ...extra }],
  }).sources[0];
  const bound = strait.bind(source);
  const provider = streams ? { ...bound, streams: streams(bound.streams) } : bound;
  const http = sourceHttpClient(source, provider, 'tok_secret', { baseDelayMs: 1, maxDelayMs: 5, pacer: new Unpaced(1000) });
  const beats: unknown[] = [];
  const sync = new SourceSync({ store, source, provider, http, log, secrets: ['tok_secret'], heartbeat: (d) => beats.push(d), now: () => NOW, limits: DEFAULT_ITEM_LIMITS, futureToleranceMs: 86_400_000, checkEveryMs });
  return { sync, http, beats };
}

/** Pacing has tests of its own (pacer.test.ts); here it would only make the engine's decisions slow to watch. */
class Unpaced extends Pacer {
  override async take(): Promise<number> {
    return 0;
  }
}

const BUDGET = { maxPages: 1000, maxMs: 60_000 };
const SINCE = NOW - 7 * 86_400_000;

describe('engine: listing', () => {
  it('pages to the end, lands every run once, and moves the watermark to the newest time', async () => {
    const runs = Array.from({ length: 25 }, (_, i) => run(i));
    api = await straitApi(runs, { pageSize: 10 });
    const store = new MemoryStore();
    const { sync } = engine(api.url, store);
    const out = await sync.listing(SINCE, null, BUDGET);
    expect([...store.runs.keys()].sort()).toEqual(runs.map((r) => r.id).sort());
    expect(out.counts.runs_new).toBe(25);
    expect(out.cursor).toBeNull();
    expect(out.newest).toBe(Date.parse(runs[0].created_at));
    expect(out.oldestFailure).toBeNull();
  });

  it('a second listing with nothing changed fetches nothing and writes nothing', async () => {
    const runs = Array.from({ length: 12 }, (_, i) => run(i));
    api = await straitApi(runs, { pageSize: 5 });
    const store = new MemoryStore('first');
    await engine(api.url, store).sync.listing(SINCE, null, BUDGET);
    const requests = api.log.length;
    store.syncId = 'second';
    const { sync } = engine(api.url, store);
    const out = await sync.listing(SINCE, null, BUDGET);
    expect(out.counts.runs_new + out.counts.runs_updated).toBe(0);
    // Only list pages: no steps request for an unchanged, settled run.
    expect(api.log.slice(requests).every((r) => r.path === '/v1/workflow-runs')).toBe(true);
  });

  it("names workflows from the source's workflowNames when the provider gives only ids", async () => {
    api = await straitApi([run(0), { ...run(1), workflow_id: 'other' }]);
    const store = new MemoryStore();
    await engine(api.url, store, { workflowNames: { wf: 'Nightly ETL' } }).sync.listing(SINCE, null, BUDGET);
    expect([...store.runs.values()].map((r) => [r.bundle.run.workflow_id, r.bundle.run.workflow_name]).sort()).toEqual([['other', ''], ['wf', 'Nightly ETL']]);
  });

  it('a changed run is fetched again and counted as updated', async () => {
    const runs = [run(0, 'running'), run(1)];
    api = await straitApi(runs);
    const store = new MemoryStore('first');
    await engine(api.url, store).sync.listing(SINCE, null, BUDGET);
    runs[0] = { ...runs[0], status: 'completed', finished_at: iso(NOW) };
    store.syncId = 'second';
    const out = await engine(api.url, store).sync.listing(SINCE, null, BUDGET);
    expect(out.counts.runs_updated).toBe(1);
    expect(store.runs.get(runs[0].id)!.known.is_terminal).toBe(true);
  });

  it('says at debug why each run is fetched or skipped, naming what changed in its list entry; nothing is built when debug is off', async () => {
    const runs = [run(0, 'running'), run(1), run(2, 'running')];
    api = await straitApi(runs, { detail: (id) => ({ json: runs.find((r) => r.id === id) }) });
    const store = new MemoryStore('first');
    await engine(api.url, store).sync.listing(SINCE, null, BUDGET);
    runs[0] = { ...runs[0], status: 'completed', finished_at: iso(NOW) };
    store.syncId = 'second';
    const lines: { msg: string; fields: Record<string, unknown> }[] = [];
    const capture = (debug: boolean): Logger => ({
      debug: (msg, fields = {}) => lines.push({ msg, fields }),
      info() {},
      warn() {},
      error() {},
      child: () => capture(debug),
      isDebug: () => debug,
    });
    await engine(api.url, store, {}, capture(true)).sync.listing(SINCE, null, BUDGET);
    const about = (id: string) => lines.filter((l) => l.fields.run === id).map((l) => ({ msg: l.msg, ...l.fields }));
    expect(about(runs[0].id)).toEqual([{ msg: 'fetch run', source: 's', run: runs[0].id, reason: 'listing changed', changed: 'status running -> completed', listed: `status="completed" started_at="${runs[0].started_at}" finished_at="${iso(NOW)}" error=null` }]);
    expect(about(runs[1].id)).toEqual([{ msg: 'skip run', source: 's', run: runs[1].id, reason: 'unchanged and settled' }]);
    expect(about(runs[2].id)).toEqual([{ msg: 'fetch run', source: 's', run: runs[2].id, reason: 'open at provider' }]);
    // A run polled by id says why too.
    store.syncId = 'third';
    lines.length = 0;
    await engine(api.url, store, {}, capture(true)).sync.repoll('', BUDGET);
    expect(about(runs[2].id)).toEqual([{ msg: 'fetch run', source: 's', run: runs[2].id, reason: 'known re-poll: open or settling, not reached by the listing', status: 'running' }]);
    lines.length = 0;
    store.syncId = 'fourth';
    await engine(api.url, store, {}, capture(false)).sync.listing(SINCE, null, BUDGET);
    expect(lines).toEqual([]);
  });

  it('heartbeats say how far the listing is: the time paged back from now toward the window start', async () => {
    const runs = Array.from({ length: 25 }, (_, i) => run(i));
    api = await straitApi(runs, { pageSize: 10 });
    const { sync, beats } = engine(api.url, new MemoryStore(), {}, quiet, 0);
    const since = NOW - 30 * 60_000;
    await sync.listing(since, null, BUDGET);
    const done = beats.map((b) => (b as { done?: number }).done);
    // Pages end at runs 9, 19 and 24 (created i + 1 minutes before now): 10, 20 and 25 of 30 minutes.
    expect(done).toEqual([10 / 30, 20 / 30, 25 / 30].map((x) => expect.closeTo(x, 6)));
  });

  it('stops when the budget is spent and resumes from the returned cursor without losing a run', async () => {
    const runs = Array.from({ length: 30 }, (_, i) => run(i));
    api = await straitApi(runs, { pageSize: 10 });
    const store = new MemoryStore();
    const first = await engine(api.url, store).sync.listing(SINCE, null, { maxPages: 1, maxMs: 60_000 });
    expect(first.cursor).toMatchObject({ stream: 'runs' });
    expect(store.runs.size).toBe(10);
    const rest = await engine(api.url, store).sync.listing(SINCE, first.cursor, BUDGET);
    expect(rest.cursor).toBeNull();
    expect(store.runs.size).toBe(30);
  });

  it('a listing stops below the window', async () => {
    const runs = Array.from({ length: 20 }, (_, i) => run(i));
    api = await straitApi(runs, { pageSize: 5 });
    const store = new MemoryStore();
    // The window ends after run 7 (created 8 minutes before NOW).
    await engine(api.url, store).sync.listing(NOW - 8 * 60_000, null, BUDGET);
    expect(store.runs.size).toBeLessThan(20);
    expect(store.runs.has(runs[7].id)).toBe(true);
  });
});

describe('engine: bad records', () => {
  it('one bad item never sinks its page: non-object, deeply nested, impossible dates are quarantined with the field named; paging goes on from the last valid item', async () => {
    const good = Array.from({ length: 6 }, (_, i) => run(i));
    const items: unknown[] = [
      good[0],
      { ...run(100), id: 'bad-month', created_at: '2026-13-45T99:00:00Z' },
      good[1],
      { ...run(101), id: 'year-zero', created_at: '0000-01-01T00:00:00Z' },
      DEEP,
      good[2],
      // The last item of the page: not even an object.
      [],
    ];
    api = await straitApi([...items, ...good.slice(3)], { pageSize: items.length, raw: true });
    const store = new MemoryStore();
    const out = await engine(api.url, store).sync.listing(SINCE, null, BUDGET);
    expect([...store.runs.keys()].sort()).toEqual(good.map((r) => r.id).sort());
    const errors = store.quarantined.filter((q) => q.severity === 'error');
    expect(errors.map((q) => q.key).sort()).toEqual(['', 'bad-month', 'deep', 'year-zero']);
    expect(errors.find((q) => q.key === 'bad-month')!.reason).toMatch(/created_at: .*month 13 does not exist/);
    expect(errors.find((q) => q.key === 'year-zero')!.reason).toMatch(/created_at: .*year 0000/);
    expect(errors.some((q) => /nested deeper than 64 levels/.test(q.reason))).toBe(true);
    expect(errors.some((q) => /expected object/i.test(q.reason))).toBe(true);
    expect(out.counts.quarantined).toBe(4);
  });

  it('a time far in the future lands the run but does not move the watermark, and says so', async () => {
    const future = { ...run(0), id: 'from-the-future', created_at: '2030-01-01T00:00:00Z' };
    const runs = [future, run(1), run(2)];
    api = await straitApi(runs);
    const store = new MemoryStore();
    const out = await engine(api.url, store).sync.listing(SINCE, null, BUDGET);
    expect(store.runs.has('from-the-future')).toBe(true);
    expect(out.newest).toBe(Date.parse(runs[1].created_at as string));
    expect(store.quarantined.find((q) => q.key === 'from-the-future')?.reason).toMatch(/beyond now \+ 1d/);
  });
});

describe('engine: failures that may pass', () => {
  it('a cut-off body is retried, and the run lands', async () => {
    const runs = [run(0), run(1)];
    let cuts = 0;
    api = await straitApi(runs, {
      steps: () =>
        cuts++ < 1
          ? (_req, res) => {
              res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' });
              res.write('{"data": [ {"id": "st');
              res.destroy();
            }
          : { json: { data: [], has_more: false } },
    });
    const store = new MemoryStore();
    const { sync, http } = engine(api.url, store);
    const out = await sync.listing(SINCE, null, BUDGET);
    expect(store.runs.size).toBe(2);
    expect(http.stats.retries).toBe(1);
    expect(store.quarantined).toEqual([]);
    expect(out.oldestFailure).toBeNull();
  });

  it('a run whose children keep failing holds the watermark below it and is not quarantined as an error', async () => {
    const runs = [run(0), run(1), run(2)];
    api = await straitApi(runs, { steps: (id) => (id === runs[1].id ? { status: 503, text: 'busy' } : { json: { data: [], has_more: false } }) });
    const store = new MemoryStore();
    const out = await engine(api.url, store).sync.listing(SINCE, null, BUDGET);
    expect(store.runs.has(runs[1].id)).toBe(false);
    expect(out.oldestFailure).toBe(Date.parse(runs[1].created_at));
    // The watermark's candidate stays below the failed run: the next sync lists it again.
    expect(out.newest).toBe(Date.parse(runs[2].created_at));
    expect(out.counts.quarantined).toBe(0);
    expect(out.counts.runs_failed).toBe(1);
    expect(store.quarantined.find((q) => q.key === runs[1].id)).toMatchObject({ severity: 'warning' });
  });

  it('a page whose rows did not land fails the call instead of counting them', async () => {
    const runs = [run(0), run(1)];
    api = await straitApi(runs);
    const store = new MemoryStore();
    store.drop.add(runs[1].id);
    await expect(engine(api.url, store).sync.listing(SINCE, null, BUDGET)).rejects.toThrow(ShortfallError);
  });

  it('pages overlap, but a heartbeat names a page only once its rows landed, in page order, with its own counts', async () => {
    const runs = Array.from({ length: 35 }, (_, i) => run(i));
    api = await straitApi(runs, { pageSize: 10 });
    const ok = engine(api.url, new MemoryStore(), {}, quiet, 0);
    await ok.sync.listing(SINCE, null, BUDGET);
    const listed = (ok.beats as { phase?: string; counts: { runs_new: number; rows_written: number } }[]).filter((b) => b.phase === 'list');
    expect(listed.map((b) => b.counts.runs_new)).toEqual([10, 20, 30, 35]);
    // One row per run and one per step: the stub's runs have none of the latter.
    expect(listed.map((b) => b.counts.rows_written)).toEqual([10, 20, 30, 35]);

    // Page 2's rows do not land: page 3 may be fetched meanwhile, but no heartbeat goes past page 1.
    await api.close();
    api = await straitApi(runs, { pageSize: 10 });
    const store = new MemoryStore();
    store.drop.add(runs[15].id);
    const bad = engine(api.url, store, {}, quiet, 0);
    await expect(bad.sync.listing(SINCE, null, BUDGET)).rejects.toThrow(ShortfallError);
    const beats = (bad.beats as { phase?: string; counts: { runs_new: number } }[]).filter((b) => b.phase === 'list');
    expect(beats.map((b) => b.counts.runs_new)).toEqual([10]);
  });

  it('pages done within checkEveryMs are written and checked together, once, and reported with the last of them', async () => {
    const runs = Array.from({ length: 35 }, (_, i) => run(i));
    api = await straitApi(runs, { pageSize: 10 });
    const store = new MemoryStore();
    const { sync, beats } = engine(api.url, store, {}, quiet, 60_000);
    const res = await sync.listing(SINCE, null, BUDGET);
    expect(store.flushes).toBe(1);
    expect(res.counts.runs_new).toBe(35);
    expect(store.runs.size).toBe(35);
    // The one check covers the last page, which names no page after it.
    const listed = (beats as { phase?: string; counts: { runs_new: number } }[]).filter((b) => b.phase === 'list');
    expect(listed.map((b) => b.counts.runs_new)).toEqual([35]);
  });

  it('a listing that fails writes, checks and reports the pages done before it, so a retry resumes after them', async () => {
    const runs = Array.from({ length: 35 }, (_, i) => run(i));
    // The third list request and its retries fail: pages 1 and 2 are done, page 3 never answers.
    api = await straitApi(runs, { pageSize: 10, list: (n) => (n >= 3 ? { status: 503, json: { error: 'down' } } : undefined) });
    const store = new MemoryStore();
    const { sync, beats } = engine(api.url, store, {}, quiet, 60_000);
    await expect(sync.listing(SINCE, null, BUDGET)).rejects.toThrow(/503/);
    expect(store.runs.size).toBe(20);
    const listed = (beats as { phase?: string; cursor: { page?: unknown } | null; counts: { runs_new: number } }[]).filter((b) => b.phase === 'list');
    expect(listed.map((b) => b.counts.runs_new)).toEqual([20]);
    // Resumed from that heartbeat's cursor, the listing asks for page 3 and writes its 15 runs only.
    await api.close();
    api = await straitApi(runs, { pageSize: 10 });
    const again = await engine(api.url, store, {}, quiet, 60_000).sync.listing(SINCE, listed[0].cursor as never, BUDGET);
    expect(again.counts.runs_new).toBe(15);
    expect(store.runs.size).toBe(35);
  });

  it('a fan-out stream whose parents cannot be listed first writes and reports the streams done before it', async () => {
    const runs = Array.from({ length: 25 }, (_, i) => run(i));
    // A second stream over the same runs, one listing per parent; its parents' list answers 503.
    api = await straitApi(runs, { pageSize: 10, other: (path) => (path === '/v1/parents' ? { status: 503, json: { error: 'down' } } : { status: 404, json: { error: path } }) });
    const fanOut = (streams: BoundStream[]): BoundStream[] => [
      ...streams,
      {
        name: 'per-parent',
        collection: streams[0].collection,
        parents: { collection: bindCollection({ endpoint: 'GET /v1/parents', path: '/v1/parents', items: 'data', paging: { style: 'offset', offsetParam: 'offset', limitParam: 'limit', limit: 100, overlap: 0 } }, {}), read: (raw) => ({ id: String((raw as { id: unknown }).id) }) },
      },
    ];
    const store = new MemoryStore();
    const { sync, beats } = engine(api.url, store, {}, quiet, 60_000, fanOut);
    await expect(sync.listing(SINCE, null, BUDGET)).rejects.toThrow(/503/);
    expect(store.runs.size).toBe(25);
    const listed = (beats as { phase?: string; cursor: { stream: string } | null; counts: { runs_new: number } }[]).filter((b) => b.phase === 'list');
    expect(listed.map((b) => [b.cursor?.stream, b.counts.runs_new])).toEqual([['per-parent', 25]]);
  });

  it('a redirect to another origin is refused, naming both', async () => {
    const other = await scriptedApi(() => ({ json: { data: [run(9)], has_more: false } }));
    try {
      api = await scriptedApi(() => ({ status: 301, headers: { location: `${other.url}/v1/workflow-runs` }, text: '' }));
      const store = new MemoryStore();
      const err = await engine(api.url, store).sync.listing(SINCE, null, BUDGET).catch((e: Error) => e);
      expect(String(err)).toMatch(new RegExp(`redirect from ${api.url} to ${other.url} refused`));
      expect(store.runs.size).toBe(0);
      expect(other.log.length).toBe(0);
    } finally {
      await other.close();
    }
  });

  it('an answer over maxResponseBytes is refused with an error naming the endpoint', async () => {
    api = await straitApi(Array.from({ length: 50 }, (_, i) => run(i)));
    const store = new MemoryStore();
    const err = await engine(api.url, store, { maxResponseBytes: 2048 }).sync.listing(SINCE, null, BUDGET).catch((e: Error) => e);
    expect(String(err)).toMatch(/GET \/v1\/workflow-runs: answer of \d+ bytes or more is larger than the 2048-byte limit/);
  });
});

describe('engine: re-polling by id', () => {
  it('polls open runs by id until they finish; a run the provider no longer knows is let go once', async () => {
    const open = run(0, 'running');
    const forgotten = run(1, 'running');
    api = await straitApi([open, forgotten]);
    const store = new MemoryStore('first');
    await engine(api.url, store).sync.listing(SINCE, null, BUDGET);
    await api.close();
    const finished = { ...open, status: 'completed', finished_at: iso(NOW - 1000) };
    api = await straitApi([], { detail: (id) => (id === open.id ? { json: finished } : { status: 404, json: { error: 'not found' } }) });
    store.syncId = 'second';
    const out = await engine(api.url, store).sync.repoll('', BUDGET);
    expect(out.after).toBeNull();
    expect(out.counts.runs_updated).toBe(1);
    expect(store.runs.get(open.id)!.known.is_terminal).toBe(true);
    expect(store.gone.has(forgotten.id)).toBe(true);
    store.syncId = 'third';
    const again = await engine(api.url, store).sync.repoll('', BUDGET);
    expect(again.counts.runs_updated + again.counts.runs_polled).toBe(0);
  });

  it('known open runs are polled before the inbox, one sync takes at most inboxPerSync handed-in ids, the most recently handed in first', async () => {
    const open = [run(0, 'running'), run(1, 'running'), run(2, 'running')];
    api = await straitApi(open);
    const store = new MemoryStore('first');
    await engine(api.url, store).sync.listing(SINCE, null, BUDGET);
    await api.close();
    const inbox = Array.from({ length: 210 }, (_, i) => `inbox-${String(i).padStart(4, '0')}`);
    store.handIn(inbox);
    // Ids sort before the open runs' ids, so id order alone would poll the inbox first. Re-polls go
    // 200 ids a batch: a cap of 205 takes one full batch and a batch of what is left under the cap.
    api = await straitApi([], { detail: (id) => ({ json: { ...(open.find((r) => r.id === id) ?? run(500)), id } }) });
    store.syncId = 'second';
    const out = await engine(api.url, store, { inboxPerSync: 205 }).sync.repoll('', BUDGET);
    expect(out.after).toBeNull();
    const polled = api.log.filter((r) => /^\/v1\/workflow-runs\/[^/]+$/.test(r.path)).map((r) => decodeURIComponent(r.path.split('/').pop()!));
    expect(polled.slice(0, 3).sort()).toEqual(open.map((r) => r.id).sort());
    // Batches go one after another; within one, concurrent requests may arrive in any order.
    expect(polled.slice(3, 203).sort()).toEqual(inbox.slice(0, 200));
    expect(polled.slice(203).sort()).toEqual(inbox.slice(200, 205));
    // Ids handed in since come first in the next sync (though they sort after the rest), then the rest by id.
    const late = ['zz-late-1', 'zz-late-2'];
    store.handIn(late);
    store.syncId = 'third';
    const before = api.log.length;
    await engine(api.url, store, { inboxPerSync: 3 }).sync.repoll('', BUDGET);
    const third = api.log.slice(before).filter((r) => /^\/v1\/workflow-runs\/[^/]+$/.test(r.path)).map((r) => decodeURIComponent(r.path.split('/').pop()!));
    expect(third.filter((id) => id.startsWith('inbox-') || id.startsWith('zz-')).sort()).toEqual([inbox[205], ...late]);
    store.syncId = 'fourth';
    await engine(api.url, store, { inboxPerSync: 100 }).sync.repoll('', BUDGET);
    expect([...inbox, ...late].every((id) => store.runs.has(id))).toBe(true);
  });
});
