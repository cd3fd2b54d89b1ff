import { describe, expect, it } from 'vitest';
import { OutgrewShortLaneError, QueryAbortedError, QueryScheduler, ServerBusyError, defaultPoolOptions, type Lane } from '../../server/query-pool.js';

const opts = { shortSlots: 1, longSlots: 1, shortMs: 100, shortQueue: 2, longQueue: 2, slowShapeTtlMs: 60_000 };

/** A unit of work the test releases by hand, recording the lane it ran in. */
function gate() {
  let open!: () => void;
  const done = new Promise<void>((r) => (open = r));
  const lanes: Lane[] = [];
  return { open, lanes, work: async (lane: Lane) => (lanes.push(lane), await done, lane) };
}
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('QueryScheduler', () => {
  it('runs up to the slots of a lane, queues the next ones first come first served, and refuses past the queue at once', async () => {
    const s = new QueryScheduler(opts);
    const g = [gate(), gate(), gate(), gate()];
    const runs = g.map((x, i) => s.run(`shape${i}`, undefined, x.work));
    const fourth = runs[3].catch((e: Error) => e);
    await tick();
    expect(s.stats()).toMatchObject({ running: { short: 1, long: 0 }, queued: { short: 2, long: 0 } });
    const refused = await fourth;
    expect(refused).toBeInstanceOf(ServerBusyError);
    expect(refused).toMatchObject({ lane: 'short', retryAfterSeconds: 1 });
    g[1].open();
    g[0].open();
    await runs[0];
    await tick();
    expect(g[1].lanes).toEqual(['short']);
    g[2].open();
    expect(await Promise.all(runs.slice(0, 3))).toEqual(['short', 'short', 'short']);
    expect(s.stats()).toMatchObject({ running: { short: 0, long: 0 }, queued: { short: 0, long: 0 } });
  });

  it('sends a query that outgrew the short lane to the long one, and its shape straight there afterwards', async () => {
    const s = new QueryScheduler(opts);
    const lanes: Lane[] = [];
    const slow = (lane: Lane) => {
      lanes.push(lane);
      return lane === 'short' ? Promise.reject(new OutgrewShortLaneError()) : Promise.resolve('done');
    };
    expect(await s.run('slow', undefined, slow)).toBe('done');
    expect(lanes).toEqual(['short', 'long']);
    expect(await s.run('slow', undefined, slow)).toBe('done');
    expect(lanes).toEqual(['short', 'long', 'long']);
    expect(s.isSlowShape('slow')).toBe(true);
    expect(s.isSlowShape('other')).toBe(false);
  });

  it('moves queued queries of a shape found slow to the long lane, refusing those past its queue', async () => {
    const s = new QueryScheduler({ ...opts, shortQueue: 10 });
    const first = gate();
    const outgrow = s.run('s', undefined, async (lane) => {
      await first.work(lane);
      if (lane === 'short') throw new OutgrewShortLaneError();
      return lane;
    });
    const later = [gate(), gate(), gate(), gate()];
    const queued = later.map((g) => s.run('s', undefined, g.work).catch((e: Error) => e));
    const short = gate();
    const other = s.run('fast', undefined, short.work);
    await tick();
    expect(s.stats().queued.short).toBe(5);
    first.open();
    await tick();
    await tick();
    // Two fit the long queue behind the one now running there; two are refused at once.
    const refused = (await Promise.race([Promise.all(queued.slice(2)), new Promise((r) => setTimeout(r, 50, null))])) as Error[] | null;
    expect(refused?.map((e) => e instanceof ServerBusyError && e.lane)).toEqual(['long', 'long']);
    expect(s.stats()).toMatchObject({ running: { short: 1, long: 1 }, queued: { short: 0, long: 2 } });
    expect(short.lanes).toEqual(['short']);
    short.open();
    for (const g of later) g.open();
    expect(await outgrow).toBe('long');
    expect(await other).toBe('short');
    expect(await Promise.all(queued.slice(0, 2))).toEqual(['long', 'long']);
  });

  it('drops a queued query whose client left, without running it', async () => {
    const s = new QueryScheduler(opts);
    const busy = gate();
    const running = s.run('a', undefined, busy.work);
    const ctl = new AbortController();
    const never = gate();
    const queued = s.run('b', ctl.signal, never.work);
    await tick();
    ctl.abort();
    await expect(queued).rejects.toBeInstanceOf(QueryAbortedError);
    expect(s.stats().queued.short).toBe(0);
    busy.open();
    await running;
    expect(never.lanes).toEqual([]);
  });

  it('sizes itself from the cores and libuv threads, leaving threads to the writer', () => {
    const small = defaultPoolOptions({ UV_THREADPOOL_SIZE: '4' });
    expect(small.shortSlots + small.longSlots).toBeLessThanOrEqual(3);
    expect(small.longSlots).toBeGreaterThanOrEqual(1);
    const big = defaultPoolOptions({ UV_THREADPOOL_SIZE: '64' });
    expect(big.shortSlots + big.longSlots).toBeGreaterThanOrEqual(small.shortSlots + small.longSlots);
    expect(() => new QueryScheduler({ ...opts, shortSlots: 0 })).toThrow(/shortSlots must be a positive integer/);
  });
});
