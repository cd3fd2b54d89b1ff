import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A handler's answer: JSON, raw text, or full control of the socket (cut-off bodies). */
export type Answer = { status?: number; json?: unknown; text?: string; headers?: Record<string, string> } | ((req: IncomingMessage, res: ServerResponse) => void);

/**
 * A scripted HTTP API on loopback for unit tests: each request goes to `handle`, which
 * sees the path and query and answers. Every request is logged.
 */
export async function scriptedApi(handle: (path: string, query: URLSearchParams) => Answer) {
  const log: { path: string; query: URLSearchParams }[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    log.push({ path: url.pathname, query: url.searchParams });
    const a = handle(url.pathname, url.searchParams);
    if (typeof a === 'function') return a(req, res);
    const body = a.text ?? JSON.stringify(a.json ?? null);
    res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...a.headers });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
