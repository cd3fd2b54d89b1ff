import { setTimeout as sleep } from 'node:timers/promises';
import { AuthError, EnvelopeError, HttpError, kindOfStatus } from './errors.js';
import type { IncomingHttpHeaders } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import { setMaxListeners } from 'node:events';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { Agent, request, type Dispatcher } from 'undici';
import type { HeaderReader, Pacer } from './pacer.js';
import { scrubText } from '../core/redact.js';
import { hostOf, metrics } from '../core/metrics.js';

export interface HttpStats {
  apiCalls: number;
  retries: number;
  rateLimited: number;
  /** Time spent waiting for the pace or a server's Retry-After (ms). */
  waitedMs: number;
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
  /** Paces requests (shared by the sources of one account); its ceiling is the source's rateLimit. */
  pacer: Pacer;
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
  /** Largest answer read; a larger one is refused with an error naming the endpoint. */
  maxResponseBytes?: number;
  /** Called after every attempt (the debug log). */
  onAttempt?: (info: AttemptInfo) => void;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** One keep-alive connection pool for every source, through undici's own request API (a fraction of fetch's cost per request). */
const dispatcher = new Agent({ keepAliveTimeout: 10_000 });
/** Answers may come compressed, as fetch allowed; the size limit applies to what they unpack to (`readCapped`). */
const ACCEPT = { accept: 'application/json', 'accept-encoding': 'gzip, deflate, br' };

/** Drops an answer's body (undici reports a destroyed body as an error event, which nobody waits for here). */
function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

function unpacked(body: Readable, encoding: string | null, endpoint: string, status: number): AsyncIterable<Buffer> {
  const coding = (encoding ?? '').trim().toLowerCase();
  if (coding === '' || coding === 'identity') return body;
  const unzip = coding === 'gzip' || coding === 'x-gzip' ? createGunzip() : coding === 'deflate' ? createInflate() : coding === 'br' ? createBrotliDecompress() : null;
  if (!unzip) {
    discard(body);
    throw new HttpError(`${endpoint}: answer in content-encoding "${coding.slice(0, 40)}", which was not asked for (gzip, deflate, br)`, status, endpoint, 'permanent');
  }
  // A body cut off or not in the encoding ends the iteration with an error (retried).
  return pipeline(body, unzip, () => undefined);
}

/** An answer's headers (undici gives a plain object, lower-case names, repeated ones as arrays). */
function headerReader(raw: IncomingHttpHeaders): HeaderReader {
  return {
    get: (name) => {
      const v = raw[name];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    },
  };
}

/** Reads a body as text, refusing it once it passes `max` bytes (before holding it all in memory). */
async function readCapped(body: Dispatcher.ResponseData['body'], headers: HeaderReader, status: number, max: number, endpoint: string): Promise<string> {
  const declared = Number(headers.get('content-length'));
  const tooLarge = (n: number) => new HttpError(`${endpoint}: answer of ${n} bytes or more is larger than the ${max}-byte limit (maxResponseBytes)`, status, endpoint, 'permanent');
  if (Number.isFinite(declared) && declared > max) {
    discard(body);
    throw tooLarge(declared);
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of unpacked(body, headers.get('content-encoding'), endpoint, status)) {
    bytes += chunk.byteLength;
    if (bytes > max) {
      discard(body);
      throw tooLarge(bytes);
    }
    chunks.push(chunk);
  }
  const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, bytes)).toString('utf8');
  // A byte-order mark is not JSON; fetch's decoder dropped it too.
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export type Query = Record<string, string | number | boolean | readonly (string | number)[] | undefined | null>;

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

/** What one attempt of a request came to; `onAttempt` hands it to the debug log. */
export interface AttemptInfo {
  endpoint: string;
  attempt: number;
  status: number;
  ms: number;
  bytes: number;
  /** Why the attempt failed, when it did. */
  failure?: string;
}

/** Redirects followed within one origin before giving up (a loop). */
const MAX_REDIRECTS = 5;

/**
 * The one HTTP client every provider goes through: rate limit, timeout, bounded answers,
 * retries with exponential backoff and full jitter for everything that may pass (429,
 * 5xx, resets, timeouts, cut-off or unreadable 2xx bodies), Retry-After honoured, auth
 * failures surfaced at once, redirects to another origin refused.
 */
export class HttpClient {
  readonly stats: HttpStats = { apiCalls: 0, retries: 0, rateLimited: 0, waitedMs: 0 };
  private readonly random: () => number;
  /** The same on every request: built once (the provider's auth, and what runsync accepts). */
  private readonly headers: Record<string, string>;
  /** The host's series of each counter, looked up once (a label lookup parses and hashes). */
  private readonly counters: { requests: { inc(): void }; rateLimited: { inc(): void }; retryWait: { inc(n: number): void } };

  constructor(private readonly opts: HttpClientOptions) {
    this.random = opts.random ?? Math.random;
    this.headers = { ...ACCEPT, ...opts.headers };
    const host = { host: hostOf(opts.baseUrl) };
    this.counters = { requests: metrics.apiRequests.labels(host), rateLimited: metrics.apiRateLimited.labels(host), retryWait: metrics.retryWait.labels(host) };
    // Each request in flight listens to it (pace, backoff, the request): no leak, however many.
    if (opts.signal) setMaxListeners(0, opts.signal);
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
      this.stats.waitedMs += await this.opts.pacer.take(this.opts.signal);
      this.stats.apiCalls++;
      this.counters.requests.inc();
      const began = Date.now();
      const answer = await this.attempt(url, endpoint);
      this.opts.onAttempt?.({ endpoint, attempt, status: answer.status, ms: Date.now() - began, bytes: answer.bytes, failure: answer.ok ? undefined : answer.error.message });
      if (answer.ok) {
        this.opts.pacer.ok(answer.headers);
        return answer.body;
      }
      const e = answer.error;
      if (answer.status === 429 || (e instanceof EnvelopeError && e.rateLimited)) this.opts.pacer.rateLimited(answer.retryAfter);
      else if (answer.status > 0) this.opts.pacer.ok();
      if (e.kind !== 'transient' || attempt >= this.opts.maxRetries) {
        if (e.kind !== 'transient') throw e;
        throw new HttpError(`${e.message} (gave up after ${attempt + 1} attempts)`, e.status, endpoint, 'transient', e.body);
      }
      if (answer.status === 429) {
        this.stats.rateLimited++;
        this.counters.rateLimited.inc();
      }
      this.stats.retries++;
      const maxRetryAfter = this.opts.maxRetryAfterMs ?? 15 * 60_000;
      if (answer.retryAfter !== null && answer.retryAfter > maxRetryAfter) {
        throw new HttpError(`${e.message}: the server asks to wait ${Math.round(answer.retryAfter / 1000)} s (Retry-After), longer than ${Math.round(maxRetryAfter / 1000)} s`, e.status, endpoint, 'transient', e.body);
      }
      // Retry-After is the server's word and is waited out in full; otherwise exponential backoff.
      const pause = answer.retryAfter ?? this.backoff(attempt);
      this.stats.waitedMs += pause;
      await this.wait(pause, e.message);
    }
  }

  /** One request, redirects within the origin included; every failure comes back classified. */
  private async attempt(url: string, endpoint: string): Promise<{ ok: true; body: unknown; status: number; bytes: number; headers: HeaderReader } | { ok: false; error: HttpError; status: number; bytes: number; retryAfter: number | null }> {
    const fail = (message: string, status: number, kind: HttpError['kind'], text = '', retryAfter: number | null = null) => ({
      ok: false as const,
      error: kind === 'auth' ? new AuthError(this.clean(message), status, endpoint, this.clean(text.slice(0, 500))) : new HttpError(this.clean(message), status, endpoint, kind, this.clean(text.slice(0, 500))),
      status,
      bytes: text.length,
      retryAfter,
    });
    // One controller per attempt, for the timeout and the caller's signal (cheaper per request
    // than AbortSignal.timeout with AbortSignal.any, and the timer goes with the attempt).
    const controller = new AbortController();
    const signal = controller.signal;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new DOMException(`timed out after ${this.opts.timeoutMs} ms`, 'TimeoutError'));
    }, this.opts.timeoutMs);
    const outer = this.opts.signal;
    const onOuterAbort = () => controller.abort(outer?.reason);
    if (outer?.aborted) onOuterAbort();
    else outer?.addEventListener('abort', onOuterAbort, { once: true });
    let status = 0;
    let text = '';
    try {
      let res: Dispatcher.ResponseData;
      let headers: HeaderReader;
      let at = url;
      for (let hops = 0; ; hops++) {
        res = await request(at, { method: 'GET', headers: this.headers, signal, dispatcher });
        headers = headerReader(res.headers);
        if (res.statusCode < 300 || res.statusCode >= 400 || res.statusCode === 304) break;
        const location = headers.get('location');
        if (!location) break; // an answer like any other
        discard(res.body);
        const next = new URL(location, at);
        const from = new URL(at).origin;
        if (next.origin !== from) return fail(`${endpoint}: HTTP ${res.statusCode} redirect from ${from} to ${next.origin} refused: a source's data comes from its own origin only`, res.statusCode, 'permanent');
        if (hops >= MAX_REDIRECTS) return fail(`${endpoint}: more than ${MAX_REDIRECTS} redirects`, res.statusCode, 'permanent');
        at = next.toString();
      }
      status = res.statusCode;
      text = await readCapped(res.body, headers, status, this.opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES, endpoint);
      const retryAfter = parseRetryAfter(headers.get('retry-after'));
      if (status >= 200 && status < 300) {
        let body: unknown;
        try {
          body = text === '' ? null : JSON.parse(text);
        } catch {
          // A 2xx that is not JSON is a cut-off body or a proxy's page: it may pass next time.
          return fail(`${endpoint}: answer is not JSON (HTTP ${status}, ${text.length} bytes, cut off or not JSON): ${text.slice(0, 200)}`, status, 'transient', text, retryAfter);
        }
        try {
          this.opts.envelope?.(body, status, endpoint);
        } catch (e) {
          if (e instanceof HttpError) return { ok: false, error: e, status, bytes: text.length, retryAfter };
          throw e;
        }
        return { ok: true, body, status, bytes: text.length, headers };
      }
      const kind = kindOfStatus(status);
      if (kind === 'auth') return fail(`${endpoint}: HTTP ${status}, the token was refused (check the source's tokenEnv and its scope): ${text.slice(0, 200)}`, status, kind, text);
      return fail(`${endpoint}: HTTP ${status}: ${text.slice(0, 300)}`, status, kind, text, retryAfter);
    } catch (e) {
      if (this.opts.signal?.aborted) throw e;
      if (e instanceof HttpError) return { ok: false, error: e, status, bytes: text.length, retryAfter: null };
      const err = e as Error;
      const why = timedOut || err.name === 'TimeoutError' ? `timed out after ${this.opts.timeoutMs} ms` : `${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}`;
      return fail(`${endpoint}: ${status ? `HTTP ${status}, body cut off: ` : ''}${why}`, status, 'transient', text);
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    }
  }

  private async wait(ms: number, reason: string): Promise<void> {
    this.opts.onWait?.(ms, reason);
    this.counters.retryWait.inc(ms / 1000);
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
