import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/** An answer's headers, by lower-case name (a fetch `Headers` is one). */
export interface HeaderReader {
  get(name: string): string | null;
}

/** The slowest pace a pacer falls to (requests per second). */
const MIN_RATE = 0.2;

/**
 * Paces the requests of one provider account. The pace follows what the provider says:
 * it starts at a quarter of the ceiling (at most 20/s), grows while answers come back
 * fine (until the first sign of a limit by a tenth per answer, so it doubles every seven
 * answers, as TCP's slow start does; then by about one request per second each second),
 * halves on every 429, pauses everyone for a `Retry-After`, and slows when
 * `X-RateLimit-Remaining` runs low. The configured rate is a ceiling, never exceeded.
 *
 * Each request reserves its slot synchronously, so concurrent callers never share a
 * slot, and a pause set by one answer holds back every request that has not gone yet.
 */
export class Pacer {
  private rate: number;
  private next = 0;
  private pausedUntil = 0;
  private limited = false;

  constructor(private ceiling: number) {
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

  /** Waits for this request's slot; returns how long it waited (ms). */
  async take(signal?: AbortSignal): Promise<number> {
    const now = Date.now();
    const at = Math.max(now, this.next, this.pausedUntil);
    this.next = at + 1000 / this.rate;
    if (at > now) await sleep(at - now, undefined, { signal });
    return at - now;
  }

  /** An answer that was not rate-limited, with the provider's rate headers if it sent them. */
  ok(headers?: HeaderReader): void {
    this.rate = Math.min(this.ceiling, (this.limited ? this.rate + 1 / this.rate : this.rate * 1.1));
    if (!headers) return;
    const limit = num(headers.get('x-ratelimit-limit'));
    const remaining = num(headers.get('x-ratelimit-remaining'));
    const reset = resetMs(headers.get('x-ratelimit-reset'));
    if (remaining === null) return;
    if (remaining <= 0 && reset !== null) {
      this.pausedUntil = Math.max(this.pausedUntil, Date.now() + reset);
      this.slowDown();
    } else if (reset !== null && reset > 0) {
      // What is left of the window, spread over the time until it resets.
      this.rate = Math.max(MIN_RATE, Math.min(this.rate, remaining / (reset / 1000)));
    } else if (limit !== null && limit > 0 && remaining < limit * 0.1) {
      this.slowDown();
    }
  }

  /** A 429 (or an envelope's rate-limit error): halve the pace, and pause for the server's wait if it gave one. */
  rateLimited(retryAfterMs: number | null): void {
    this.slowDown();
    if (retryAfterMs !== null) this.pausedUntil = Math.max(this.pausedUntil, Date.now() + retryAfterMs);
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
