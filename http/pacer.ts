import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/** An answer's headers, by lower-case name (a fetch `Headers` is one). */
export interface HeaderReader {
  get(name: string): string | null;
}

/** The slowest pace a pacer falls to (requests per second). */
const MIN_RATE = 0.2;
/** At most this many answers back for the budget's low: bounded memory under a huge limit. */
const MAX_SPAN = 2000;

/**
 * Paces the requests of one provider account. The pace follows what the provider says:
 * it starts at a quarter of the ceiling (at most 20/s), grows while answers come back
 * fine (until the first sign of a limit by a tenth per answer, so it doubles every seven
 * answers, as TCP's slow start does; then by about one request per second each second),
 * halves on every 429 and pauses everyone for a `Retry-After`. The configured rate is a
 * ceiling, never exceeded.
 *
 * A provider that states its budget (`X-RateLimit-Limit` and `-Remaining`) steers the pace
 * on every answer: with `X-RateLimit-Reset`, what is left is spread over the time until the
 * reset; without it, the pace doubles while the budget left would last twenty seconds at
 * the current pace, grows in proportion to the headroom that the lowest budget of about
 * the last window keeps above a reserve (a twentieth of the limit, at least 3 requests),
 * and shrinks smoothly below it. Under a sliding window and under a fixed one that refills
 * all at once, the pace so settles just under the provider's limit without a 429
 * (test/unit/pacer.test.ts drives it against the simulators' limiter). A window much longer
 * than a second is spent in its first seconds, and a few requests draw a 429 while it refills.
 *
 * Each request reserves its slot synchronously, so concurrent callers never share a
 * slot, and a pause set by one answer holds back every request that has not gone yet.
 */
export class Pacer {
  private rate: number;
  private next = 0;
  private pausedUntil = 0;
  private limited = false;
  /** The budget left at recent answers, as [answer number, remaining]; remaining rises along the list. */
  private lows: [number, number][] = [];
  private answers = 0;

  /** `now` is the clock (ms); tests drive a simulated one. */
  constructor(
    private ceiling: number,
    private readonly now: () => number = Date.now,
  ) {
    this.rate = Math.max(MIN_RATE, Math.min(ceiling, Math.max(1, Math.min(20, ceiling / 4))));
  }

  /** The pace now (requests per second). */
  get current(): number {
    return this.rate;
  }

  /** Lowers the ceiling (several sources share an account: the strictest wins). */
  capAt(ceiling: number): void {
    this.ceiling = Math.min(this.ceiling, ceiling);
    this.rate = Math.min(this.rate, this.ceiling);
  }

  /** Reserves the next slot and returns when it is (ms on the pacer's clock). */
  slot(): number {
    const at = Math.max(this.now(), this.next, this.pausedUntil);
    this.next = at + 1000 / this.rate;
    return at;
  }

  /** Waits for this request's slot; returns how long it waited (ms). */
  async take(signal?: AbortSignal): Promise<number> {
    const now = this.now();
    const at = this.slot();
    if (at > now) await sleep(at - now, undefined, { signal });
    return at - now;
  }

  /** An answer that was not rate-limited, with the provider's rate headers if it sent them. */
  ok(headers?: HeaderReader): void {
    const limit = headers ? num(headers.get('x-ratelimit-limit')) : null;
    const remaining = headers ? num(headers.get('x-ratelimit-remaining')) : null;
    const reset = headers ? resetMs(headers.get('x-ratelimit-reset'), this.now()) : null;
    const grown = Math.min(this.ceiling, this.limited ? this.rate + 1 / this.rate : this.rate * 1.1);
    if (remaining === null) {
      this.rate = grown;
    } else if (remaining <= 0 && reset !== null) {
      this.pausedUntil = Math.max(this.pausedUntil, this.now() + reset);
      this.slowDown();
    } else if (reset !== null && reset > 0) {
      // What is left of the window, spread over the time until it resets.
      this.rate = Math.max(MIN_RATE, Math.min(grown, remaining / (reset / 1000)));
    } else if (limit !== null && limit > 0) {
      this.steer(limit, remaining);
    } else {
      this.rate = grown;
    }
  }

  /** A 429 (or an envelope's rate-limit error): halve the pace, and pause for the server's wait if it gave one. */
  rateLimited(retryAfterMs: number | null): void {
    this.slowDown();
    if (retryAfterMs !== null) this.pausedUntil = Math.max(this.pausedUntil, this.now() + retryAfterMs);
  }

  /**
   * A stated budget without a reset time: keep what is left of it near a reserve. The pace
   * grows only while the lowest budget seen over the last `limit` answers (about one window
   * at that pace) stays above the reserve: a fixed window that refills all at once shows
   * plenty left for most of the window, and only its low at the window's end says whether
   * the pace fits. Growth is scaled by the limit squared, so that over a window's worth of
   * answers the pace grows by at most e (2.7×). Below the reserve, every answer slows it.
   */
  private steer(limit: number, remaining: number): void {
    const low = this.lowest(remaining, Math.min(limit, MAX_SPAN));
    const reserve = Math.min(limit / 2, Math.max(3, limit / 20));
    let factor = 1;
    if (remaining >= 20 * this.rate) factor = 2;
    else if (remaining < reserve) factor = 1 - 0.05 * ((reserve - remaining) / reserve);
    else if (low >= reserve) factor = 1 + (low - reserve) / (limit * limit);
    this.rate = Math.max(MIN_RATE, Math.min(this.ceiling, this.rate * factor));
  }

  /** The lowest budget left over the last `span` answers (a window's worth at the limit), this one included. */
  private lowest(remaining: number, span: number): number {
    const n = ++this.answers;
    const lows = this.lows;
    while (lows.length && lows[lows.length - 1][1] >= remaining) lows.pop();
    lows.push([n, remaining]);
    while (lows[0][0] <= n - span) lows.shift();
    return lows[0][1];
  }

  private slowDown(): void {
    this.limited = true;
    this.rate = Math.max(MIN_RATE, this.rate / 2);
  }
}

const num = (v: string | null): number | null => (v === null || v.trim() === '' || !Number.isFinite(Number(v)) ? null : Number(v));

/** `X-RateLimit-Reset` is seconds until the reset, or the reset's epoch seconds: both are seen. */
function resetMs(v: string | null, now = Date.now()): number | null {
  const n = num(v);
  if (n === null) return null;
  return n > 1e9 ? Math.max(0, n * 1000 - now) : n * 1000;
}

const shared = new Map<string, Pacer>();

/**
 * The pacer of an account: sources of this process that send the same token to the same
 * origin draw from one budget. (Workers in other processes have budgets of their own.)
 */
export function accountPacer(baseUrl: string, token: string, ceiling: number): Pacer {
  const key = `${new URL(baseUrl).origin} ${createHash('sha256').update(token).digest('hex')}`;
  const p = shared.get(key);
  if (p) {
    p.capAt(ceiling);
    return p;
  }
  const fresh = new Pacer(ceiling);
  shared.set(key, fresh);
  return fresh;
}
