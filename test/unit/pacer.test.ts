import { describe, expect, it } from 'vitest';
import { Pacer, accountPacer } from '../../http/pacer.js';

const headers = (h: Record<string, string>) => new Headers(h);

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
