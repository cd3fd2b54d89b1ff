import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Heartbeats } from '../../activities/heartbeats.js';

describe('Heartbeats', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('sends the first at once, then the latest progress at most once a second', () => {
    const sent: unknown[] = [];
    const beats = new Heartbeats((d) => sent.push(d));
    beats.beat({ page: 1 });
    expect(sent).toEqual([{ page: 1 }]);
    for (let page = 2; page <= 50; page++) {
      vi.advanceTimersByTime(30);
      beats.beat({ page });
    }
    // 49 calls over 1.47 s: one more heartbeat, a second after the first, with the progress of then.
    expect(sent).toEqual([{ page: 1 }, { page: 34 }]);
    vi.advanceTimersByTime(1_000);
    expect(sent).toEqual([{ page: 1 }, { page: 34 }, { page: 50 }]);
    // Nothing new: nothing sent.
    vi.advanceTimersByTime(5_000);
    expect(sent).toHaveLength(3);
  });

  it('flush sends what is pending now; after stop nothing goes out', () => {
    const sent: unknown[] = [];
    const beats = new Heartbeats((d) => sent.push(d));
    beats.beat('a');
    beats.beat('b');
    beats.flush();
    expect(sent).toEqual(['a', 'b']);
    beats.flush();
    expect(sent).toEqual(['a', 'b']);
    vi.advanceTimersByTime(100);
    beats.beat('c');
    beats.stop();
    vi.advanceTimersByTime(5_000);
    expect(sent).toEqual(['a', 'b']);
  });
});
