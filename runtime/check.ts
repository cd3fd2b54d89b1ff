import type { SourceConfig } from '../config/schema.js';
import { sourceToken } from '../config/load.js';
import { providerDefinition } from '../providers/index.js';
import { HttpClient } from '../http/client.js';
import { AuthError } from '../http/errors.js';
import { fetchPage, fillPath } from '../http/paging.js';
import { isNotFound, streamCollection } from '../sync/engine.js';
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
  const def = providerDefinition(source.provider);
  const http = new HttpClient({
    baseUrl: source.baseUrl,
    headers: def.auth(token, source),
    secrets: [token],
    timeoutMs: Math.min(parseDuration(source.timeout), 15_000),
    maxRetries: 1,
    requestsPerSecond: source.rateLimit,
    envelope: def.envelope,
  });
  const now = Date.now();
  const ctx = { source, since: now - parseDuration(source.lookback), now };
  try {
    const stream = def.list?.[0];
    if (stream?.parents) {
      const parents = await fetchPage(http, stream.parents.collection, ctx, {}, undefined);
      const first = parents.items[0];
      if (first === undefined) return { source: source.name, ok: true, message: `${stream.parents.collection.endpoint} answered, no parents to list runs of yet` };
      const runs = await fetchPage(http, streamCollection(stream, source), ctx, { parent: stream.parents.id(first) }, undefined);
      return { source: source.name, ok: true, message: `${parents.items.length}+ parents, ${runs.items.length} runs on the first page of one` };
    }
    if (stream) {
      const page = await fetchPage(http, streamCollection(stream, source), ctx, {}, undefined);
      return { source: source.name, ok: true, message: `token accepted, ${page.items.length} runs on the first page of ${streamCollection(stream, source).endpoint}` };
    }
    if (def.detail) {
      // No listing (DX): ask for a run that does not exist; "not found" proves the token works.
      try {
        await http.getJson(fillPath(def.detail.collection.path, { id: 'runsync-check' }), {}, def.detail.collection.endpoint);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      return { source: source.name, ok: true, message: `token accepted by ${def.detail.collection.endpoint}` };
    }
    return { source: source.name, ok: true, message: 'nothing to check' };
  } catch (e) {
    const what = e instanceof AuthError ? 'token refused' : 'API check failed';
    return { source: source.name, ok: false, message: `${what}: ${scrubText((e as Error).message, [token])}` };
  }
}
