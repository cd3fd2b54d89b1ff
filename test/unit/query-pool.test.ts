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
  it('runs up to the slots of each lane, queues the next ones first come first served, and refuses past the queue at once', async () => {
    const s = new QueryScheduler(opts);
    const g = [gate(), gate(), gate(), gate(), gate()];
    const runs = g.map((x, i) => s.run(`shape${i}`, undefined, x.work));
    const fifth = runs[4].catch((e: Error) => e);
    await tick();
    // The idle long lane takes the first; the short lane the second; two wait; the fifth is refused.
    expect(s.stats()).toMatchObject({ running: { short: 1, long: 1 }, queued: { short: 2, long: 0 } });
    const refused = await fifth;
    expect(refused).toBeInstanceOf(ServerBusyError);
    expect(refused).toMatchObject({ lane: 'short', retryAfterSeconds: 1 });
    g[2].open();
    g[1].open();
    await runs[1];
    await tick();
    expect(g[2].lanes).toEqual(['short']);
    g[3].open();
    g[0].open();
    expect(await Promise.all(runs.slice(0, 4))).toEqual(['long', 'short', 'short', 'short']);
    expect(s.stats()).toMatchObject({ running: { short: 0, long: 0 }, queued: { short: 0, long: 0 } });
  });

  it('sends a query that outgrew the short lane to the long one, and its shape straight there afterwards', async () => {
    const s = new QueryScheduler(opts);
    const hold = gate();
    const held = s.run('hold', undefined, hold.work);
    const lanes: Lane[] = [];
    const slow = (lane: Lane) => {
      lanes.push(lane);
      return lane === 'short' ? Promise.reject(new OutgrewShortLaneError()) : Promise.resolve('done');
    };
    const first = s.run('slow', undefined, slow);
    await tick();
    expect(lanes).toEqual(['short']);
    expect(s.stats().queued.long).toBe(1);
    hold.open();
    expect(await held).toBe('long');
    expect(await first).toBe('done');
    expect(lanes).toEqual(['short', 'long']);
    expect(s.isSlowShape('slow')).toBe(true);
    expect(s.isSlowShape('other')).toBe(false);
    const hold2 = gate();
    const held2 = s.run('hold', undefined, hold2.work);
    const second = s.run('slow', undefined, slow);
    await tick();
    // Known slow: it waits for the long lane rather than trying the short one.
    expect(lanes).toEqual(['short', 'long']);
    hold2.open();
    await held2;
    expect(await second).toBe('done');
    expect(lanes).toEqual(['short', 'long', 'long']);
  });

  it('moves queued queries of a shape found slow to the long lane, refusing those past its queue', async () => {
    const s = new QueryScheduler({ ...opts, shortQueue: 10 });
    const hold = gate();
    const held = s.run('hold', undefined, hold.work);
    const first = gate();
    const outgrow = s
      .run('s', undefined, async (lane) => {
        await first.work(lane);
        if (lane === 'short') throw new OutgrewShortLaneError();
        return lane;
      })
      .catch((e: Error) => e);
    const later = [gate(), gate(), gate(), gate()];
    const queued = later.map((g) => s.run('s', undefined, g.work).catch((e: Error) => e));
    const fast = gate();
    const other = s.run('fast', undefined, fast.work);
    await tick();
    expect(s.stats().queued.short).toBe(5);
    first.open();
    await tick();
    await tick();
    // Two fit the long queue; the other two, and the one that outgrew the lane, are refused at once.
    const refused = (await Promise.race([Promise.all([...queued.slice(2), outgrow]), new Promise((r) => setTimeout(r, 50, null))])) as Error[] | null;
    expect(refused?.map((e) => e instanceof ServerBusyError && e.lane)).toEqual(['long', 'long', 'long']);
    expect(s.stats()).toMatchObject({ running: { short: 1, long: 1 }, queued: { short: 0, long: 2 } });
    expect(fast.lanes).toEqual(['short']);
    fast.open();
    hold.open();
    for (const g of later) g.open();
    expect(await held).toBe('long');
    expect(await other).toBe('short');
    expect(await Promise.all(queued.slice(0, 2))).toEqual(['long', 'long']);
  });

  it('drops a queued query whose client left, without running it', async () => {
    const s = new QueryScheduler(opts);
    const busy = [gate(), gate()];
    const running = busy.map((g, i) => s.run(`busy${i}`, undefined, g.work));
    const ctl = new AbortController();
    const never = gate();
    const queued = s.run('b', ctl.signal, never.work);
    await tick();
    expect(s.stats().queued.short).toBe(1);
    ctl.abort();
    await expect(queued).rejects.toBeInstanceOf(QueryAbortedError);
    expect(s.stats().queued.short).toBe(0);
    for (const g of busy) g.open();
    await Promise.all(running);
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
