import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Services } from '../runtime/services.js';
import { logger } from '../core/log.js';

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

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function match(pattern: string, path: string): Record<string, string> | null {
  const a = pattern.split('/');
  const b = path.split('/');
  if (a.length !== b.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < a.length; i++) {
    if (a[i].startsWith(':')) params[a[i].slice(1)] = decodeURIComponent(b[i]);
    else if (a[i] !== b[i]) return null;
  }
  return params;
}

function tokenOk(req: IncomingMessage, url: URL, expected: string | undefined): boolean {
  if (!expected) return true;
  const header = req.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice(7) : (url.searchParams.get('token') ?? '');
  const x = Buffer.from(given);
  const y = Buffer.from(expected);
  return x.length === y.length && timingSafeEqual(x, y);
}

const MAX_BODY = 1 << 20;

/**
 * The running service's HTTP endpoint on loopback: routes plug in from their own
 * modules (run inbox, SQL, dashboard). A bearer token is required when configured.
 */
export async function startHttpServer(services: Services, routes: Route[], opts: { host: string; port: number; token?: string }): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      for (const route of routes) {
        if (route.method !== '*' && route.method !== req.method) continue;
        const params = match(route.path, url.pathname);
        if (!params) continue;
        if (!route.public && !tokenOk(req, url, opts.token)) {
          res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' });
          res.end('authentication required: send Authorization: Bearer <token>\n');
          return;
        }
        const body = () =>
          new Promise<Buffer>((resolve, reject) => {
            const chunks: Buffer[] = [];
            let size = 0;
            req.on('data', (c: Buffer) => {
              size += c.length;
              if (size > MAX_BODY) {
                reject(Object.assign(new Error(`request body larger than ${MAX_BODY} bytes`), { status: 413 }));
                req.destroy();
              } else chunks.push(c);
            });
            req.on('end', () => resolve(Buffer.concat(chunks)));
            req.on('error', reject);
          });
        await route.handle({ req, res, url, params, services, body });
        return;
      }
      sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
    } catch (e) {
      const status = (e as { status?: number }).status ?? 500;
      log.warn('request failed', { path: url.pathname, error: (e as Error).message });
      if (!res.headersSent) sendJson(res, status, { error: (e as Error).message });
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
