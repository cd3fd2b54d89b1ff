/**
 * Fault plan: injected error answers, slow answers, corrupted records and a
 * per-key rate limiter. One mechanism shared by all five simulators; each
 * provider only decides how its errors look and how a record gets corrupted.
 */

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
}

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
}

export class FaultPlan {
  private faults: ActiveFault[] = [];
  private malformedPlans: MalformedPlan[] = [];
  /** Records that were answered corrupted, in order. */
  readonly malformedLog: MalformedRecord[] = [];
  /** Per-token (or per-org/account) rate limit; null = unlimited. */
  rateLimit: RateLimitOptions | null = null;
  private limiter = new RateLimiter();

  add(spec: FaultSpec): void {
    if (!(spec.times > 0)) throw new Error('fault needs times > 0');
    this.faults.push({ ...spec, left: spec.times, skip: spec.after ?? 0 });
  }

  /** The next `n` list items or detail answers (optionally only on matching paths) get a corrupted record. */
  malformed(n: number, opts: { path?: RegExp } = {}): void {
    if (n > 0) this.malformedPlans.push({ left: n, path: opts.path });
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

  /** Whether the next record serialised on this path must be corrupted (consumes one use). */
  takeMalformed(path: string): boolean {
    for (const m of this.malformedPlans) {
      if (m.left > 0 && (!m.path || testRe(m.path, path))) {
        m.left--;
        this.malformedPlans = this.malformedPlans.filter((x) => x.left > 0);
        return true;
      }
    }
    return false;
  }

  /** Count one request against the limit for `key`. */
  checkRate(key: string): RateDecision | null {
    if (!this.rateLimit) return null;
    return this.limiter.check(key, this.rateLimit);
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
