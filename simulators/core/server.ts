/**
 * Minimal HTTP server shared by the simulators: routing table, bearer auth,
 * fault plan, rate limit, request log. Providers plug in their error style.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from './clock.js';
import type { FaultPlan, FaultSpec, RateDecision } from './faults.js';
import { matchRoute } from '../../core/route.js';

export type QueryValue = string | string[];

export interface RequestLogEntry {
  /** Simulated time (ms epoch) when the answer was sent. */
  at: number;
  method: string;
  /** Raw path as sent, without the query string. */
  path: string;
  query: Record<string, QueryValue>;
  status: number;
  /** The fault this answer carried, if any (`500`, `cut-close`, `stall`, `redirect`…). */
  fault?: string;
}

export interface HttpReply {
  status: number;
  /** Serialised as JSON. */
  json?: unknown;
  /** Sent as is (text/plain unless a content-type header is given). */
  text?: string;
  headers?: Record<string, string>;
}

export interface RequestCtx {
  method: string;
  /** Raw path (percent-encoding kept). */
  path: string;
  query: Record<string, QueryValue>;
  headers: http.IncomingHttpHeaders;
  /** Bearer token, or null when the Authorization header is missing or not Bearer. */
  token: string | null;
  /** Path parameters, percent-decoded. */
  params: Record<string, string>;
  /** First value of a query parameter. */
  q(name: string): string | undefined;
  /** All values of a (repeatable) query parameter. */
  qAll(name: string): string[];
  /**
   * Corrupt `record` with `corrupt` if the fault plan asks for a malformed record now;
   * `nth` counts the records corrupted so far, so a corruption can alternate.
   */
  maybeCorrupt<T>(record: T, id: string, corrupt: (copy: Record<string, unknown>, nth: number) => string): T;
}

export interface RouteDef {
  method: string;
  /** Pattern like `/v1/workflow-runs/:id/steps`; `:name` matches one raw segment. */
  path: string;
  handler: (ctx: RequestCtx) => HttpReply | Promise<HttpReply>;
}

/** How a provider's answers look; everything the shared server cannot know. */
export interface ProviderStyle {
  /** Return an error reply when the request is not authenticated, else null. */
  auth(ctx: RequestCtx): HttpReply | null;
  /** The provider's error answer for a status (used for 404s and injected faults). */
  error(status: number, message: string, ctx: RequestCtx | null): HttpReply;
  /** Over the rate limit. */
  rateLimited(d: RateDecision, ctx: RequestCtx): HttpReply;
  /** Key the rate limit is counted on (default: the token). */
  rateKey?(ctx: RequestCtx): string;
  /** Headers to add to every answer given a rate decision (e.g. X-RateLimit-*). */
  rateHeaders?(d: RateDecision): Record<string, string>;
}

export interface ServerOptions {
  port?: number;
  routes: RouteDef[];
  style: ProviderStyle;
  clock: Clock;
  faults: FaultPlan;
  log: RequestLogEntry[];
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

function parseQuery(sp: URLSearchParams): Record<string, QueryValue> {
  const out: Record<string, QueryValue> = {};
  for (const [k, v] of sp) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
}

/** A path parameter: percent-decoded, never empty; a malformed one matches no route. */
function decodeSegment(segment: string): string | null {
  if (segment === '') return null;
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { routes, style, clock, faults, log } = opts;
  const sockets = new Set<import('node:net').Socket>();

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`simulator error: ${(err as Error).message}`);
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim.local');
    const rawPath = (req.url ?? '/').split('?')[0];
    const query = parseQuery(url.searchParams);
    const method = (req.method ?? 'GET').toUpperCase();
    const authz = req.headers['authorization'];
    const m = typeof authz === 'string' ? /^Bearer\s+(.+)$/i.exec(authz.trim()) : null;
    // drain any request body; the simulated APIs are read-only
    req.resume();

    const ctx: RequestCtx = {
      method,
      path: rawPath,
      query,
      headers: req.headers,
      token: m ? m[1].trim() : null,
      params: {},
      q: (name) => {
        const v = query[name];
        return Array.isArray(v) ? v[0] : v;
      },
      qAll: (name) => {
        const v = query[name];
        return v === undefined ? [] : Array.isArray(v) ? v : [v];
      },
      maybeCorrupt: (record, id, corrupt) => {
        const plan = faults.takeMalformed(rawPath);
        if (!plan) return record;
        const copy = structuredClone(record) as Record<string, unknown>;
        const how = plan.corrupt ? plan.corrupt(copy) : corrupt(copy, faults.malformedLog.length);
        faults.malformedLog.push({ path: rawPath, id, how });
        return copy as typeof record;
      },
    };

    let reply: HttpReply;
    let extraHeaders: Record<string, string> = {};
    const planned = faults.take(rawPath);
    const drawn = planned ? null : faults.drawRandom(rawPath);
    const fault: FaultSpec | null = planned ?? drawn?.spec ?? null;
    const kind = drawn?.kind ?? (fault ? faultKind(fault) : undefined);
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (fault?.bodyBytes !== undefined) {
      faults.count(kind!);
      log.push({ at: clock.now(), method, path: rawPath, query, status: 200, fault: kind });
      await streamOversized(res, fault.bodyBytes);
      return;
    }
    if (fault?.redirectTo !== undefined) {
      reply = { status: fault.status ?? 301, text: '', headers: { location: fault.redirectTo.replace(/\/+$/, '') + (req.url ?? '/'), ...(fault.headers ?? {}) } };
    } else if (fault && fault.status !== undefined) {
      if (fault.body !== undefined) {
        const ct = fault.contentType ?? (looksJson(fault.body) ? 'application/json' : 'text/plain; charset=utf-8');
        reply = { status: fault.status, text: fault.body, headers: { 'content-type': ct } };
      } else {
        reply = style.error(fault.status, defaultMessage(fault.status), ctx);
      }
      if (fault.retryAfterSeconds !== undefined) {
        reply.headers = { ...reply.headers, 'retry-after': String(fault.retryAfterSeconds) };
      }
      if (fault.headers) reply.headers = { ...reply.headers, ...fault.headers };
    } else {
      reply = (await route(ctx)) ?? style.error(404, 'not found', ctx);
    }

    async function route(c: RequestCtx): Promise<HttpReply | null> {
      const denied = style.auth(c);
      if (denied) return denied;
      const decision = faults.checkRate(style.rateKey ? style.rateKey(c) : (c.token ?? ''));
      if (decision) {
        extraHeaders = style.rateHeaders ? style.rateHeaders(decision) : {};
        if (!decision.allowed) return style.rateLimited(decision, c);
      }
      for (const r of routes) {
        if (r.method !== method) continue;
        const params = matchRoute(r.path, rawPath, decodeSegment);
        if (!params) continue;
        c.params = params;
        return r.handler(c);
      }
      return null;
    }

    const ok = reply.status >= 200 && reply.status < 300;
    // Shapes of the route's own answer (cut, stall, rewrite) only apply to a success; a
    // 401 or 404 goes out as it is and the fault counts as not injected.
    const injected = fault !== null && (fault.status !== undefined || fault.redirectTo !== undefined || ok) && (fault.status !== undefined || fault.redirectTo !== undefined || fault.cut !== undefined || fault.stallMs !== undefined || fault.rewrite !== undefined);
    if (injected) faults.count(kind!);
    const headers: Record<string, string> = { ...extraHeaders, ...(reply.headers ?? {}) };
    let body: string;
    if (ok && fault?.rewrite && reply.json !== undefined) {
      body = fault.rewrite(reply.json);
      headers['content-type'] = 'application/json';
    } else if (reply.text !== undefined) {
      body = reply.text;
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['content-type'] = 'text/plain; charset=utf-8';
      }
    } else {
      body = JSON.stringify(reply.json ?? null);
      headers['content-type'] = 'application/json';
    }
    log.push({ at: clock.now(), method, path: rawPath, query, status: reply.status, ...(injected ? { fault: kind } : {}) });
    if (ok && fault?.cut) {
      const buf = Buffer.from(body);
      const at = faults.cutPoint(buf.length);
      if (fault.cut === 'clean') {
        res.writeHead(reply.status, { ...headers, 'content-length': String(at), connection: 'close' });
        res.end(buf.subarray(0, at));
      } else {
        res.writeHead(reply.status, { ...headers, 'content-length': String(buf.length) });
        res.write(buf.subarray(0, at), () => res.destroy());
      }
      return;
    }
    if (ok && fault?.stallMs !== undefined) {
      const buf = Buffer.from(body);
      res.writeHead(reply.status, { ...headers, 'content-length': String(buf.length) });
      res.write(buf.subarray(0, faults.cutPoint(buf.length)));
      await sleep(fault.stallMs);
      res.destroy();
      return;
    }
    res.writeHead(reply.status, headers);
    res.end(body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A name for a planned fault, for counts and the request log. */
function faultKind(f: FaultSpec): string {
  if (f.bodyBytes !== undefined) return 'oversized';
  if (f.redirectTo !== undefined) return 'redirect';
  if (f.cut) return `cut-${f.cut}`;
  if (f.stallMs !== undefined) return 'stall';
  if (f.rewrite) return 'rewrite';
  if (f.status !== undefined) return f.status === 429 && f.retryAfterSeconds !== undefined ? '429-retry-after' : String(f.status);
  return 'delay';
}

/** A valid JSON document of about `bytes` bytes, written in chunks as the client reads it. */
async function streamOversized(res: http.ServerResponse, bytes: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json' });
  let closed = false;
  res.on('close', () => (closed = true));
  const head = '{"data":[],"pad":"';
  const chunk = 'x'.repeat(64 * 1024);
  res.write(head);
  let left = Math.max(0, bytes - head.length - 2);
  while (left > 0 && !closed) {
    const part = left >= chunk.length ? chunk : chunk.slice(0, left);
    left -= part.length;
    if (!res.write(part)) {
      await new Promise<void>((r) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          r();
        };
        res.once('drain', done);
        res.once('close', done);
      });
    }
  }
  if (!closed) res.end('"}');
}

function looksJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

function defaultMessage(status: number): string {
  return http.STATUS_CODES[status]?.toLowerCase() ?? 'error';
}
