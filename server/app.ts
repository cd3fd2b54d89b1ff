import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Services } from '../runtime/services.js';
import { logger } from '../core/log.js';
import { escapeControl } from '../core/escape.js';
import { matchRoute } from '../core/route.js';

const log = logger({ component: 'http' });

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  services: Services;
  body(): Promise<Buffer>;
}

export interface Route {
  method: 'GET' | 'POST' | '*';
  /** A path with `:name` segments, e.g. `/sources/:name/runs`. */
  path: string;
  /** Routes that answer without the bearer token (the dashboard's static page). */
  public?: boolean;
  handle(ctx: RouteContext): Promise<void> | void;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

/** An error whose HTTP status (and headers, e.g. Retry-After) the server answers with. */
export class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A path (or one of its segments) decoded; a malformed percent-escape is the client's error (400), not the server's. */
function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    throw new HttpError(`malformed percent-escape in the path ${JSON.stringify(escapeControl(path))}`, 400);
  }
}

function tokenOk(req: IncomingMessage, url: URL, expected: string | undefined): boolean {
  if (!expected) return true;
  const header = req.headers.authorization ?? '';
  // The scheme is case-insensitive (RFC 7235).
  const m = /^bearer +(.*)$/i.exec(header);
  const given = m ? m[1].trim() : (url.searchParams.get('token') ?? '');
  const x = Buffer.from(given);
  const y = Buffer.from(expected);
  return x.length === y.length && timingSafeEqual(x, y);
}

export const MAX_BODY = 1 << 20;

/**
 * Reads a request body of at most `max` bytes. Past that it rejects with 413 at once and
 * discards the rest, so the client reads an answer rather than a reset connection; a client
 * that keeps sending long after the answer is cut off.
 */
function readBody(req: IncomingMessage, res: ServerResponse, max: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const tooLarge = () => {
      res.setHeader('connection', 'close');
      res.once('finish', () => {
        if (!req.complete) setTimeout(() => req.destroy(), 2_000).unref();
      });
      reject(new HttpError(`request body larger than ${max} bytes`, 413));
    };
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > max) {
      req.resume();
      return tooLarge();
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > max) {
        over = true;
        chunks.length = 0;
        tooLarge();
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

/**
 * The running service's HTTP endpoint on loopback: routes plug in from their own
 * modules (run inbox, SQL, dashboard). A bearer token is required when configured.
 */
export async function startHttpServer(services: Services, routes: Route[], opts: { host: string; port: number; token?: string }): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      decodePath(url.pathname);
      const allowed = new Set<string>();
      for (const route of routes) {
        const params = matchRoute(route.path, url.pathname, decodePath);
        if (!params) continue;
        if (route.method !== '*' && route.method !== req.method) {
          allowed.add(route.method);
          continue;
        }
        if (!route.public && !tokenOk(req, url, opts.token)) {
          res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' });
          res.end('authentication required: send Authorization: Bearer <token>\n');
          return;
        }
        let body: Promise<Buffer> | null = null;
        await route.handle({ req, res, url, params, services, body: () => (body ??= readBody(req, res, MAX_BODY)) });
        return;
      }
      if (allowed.size) {
        const allow = [...allowed].sort().join(', ');
        return sendJson(res, 405, { error: `${escapeControl(req.method ?? '')} is not served on ${escapeControl(url.pathname)}; allowed: ${allow}` }, { allow });
      }
      sendJson(res, 404, { error: `no route for ${escapeControl(req.method ?? '')} ${escapeControl(url.pathname)}` });
    } catch (e) {
      const status = (e as { status?: number }).status ?? 500;
      log.warn('request failed', { path: escapeControl(url.pathname), error: escapeControl((e as Error).message) });
      if (!res.headersSent) sendJson(res, status, { error: (e as Error).message }, e instanceof HttpError ? e.headers : {});
      else res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as { port: number };
  return {
    server,
    url: `http://${opts.host}:${addr.port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
