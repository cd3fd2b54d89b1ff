import { describe, expect, it } from 'vitest';
import { Pacer, accountPacer } from '../../http/pacer.js';
import { RateLimiter, type RateLimitOptions } from '../../simulators/core/faults.js';

const headers = (h: Record<string, string>) => new Headers(h);

/**
 * Drives a pacer on a simulated clock against the simulators' rate limiter: `inFlight`
 * callers each take a slot, the request reaches the limiter at its slot and is answered
 * `latencyMs` later (2xx with X-RateLimit-Limit/-Remaining, or 429 with Retry-After, which
 * the caller waits out before its next request).
 */
function drive(rl: RateLimitOptions, ceiling: number, requests: number, inFlight = 4, latencyMs = 5) {
  let clock = 0;
  const pacer = new Pacer(ceiling, () => clock);
  const limiter = new RateLimiter();
  const free: number[] = Array(inFlight).fill(0);
  const answers: { at: number; ok: boolean; remaining: number; retryAfterMs: number }[] = [];
  let succeeded = 0;
  let limited = 0;
  let end = 0;
  while (succeeded < requests) {
    const caller = free.indexOf(Math.min(...free));
    answers.sort((a, b) => a.at - b.at);
    while (answers.length && answers[0].at <= free[caller]) {
      const a = answers.shift()!;
      clock = a.at;
      if (a.ok) pacer.ok(headers({ 'x-ratelimit-limit': String(rl.limit), 'x-ratelimit-remaining': String(a.remaining) }));
      else pacer.rateLimited(a.retryAfterMs);
    }
    clock = free[caller];
    const at = pacer.slot();
    const d = limiter.check('account', rl, at);
    const retryAfterMs = Math.ceil(d.retryAfterMs / 1000) * 1000;
    answers.push({ at: at + latencyMs, ok: d.allowed, remaining: d.remaining, retryAfterMs });
    if (d.allowed) succeeded++;
    else limited++;
    free[caller] = at + latencyMs + (d.allowed ? 0 : retryAfterMs);
    end = Math.max(end, at + latencyMs);
  }
  return { seconds: end / 1000, perSecond: requests / (end / 1000), limited };
}

describe('pacing', () => {
  it('starts below the ceiling, grows while answers are fine, and never passes the ceiling', () => {
    const p = new Pacer(40);
    expect(p.current).toBe(10);
    for (let i = 0; i < 1000; i++) p.ok();
    expect(p.current).toBe(40);
  });

  it('until the first sign of a limit, the pace doubles within a few answers', () => {
    const p = new Pacer(5000);
    expect(p.current).toBe(20);
    for (let i = 0; i < 8; i++) p.ok();
    expect(p.current).toBeGreaterThan(40);
    for (let i = 0; i < 100; i++) p.ok();
    expect(p.current).toBe(5000);
  });

  it('halves on every 429 and recovers additively', () => {
    const p = new Pacer(100);
    for (let i = 0; i < 1000; i++) p.ok();
    expect(p.current).toBe(100);
    p.rateLimited(null);
    expect(p.current).toBe(50);
    p.rateLimited(null);
    expect(p.current).toBe(25);
    // About one request per second more for each second at pace: 25 answers later, 26.
    for (let i = 0; i < 25; i++) p.ok();
    expect(p.current).toBeGreaterThan(25.9);
    expect(p.current).toBeLessThan(26.1);
  });

  it('a Retry-After pauses every request that has not gone yet', async () => {
    const p = new Pacer(1000);
    p.rateLimited(120);
    const started = Date.now();
    const waits = await Promise.all([p.take(), p.take(), p.take()]);
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(100);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });

  it('concurrent callers get distinct slots at the pace', async () => {
    const p = new Pacer(80); // starts at 20/s: slots 50 ms apart
    const waits = await Promise.all([p.take(), p.take(), p.take()]);
    const sorted = [...waits].sort((a, b) => a - b);
    expect(sorted[1] - sorted[0]).toBeGreaterThanOrEqual(45);
    expect(sorted[2] - sorted[1]).toBeGreaterThanOrEqual(45);
  });

  it("follows the provider's rate headers", () => {
    const p = new Pacer(100);
    for (let i = 0; i < 1000; i++) p.ok();
    // 20 requests left for the next 10 seconds: at most 2 a second.
    p.ok(headers({ 'x-ratelimit-limit': '600', 'x-ratelimit-remaining': '20', 'x-ratelimit-reset': '10' }));
    expect(p.current).toBeLessThanOrEqual(2);
    const q = new Pacer(100);
    for (let i = 0; i < 1000; i++) q.ok();
    // Without a reset time, a nearly spent budget slows the pace.
    q.ok(headers({ 'x-ratelimit-limit': '50', 'x-ratelimit-remaining': '2' }));
    expect(q.current).toBeLessThan(100);
  });

  it('a stated budget without a reset time: the pace settles just under a sliding window of 50/s, without a 429', () => {
    const r = drive({ limit: 50, windowMs: 1000 }, 100, 1300);
    expect(r.limited).toBe(0);
    expect(r.perSecond).toBeGreaterThan(42);
    expect(r.perSecond).toBeLessThanOrEqual(50);
    // The same under a window of a minute: the pace falls to what it refills.
    const slow = drive({ limit: 600, windowMs: 60_000 }, 100, 300);
    expect(slow.limited).toBe(0);
  });

  it('a stated budget without a reset time, counted in fixed windows that refill at once: no 429 either', () => {
    // Most of each window shows plenty left; only the low at its end tells whether the pace fits.
    const r = drive({ limit: 50, windowMs: 1000, mode: 'fixed' }, 100, 1300);
    expect(r.limited).toBe(0);
    expect(r.perSecond).toBeGreaterThan(40);
    expect(r.perSecond).toBeLessThanOrEqual(50);
    const many = drive({ limit: 200, windowMs: 1000, mode: 'fixed' }, 1000, 3000);
    expect(many.limited).toBeLessThanOrEqual(4); // the first window, before any budget was seen
    expect(many.perSecond).toBeGreaterThan(70);
  });

  it('a budget that would last many seconds lets the pace double per answer, up to the ceiling', () => {
    const r = drive({ limit: 1_000_000, windowMs: 60_000 }, 5000, 1300);
    expect(r.limited).toBe(0);
    // 1,300 requests 5 ms apart per caller, 4 callers: about 1.6 s unpaced; slow start alone takes 2.3 s.
    expect(r.seconds).toBeLessThan(1.9);
    const p = new Pacer(5000, () => 0);
    for (let i = 0; i < 8; i++) p.ok(headers({ 'x-ratelimit-limit': '1000000', 'x-ratelimit-remaining': String(999_999 - i) }));
    expect(p.current).toBe(5000);
  });

  it('sources sending the same token to the same origin share one pacer; the strictest ceiling wins', () => {
    const a = accountPacer('http://api.example:1/v1', 'tok-1', 100);
    const b = accountPacer('http://api.example:1/other', 'tok-1', 40);
    const c = accountPacer('http://api.example:1/v1', 'tok-2', 100);
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    for (let i = 0; i < 1000; i++) a.ok();
    expect(a.current).toBe(40);
  });
});
