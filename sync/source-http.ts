import type { SourceConfig } from '../config/schema.js';
import type { BoundProvider } from '../providers/types.js';
import { HttpClient, type HttpClientOptions } from '../http/client.js';
import { accountPacer } from '../http/pacer.js';
import { parseDuration } from '../core/time.js';

/** The one way to build a source's HTTP client: its token, limits and the provider's envelope. */
export function sourceHttpClient(source: SourceConfig, provider: BoundProvider, token: string, extra: Partial<HttpClientOptions> = {}): HttpClient {
  return new HttpClient({
    baseUrl: source.baseUrl,
    headers: provider.headers(token),
    secrets: [token],
    timeoutMs: parseDuration(source.timeout),
    maxRetries: source.maxRetries,
    pacer: accountPacer(source.baseUrl, token, source.rateLimit),
    maxResponseBytes: source.maxResponseBytes,
    envelope: provider.envelope,
    ...extra,
  });
}
