/**
 * Fault plan: injected error answers, slow answers, corrupted records and a
 * per-key rate limiter. One mechanism shared by all five simulators; each
 * provider only decides how its errors look and how a record gets corrupted.
 */

import { Rng, deriveSeed } from './rng.js';

export interface FaultSpec {
  /** Matched against the raw request path (no query string). Absent: every path. */
  path?: RegExp;
  /** HTTP status to answer (429, 500, 502, 503 are the usual ones). Absent: only delay, then answer normally. */
  status?: number;
  /** Adds a `Retry-After: <seconds>` header to the injected answer. */
  retryAfterSeconds?: number;
  /** How many matching requests this fault hits. */
  times: number;
  /** Matching requests to let through before the fault starts (e.g. fail only the second page). */
  after?: number;
  /** Real milliseconds to wait before answering (slow upstream). */
  delayMs?: number;
  /** Raw body to send instead of the provider's own error JSON. */
  body?: string;
  /** Content type for `body` (default application/json when body parses as JSON, else text/plain). */
  contentType?: string;
  /** Extra headers on the injected answer (e.g. `location` for a redirect). */
  headers?: Record<string, string>;
  /**
   * The route's own 2xx answer, cut off at a random point: `close` promises the full
   * Content-Length and drops the connection mid-body; `clean` is a complete HTTP answer
   * whose JSON simply stops (a proxy that gave up).
   */
  cut?: 'close' | 'clean';
  /** Send the headers and part of the route's answer, then go silent this long and drop the connection. */
  stallMs?: number;
  /** Replace the route's JSON answer with this text (built as text: hostile shapes JSON.stringify cannot make). */
  rewrite?: (body: unknown) => string;
  /** Answer 200 with a JSON document of this many bytes, streamed (an oversized answer). */
  bodyBytes?: number;
  /** Answer `status` (default 301) with `Location` = this origin + the request's path and query. */
  redirectTo?: string;
}

/** The kinds of fault the random matrix draws from. */
export const RANDOM_FAULT_KINDS = ['500', '502', '503', '429', '429-retry-after', 'cut-close', 'cut-clean', 'stall'] as const;
export type RandomFaultKind = (typeof RANDOM_FAULT_KINDS)[number];

export interface RandomFaultOptions {
  /** Share of matching requests that get a fault (0..1). */
  rate: number;
  /** Seed of the draw (same seed and same request order ⇒ same faults). */
  seed: number;
  kinds?: readonly RandomFaultKind[];
  path?: RegExp;
  /** How long a `stall` goes silent (real ms); set it past the client's timeout. */
  stallMs?: number;
}

/** What a reverse proxy in front of the API answers when the upstream is down. */
export const NGINX_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n';

export interface RateLimitOptions {
  limit: number;
  windowMs: number;
  /** Sliding window (default) or fixed window, on real wall time. */
  mode?: 'sliding' | 'fixed';
}

export interface MalformedRecord {
  path: string;
  /** Identifier of the record before corruption (provider's id), for tests. */
  id: string;
  how: string;
}

interface ActiveFault extends FaultSpec {
  left: number;
  skip: number;
}

interface MalformedPlan {
  left: number;
  path?: RegExp;
  corrupt?: (copy: Record<string, unknown>) => string;
}

/** Corrupts a record copy in place and says how. */
export type Corrupter = (copy: Record<string, unknown>) => string;

export class FaultPlan {
  private faults: ActiveFault[] = [];
  private malformedPlans: MalformedPlan[] = [];
  /** Records that were answered corrupted, in order. */
  readonly malformedLog: MalformedRecord[] = [];
  /** Per-token (or per-org/account) rate limit; null = unlimited. */
  rateLimit: RateLimitOptions | null = null;
  private limiter = new RateLimiter();
  private randomPlan: (RandomFaultOptions & { rng: Rng }) | null = null;
  private cutRng = new Rng(deriveSeed(1, 'cut-points'));
  /** Faults injected so far, by kind (random ones by their kind, planned ones by status or shape). */
  readonly injected: Record<string, number> = {};

  add(spec: FaultSpec): void {
    if (!(spec.times > 0)) throw new Error('fault needs times > 0');
    this.faults.push({ ...spec, left: spec.times, skip: spec.after ?? 0 });
  }

  /** The next `n` list items or detail answers (optionally only on matching paths) get a corrupted record. */
  malformed(n: number, opts: { path?: RegExp; corrupt?: Corrupter } = {}): void {
    if (n > 0) this.malformedPlans.push({ left: n, path: opts.path, corrupt: opts.corrupt });
  }

  /** From now on a share of requests (drawn from a seeded stream) gets one of `kinds`; null stops it. */
  random(opts: RandomFaultOptions | null): void {
    this.randomPlan = opts ? { ...opts, rng: new Rng(deriveSeed(opts.seed, 'faults')) } : null;
  }

  /** Where to cut a body of `len` bytes: never at 0 (that is an empty answer) nor at the end. */
  cutPoint(len: number): number {
    return len <= 2 ? 1 : this.cutRng.int(1, len - 1);
  }

  /** Total faults injected so far. */
  injectedTotal(): number {
    return Object.values(this.injected).reduce((a, b) => a + b, 0);
  }

  /** Count one injected fault (called by the server when it answers with one). */
  count(kind: string): void {
    this.injected[kind] = (this.injected[kind] ?? 0) + 1;
  }

  /** A random fault for this request, or null (consumes one draw per matching request). */
  drawRandom(path: string): { kind: RandomFaultKind; spec: FaultSpec } | null {
    const p = this.randomPlan;
    if (!p || (p.path && !testRe(p.path, path))) return null;
    const kinds = p.kinds ?? RANDOM_FAULT_KINDS;
    if (kinds.length === 0 || !(p.rng.next() < p.rate)) return null;
    const kind = kinds[Math.floor(p.rng.next() * kinds.length)];
    return { kind, spec: randomSpec(kind, p.stallMs ?? 3_000) };
  }

  setRateLimit(rl: RateLimitOptions | null): void {
    this.rateLimit = rl;
    this.limiter = new RateLimiter();
  }

  /** Faults and malformed records still waiting to fire. */
  pending(): { faults: number; malformed: number } {
    return {
      faults: this.faults.reduce((a, f) => a + f.left, 0),
      malformed: this.malformedPlans.reduce((a, m) => a + m.left, 0),
    };
  }

  clear(): void {
    this.faults = [];
    this.randomPlan = null;
    this.malformedPlans = [];
    this.malformedLog.length = 0;
    this.limiter = new RateLimiter();
  }

  /** Take the first fault that matches this path (consumes one use). */
  take(path: string): FaultSpec | null {
    for (const f of this.faults) {
      if (f.left > 0 && (!f.path || testRe(f.path, path))) {
        if (f.skip > 0) {
          f.skip--;
          continue;
        }
        f.left--;
        this.faults = this.faults.filter((x) => x.left > 0);
        return f;
      }
    }
    return null;
  }

  /**
   * Whether the next record serialised on this path must be corrupted (consumes one use):
   * null when not, else the plan's own corrupter (undefined: the provider's default).
   */
  takeMalformed(path: string): { corrupt?: Corrupter } | null {
    for (const m of this.malformedPlans) {
      if (m.left > 0 && (!m.path || testRe(m.path, path))) {
        m.left--;
        this.malformedPlans = this.malformedPlans.filter((x) => x.left > 0);
        return { corrupt: m.corrupt };
      }
    }
    return null;
  }

  /** Count one request against the limit for `key`. */
  checkRate(key: string): RateDecision | null {
    if (!this.rateLimit) return null;
    return this.limiter.check(key, this.rateLimit);
  }
}

function randomSpec(kind: RandomFaultKind, stallMs: number): FaultSpec {
  switch (kind) {
    case '500':
      return { status: 500, times: 1 };
    case '502':
      return { status: 502, body: NGINX_502, contentType: 'text/html', times: 1 };
    case '503':
      return { status: 503, times: 1 };
    case '429':
      return { status: 429, times: 1 };
    case '429-retry-after':
      return { status: 429, retryAfterSeconds: 1, times: 1 };
    case 'cut-close':
      return { cut: 'close', times: 1 };
    case 'cut-clean':
      return { cut: 'clean', times: 1 };
    case 'stall':
      return { stallMs, times: 1 };
  }
}

function testRe(re: RegExp, s: string): boolean {
  re.lastIndex = 0; // a /g regex keeps state between test() calls
  return re.test(s);
}

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Real ms until a request would be allowed again (0 when allowed). */
  retryAfterMs: number;
}

/** Per-key limiter on real wall time (the only place wall time is used, besides autoAdvance). */
export class RateLimiter {
  private hits = new Map<string, { t: number[]; head: number }>();
  private fixed = new Map<string, { windowStart: number; count: number }>();

  check(key: string, rl: RateLimitOptions, now: number = performance.now()): RateDecision {
    if (rl.mode === 'fixed') {
      const windowStart = Math.floor(now / rl.windowMs) * rl.windowMs;
      let w = this.fixed.get(key);
      if (!w || w.windowStart !== windowStart) {
        w = { windowStart, count: 0 };
        this.fixed.set(key, w);
      }
      if (w.count >= rl.limit) {
        return { allowed: false, limit: rl.limit, remaining: 0, retryAfterMs: windowStart + rl.windowMs - now };
      }
      w.count++;
      return { allowed: true, limit: rl.limit, remaining: rl.limit - w.count, retryAfterMs: 0 };
    }
    // hits are in time order: drop expired ones from the head (amortised O(1) per request)
    let h = this.hits.get(key);
    if (!h) {
      h = { t: [], head: 0 };
      this.hits.set(key, h);
    }
    while (h.head < h.t.length && h.t[h.head] <= now - rl.windowMs) h.head++;
    if (h.head > 1024 && h.head * 2 > h.t.length) {
      h.t = h.t.slice(h.head);
      h.head = 0;
    }
    const count = h.t.length - h.head;
    if (count >= rl.limit) {
      return { allowed: false, limit: rl.limit, remaining: 0, retryAfterMs: h.t[h.head] + rl.windowMs - now };
    }
    h.t.push(now);
    return { allowed: true, limit: rl.limit, remaining: rl.limit - count - 1, retryAfterMs: 0 };
  }
}

/**
 * A record a connector's schema must reject, alternating between the two usual ways: its
 * key field removed, or `field` given `wrong` (a value of the wrong type); `how` says which.
 */
export function alternatingCorruption(key: string, field: string, wrong: unknown, how: string): (copy: Record<string, unknown>, nth: number) => string {
  return (r, nth) => {
    if (nth % 2 === 0) {
      delete r[key];
      return `${key} removed`;
    }
    r[field] = wrong;
    return how;
  };
}
