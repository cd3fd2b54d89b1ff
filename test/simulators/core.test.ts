import { afterEach, describe, expect, it } from 'vitest';
import { PROVIDERS, startAllSimulators, startSimulator, type AllSimulators, type Simulator } from '../../simulators/index.js';
import { Rng } from '../../simulators/core/rng.js';
import { parseRfc3339Ns, rfc3339Nano, isoPython } from '../../simulators/core/time.js';
import { RateLimiter } from '../../simulators/core/faults.js';
import { get } from './http.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

describe('simulator core', () => {
  it('seeded rng repeats and makes valid v4 uuids', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(new Rng(42).uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('formats and parses timestamps at ns precision', () => {
    const ms = Date.parse('2026-11-15T10:00:00.123Z');
    expect(rfc3339Nano(ms, 456789)).toBe('2026-11-15T10:00:00.123456789Z');
    expect(parseRfc3339Ns('2026-11-15T10:00:00.123456789Z')).toBe(BigInt(ms) * 1_000_000n + 456789n);
    expect(parseRfc3339Ns('2026-11-15T12:00:00.1+02:00')).toBe(BigInt(Date.parse('2026-11-15T10:00:00.100Z')) * 1_000_000n);
    expect(parseRfc3339Ns('yesterday')).toBeNull();
    expect(isoPython(ms)).toBe('2026-11-15T10:00:00.123000+00:00');
    expect(isoPython(Date.parse('2026-11-15T10:00:00Z'))).toBe('2026-11-15T10:00:00+00:00');
  });

  it('sliding and fixed rate windows', () => {
    const rl = new RateLimiter();
    const o = { limit: 2, windowMs: 1000 };
    expect(rl.check('k', o, 0).allowed).toBe(true);
    expect(rl.check('k', o, 500).allowed).toBe(true);
    const no = rl.check('k', o, 900);
    expect(no.allowed).toBe(false);
    expect(no.retryAfterMs).toBe(100);
    expect(rl.check('k', o, 1001).allowed).toBe(true);
    expect(rl.check('other', o, 1001).allowed).toBe(true);
    const f = new RateLimiter();
    const fo = { ...o, mode: 'fixed' as const };
    f.check('k', fo, 10);
    f.check('k', fo, 20);
    expect(f.check('k', fo, 990).allowed).toBe(false);
    expect(f.check('k', fo, 1000).allowed).toBe(true);
  });

  it('startSimulator starts each provider; every one logs requests and closes', async () => {
    for (const p of PROVIDERS) {
      const s: Simulator = await startSimulator(p, { initialRuns: 5 });
      open.push(s);
      expect(s.provider).toBe(p);
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
      const r = await get(`${s.url}/nowhere?a=1&a=2`, s.token);
      expect(r.status).toBeGreaterThanOrEqual(200);
      expect(s.requests.at(-1)).toMatchObject({ method: 'GET', query: { a: ['1', '2'] }, at: s.clock.now() });
      s.clearRequests();
      expect(s.requests).toEqual([]);
    }
  });

  it('startAllSimulators: five servers, one advance; autoAdvance moves the clock on a timer', async () => {
    const all: AllSimulators = await startAllSimulators({ initialRuns: 3, autoAdvance: { speed: 3600, tickMs: 20 } });
    open.push(all);
    expect(all.list.map((s) => s.provider).sort()).toEqual([...PROVIDERS].sort());
    const t0 = all.strait.clock.now();
    await new Promise((r) => setTimeout(r, 120));
    expect(all.strait.clock.now()).toBeGreaterThan(t0);
    const t1 = all.dx.clock.now();
    all.advance(60_000);
    expect(all.dx.clock.now()).toBeGreaterThanOrEqual(t1 + 60_000);
    await all.close();
    const stopped = all.b3os.clock.now();
    await new Promise((r) => setTimeout(r, 60));
    expect(all.b3os.clock.now()).toBe(stopped);
    open.pop();
  });
});
