import type { SourceConfig } from '../config/schema.js';
import { sourceToken } from '../config/load.js';
import { provider } from '../providers/index.js';
import { isRejected, type BoundCollection } from '../providers/types.js';
import { AuthError, isNotFound } from '../http/errors.js';
import { fillPath, paginate, type Page } from '../http/paging.js';
import type { HttpClient } from '../http/client.js';
import { sourceHttpClient } from '../sync/source-http.js';
import { parseDuration } from '../core/time.js';
import { scrubText } from '../core/redact.js';

export interface CheckResult {
  source: string;
  ok: boolean;
  message: string;
}

/**
 * Checks that a source can sync: its token is set and accepted, and its API answers in
 * the expected shape. One request (two for fan-out listings); nothing is written.
 */
export async function checkSource(source: SourceConfig, env: NodeJS.ProcessEnv = process.env): Promise<CheckResult> {
  let token: string;
  try {
    token = sourceToken(source, env);
  } catch (e) {
    return { source: source.name, ok: false, message: (e as Error).message };
  }
  const p = provider(source.provider).bind(source);
  const http = sourceHttpClient(source, p, token, { timeoutMs: Math.min(parseDuration(source.timeout), 15_000), maxRetries: 1 });
  const now = Date.now();
  const window = { since: now - parseDuration(source.lookback), now };
  try {
    const stream = p.streams[0];
    if (stream?.parents) {
      const parents = await firstPage(http, stream.parents.collection, window, {});
      const first = parents.items.map((raw) => stream.parents!.read(raw)).find((r) => !isRejected(r));
      if (!first || isRejected(first)) return { source: source.name, ok: true, message: `${stream.parents.collection.endpoint} answered, no parents to list runs of yet` };
      const runs = await firstPage(http, stream.collection, window, { parent: first.id });
      return { source: source.name, ok: true, message: `${parents.items.length}+ parents, ${runs.items.length} runs on the first page of one` };
    }
    if (stream) {
      const page = await firstPage(http, stream.collection, window, {});
      return { source: source.name, ok: true, message: `token accepted, ${page.items.length} runs on the first page of ${stream.collection.endpoint}` };
    }
    if (p.detail) {
      // No listing: ask for a run that does not exist; "not found" proves the token works.
      try {
        await http.getJson(fillPath(p.detail.path, { id: 'runsync-check' }), p.detail.query, p.detail.endpoint);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      return { source: source.name, ok: true, message: `token accepted by ${p.detail.endpoint}` };
    }
    return { source: source.name, ok: true, message: 'nothing to check' };
  } catch (e) {
    const what = e instanceof AuthError ? 'token refused' : 'API check failed';
    return { source: source.name, ok: false, message: `${what}: ${scrubText((e as Error).message, [token])}` };
  }
}

/** The first page of a collection, through the same paginator the sync uses. */
async function firstPage(http: HttpClient, coll: BoundCollection, window: { since: number; now: number }, vars: Record<string, string>): Promise<Page> {
  for await (const page of paginate(http, coll, { vars, window })) return page;
  throw new Error(`${coll.endpoint}: no answer`);
}
