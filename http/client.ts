import { setTimeout as sleep } from 'node:timers/promises';
import { loggedFetch } from '../core/log.js';
import { AuthError, EnvelopeError, HttpError } from './errors.js';
import { scrubText } from '../core/redact.js';

export interface HttpStats {
  apiCalls: number;
  retries: number;
  rateLimited: number;
}

/** Checks a provider's envelope on every answer, HTTP 200 included; throws EnvelopeError/AuthError. */
export type EnvelopeCheck = (body: unknown, status: number, endpoint: string) => void;

export interface HttpClientOptions {
  baseUrl: string;
  headers: Record<string, string>;
  /** Values cut from any error text (the token). */
  secrets: string[];
  timeoutMs: number;
  maxRetries: number;
  requestsPerSecond: number;
  envelope?: EnvelopeCheck;
  /** Called while waiting out a backoff, so long waits keep the activity's heartbeat alive. */
  onWait?: (ms: number, reason: string) => void;
  /** Called before every request (a liveness signal for slow, rate-limited pages). */
  beforeRequest?: () => void;
  /** Aborts requests and waits (the activity was cancelled or timed out). */
  signal?: AbortSignal;
  /** The longest `Retry-After` waited out in place; longer ones fail the request (retried later). */
  maxRetryAfterMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  random?: () => number;
}

export type Query = Record<string, string | number | boolean | readonly (string | number)[] | undefined | null>;

/** Token bucket: smooths requests to the configured rate, bursts of up to one second's worth. */
class RateLimiter {
  private tokens: number;
  private last = Date.now();
  constructor(private readonly perSecond: number) {
    this.tokens = Math.max(1, perSecond);
  }
  async take(): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(Math.max(1, this.perSecond), this.tokens + ((now - this.last) / 1000) * this.perSecond);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - this.tokens) / this.perSecond) * 1000));
    }
  }
}

/** Seconds or an HTTP date, as RFC 9110 allows; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export function buildUrl(baseUrl: string, path: string, query: Query = {}): string {
  const url = new URL(baseUrl.replace(/\/+$/, '') + (path.startsWith('/') ? path : '/' + path));
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) for (const x of v) url.searchParams.append(k, String(x));
    else url.searchParams.set(k, String(v));
  }
  return url.toString();
}

/**
 * The one HTTP client every provider goes through: rate limit, timeout, retries with
 * exponential backoff and full jitter for 429/5xx/network errors, Retry-After honoured,
 * auth failures surfaced at once.
 */
export class HttpClient {
  readonly stats: HttpStats = { apiCalls: 0, retries: 0, rateLimited: 0 };
  private readonly limiter: RateLimiter;
  private readonly random: () => number;

  constructor(private readonly opts: HttpClientOptions) {
    this.limiter = new RateLimiter(opts.requestsPerSecond);
    this.random = opts.random ?? Math.random;
  }

  private backoff(attempt: number): number {
    const base = this.opts.baseDelayMs ?? 250;
    const cap = this.opts.maxDelayMs ?? 30_000;
    return Math.round(this.random() * Math.min(cap, base * 2 ** attempt));
  }

  /** GET a JSON document. `endpoint` names it in errors and quarantine rows (no ids, no query). */
  async getJson(path: string, query: Query = {}, endpoint = path): Promise<unknown> {
    const url = buildUrl(this.opts.baseUrl, path, query);
    for (let attempt = 0; ; attempt++) {
      this.opts.signal?.throwIfAborted();
      this.opts.beforeRequest?.();
      await this.limiter.take();
      this.stats.apiCalls++;
      let status = 0;
      let text = '';
      let retryAfter: number | null = null;
      let failure: string;
      try {
        const res = await loggedFetch(url, {
          headers: { accept: 'application/json', ...this.opts.headers },
          signal: this.opts.signal ? AbortSignal.any([AbortSignal.timeout(this.opts.timeoutMs), this.opts.signal]) : AbortSignal.timeout(this.opts.timeoutMs),
        });
        status = res.status;
        text = await res.text();
        retryAfter = parseRetryAfter(res.headers.get('retry-after'));
        if (res.ok) {
          let body: unknown;
          try {
            body = text === '' ? null : JSON.parse(text);
          } catch {
            throw new HttpError(`${endpoint}: answer is not JSON (HTTP ${status}): ${this.clean(text.slice(0, 200))}`, status, endpoint, this.clean(text.slice(0, 500)));
          }
          try {
            this.opts.envelope?.(body, status, endpoint);
            return body;
          } catch (e) {
            if (e instanceof EnvelopeError && e.retryable && attempt < this.opts.maxRetries) {
              failure = e.message;
              await this.wait(this.backoff(attempt), failure);
              this.stats.retries++;
              continue;
            }
            throw e;
          }
        }
        failure = `${endpoint}: HTTP ${status}`;
        if (status === 401 || status === 403) {
          throw new AuthError(`${endpoint}: HTTP ${status}, the token was refused (check the source's tokenEnv and its scope): ${this.clean(text.slice(0, 200))}`, status, endpoint, this.clean(text.slice(0, 500)));
        }
        const retryable = status === 429 || status === 408 || status >= 500;
        if (!retryable) {
          throw new HttpError(`${endpoint}: HTTP ${status}: ${this.clean(text.slice(0, 300))}`, status, endpoint, this.clean(text.slice(0, 500)));
        }
        if (status === 429) this.stats.rateLimited++;
      } catch (e) {
        if (e instanceof HttpError) throw e;
        if (this.opts.signal?.aborted) throw e;
        failure = `${endpoint}: ${(e as Error).name === 'TimeoutError' ? `timed out after ${this.opts.timeoutMs} ms` : (e as Error).message}`;
      }
      if (attempt >= this.opts.maxRetries) {
        throw new HttpError(`${this.clean(failure)} (gave up after ${attempt + 1} attempts)`, status, endpoint, this.clean(text.slice(0, 500)));
      }
      this.stats.retries++;
      const maxRetryAfter = this.opts.maxRetryAfterMs ?? 15 * 60_000;
      if (retryAfter !== null && retryAfter > maxRetryAfter) {
        throw new HttpError(`${this.clean(failure)}: the server asks to wait ${Math.round(retryAfter / 1000)} s (Retry-After), longer than ${Math.round(maxRetryAfter / 1000)} s`, status, endpoint, this.clean(text.slice(0, 500)));
      }
      // Retry-After is the server's word and is waited out in full; otherwise exponential backoff.
      await this.wait(retryAfter ?? this.backoff(attempt), failure);
    }
  }

  private async wait(ms: number, reason: string): Promise<void> {
    this.opts.onWait?.(ms, reason);
    // Wait in slices so a heartbeat goes out at least every few seconds.
    let left = ms;
    while (left > 0) {
      const slice = Math.min(left, 5_000);
      await sleep(slice, undefined, { signal: this.opts.signal });
      left -= slice;
      if (left > 0) this.opts.onWait?.(left, reason);
    }
  }

  private clean(text: string): string {
    return scrubText(text, this.opts.secrets);
  }
}
