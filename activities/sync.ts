import { Context, ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import type { ClickHouseClient } from '@clickhouse/client';
import type { RunsyncConfig, SourceConfig } from '../config/schema.js';
import { ConfigError, sourceToken } from '../config/load.js';
import { providerDefinition } from '../providers/index.js';
import { HttpClient } from '../http/client.js';
import { AuthError, HttpError } from '../http/errors.js';
import { SourceSync, isTransient, type Budget } from '../sync/engine.js';
import { parseDuration, toCh } from '../core/time.js';
import { logger, registerSecret, knownSecrets } from '../core/log.js';
import { scrubText } from '../core/redact.js';
import { readState, writeState, writeSyncRecord } from '../warehouse/queries.js';
import { nextVersion } from '../warehouse/version.js';
import { addCounts, maxOrNull, minOrNull, zeroCounts, type BeginResult, type ListingCursor, type ListingResult, type RepollResult, type SyncCounts } from '../sync/types.js';


export interface SyncActivityDeps {
  client: ClickHouseClient;
  config: RunsyncConfig;
  env?: NodeJS.ProcessEnv;
  /** Per activity call: how much work before handing back to the workflow. */
  budget?: Budget;
}

const log = logger({ component: 'activity' });

/**
 * Errors that retrying cannot fix become non-retryable Temporal failures, with the
 * token scrubbed from the message; everything else is left to the retry policy.
 */
function classify(e: unknown, source: string): never {
  // Cancelled: reported to Temporal as such (not a failure to retry or log).
  if (e instanceof CancelledFailure) throw e;
  const msg = scrubText(`source "${source}": ${(e as Error).message}`, knownSecrets());
  if (e instanceof AuthError) throw ApplicationFailure.nonRetryable(msg, 'AuthError');
  if (e instanceof ConfigError) throw ApplicationFailure.nonRetryable(msg, 'ConfigError');
  if (e instanceof ApplicationFailure) throw e;
  // A 4xx other than 408/429, or an envelope error the provider calls final: the same request fails again.
  if (e instanceof HttpError && !isTransient(e)) throw ApplicationFailure.nonRetryable(msg, e.name);
  throw ApplicationFailure.retryable(msg, (e as Error).name || 'Error');
}

export function createSyncActivities(deps: SyncActivityDeps) {
  const env = deps.env ?? process.env;
  const budget = deps.budget ?? { maxPages: 200, maxMs: 5 * 60_000 };

  function sourceConfig(name: string): SourceConfig {
    const s = deps.config.sources.find((x) => x.name === name);
    if (!s) throw ApplicationFailure.nonRetryable(`source "${name}" is not in the configuration`, 'ConfigError');
    return s;
  }

  /**
   * Progress reported by a previous attempt of this activity, and what it had counted:
   * a retry resumes there and reports the attempts' totals.
   */
  function priorProgress<T extends { phase?: string }>(phase: string): (T & { counts?: SyncCounts; newest?: number | null; oldestFailure?: number | null }) | undefined {
    const hb = Context.current().info.heartbeatDetails as (T & { counts?: SyncCounts }) | undefined;
    return hb?.phase === phase ? hb : undefined;
  }

  function engine(source: SourceConfig, syncId: string, prior?: { counts?: SyncCounts; [k: string]: unknown }): SourceSync {
    const token = sourceToken(source, env);
    registerSecret(token);
    const def = providerDefinition(source.provider);
    const ctx = Context.current();
    const http = new HttpClient({
      baseUrl: source.baseUrl,
      headers: def.auth(token, source),
      secrets: [token],
      timeoutMs: parseDuration(source.timeout),
      maxRetries: source.maxRetries,
      requestsPerSecond: source.rateLimit,
      envelope: def.envelope,
      // A wait's heartbeat repeats the last progress, so a retry after it still resumes there.
      onWait: (ms, reason) => ctx.heartbeat({ ...progress, waiting: ms, reason: scrubText(reason, [token]) }),
      beforeRequest: () => ctx.heartbeat(progress),
      // Cancelled or timed out: stop sending requests (a retry may already be running).
      signal: ctx.cancellationSignal,
    });
    let progress: Record<string, unknown> = prior ? { ...prior } : {};
    return new SourceSync({
      client: deps.client,
      source,
      def,
      http,
      syncId,
      log: log.child({ source: source.name }),
      secrets: [token],
      concurrency: source.concurrency,
      // Details carry this attempt's figures merged with the earlier attempts', so that a
      // later retry still knows every count and every run that must hold the watermark.
      heartbeat: (details) => {
        const d = details as { counts?: SyncCounts; newest?: number | null; oldestFailure?: number | null };
        progress = { ...d };
        if (prior?.counts && d.counts) progress.counts = addCounts(prior.counts, d.counts);
        if ('newest' in d) progress.newest = maxOrNull((prior?.newest as number | null) ?? null, d.newest ?? null);
        if ('oldestFailure' in d) progress.oldestFailure = minOrNull((prior?.oldestFailure as number | null) ?? null, d.oldestFailure ?? null);
        ctx.heartbeat(progress);
      },
      pulse: () => ctx.heartbeat(progress),
    });
  }

  return {
    /** Records the sync as running and works out its window. */
    async beginSync(input: { source: string; syncId: string; full?: boolean }): Promise<BeginResult> {
      const source = sourceConfig(input.source);
      try {
        sourceToken(source, env); // fail fast, before any request, if the token is missing
        const state = await readState(deps.client, source.name);
        const now = Date.now();
        // A full sync reaches back as far as the first one did, whatever the watermark says.
        const since = state.watermark !== null && !input.full ? state.watermark - parseDuration(source.lookback) : now - parseDuration(source.backfill);
        await writeSyncRecord(deps.client, {
          source: source.name,
          sync_id: input.syncId,
          provider: source.provider,
          started_at: now,
          status: 'running',
          watermark_before: state.watermark,
        });
        return { startedAt: now, since, watermark: state.watermark, listable: !!providerDefinition(source.provider).list?.length };
      } catch (e) {
        classify(e, input.source);
      }
    },

    /** Pages the source's listings from `cursor`, resuming from the last heartbeat after a retry. */
    async listRuns(input: { source: string; syncId: string; since: number; cursor: ListingCursor | null }): Promise<ListingResult> {
      const source = sourceConfig(input.source);
      const hb = priorProgress<{ phase?: string; cursor?: ListingCursor | null }>('list');
      const start = hb && hb.cursor !== undefined ? hb.cursor : input.cursor;
      if (hb) log.info('resuming listing from heartbeat', { source: source.name });
      const merge = (out: ListingResult): ListingResult =>
        hb
          ? {
              cursor: out.cursor,
              counts: hb.counts ? addCounts(hb.counts, out.counts) : out.counts,
              newest: maxOrNull(hb.newest ?? null, out.newest),
              oldestFailure: minOrNull(hb.oldestFailure ?? null, out.oldestFailure),
            }
          : out;
      try {
        if (hb && start === null) return merge({ cursor: null, counts: zeroCounts(), newest: null, oldestFailure: null });
        const sync = engine(source, input.syncId, hb);
        const out = await sync.listing(input.since, start, budget);
        await sync.close();
        return merge(out);
      } catch (e) {
        classify(e, input.source);
      }
    },

    /** Polls by id the runs that are open, recently finished, or waiting in the inbox. */
    async repollRuns(input: { source: string; syncId: string; after: string }): Promise<RepollResult> {
      const source = sourceConfig(input.source);
      const hb = priorProgress<{ phase?: string; after?: string | null }>('repoll');
      const after = hb && typeof hb.after === 'string' ? hb.after : input.after;
      try {
        if (hb && hb.after === null) return { after: null, counts: hb.counts ?? zeroCounts() };
        const sync = engine(source, input.syncId, hb);
        const out = await sync.repoll(after, budget);
        await sync.close();
        return hb?.counts ? { ...out, counts: addCounts(hb.counts, out.counts) } : out;
      } catch (e) {
        classify(e, input.source);
      }
    },

    /** Closes the sync's record; on success (only) moves the watermark. */
    async finishSync(input: {
      source: string;
      syncId: string;
      startedAt: number;
      status: 'succeeded' | 'failed' | 'cancelled';
      counts: SyncCounts;
      watermark: number | null;
      newest: number | null;
      oldestFailure: number | null;
      error?: string;
    }): Promise<{ watermark: number | null }> {
      const source = sourceConfig(input.source);
      // Read afresh: another sync of this source may have moved it meanwhile; it never goes back.
      let watermark = input.status === 'succeeded' ? maxOrNull(input.watermark, (await readState(deps.client, source.name)).watermark) : input.watermark;
      if (input.status === 'succeeded' && input.newest !== null) {
        // Never past a run that could not be fetched: the next sync must list it again.
        const candidate = input.oldestFailure !== null ? Math.min(input.newest, input.oldestFailure - 1) : input.newest;
        watermark = watermark === null ? candidate : Math.max(watermark, candidate);
      }
      if (input.status === 'succeeded') await writeState(deps.client, source.name, watermark, input.syncId);
      await writeSyncRecord(deps.client, {
        source: source.name,
        sync_id: input.syncId,
        provider: source.provider,
        started_at: input.startedAt,
        finished_at: Date.now(),
        status: input.status,
        counts: input.counts,
        error: scrubText(input.error ?? '', knownSecrets()).slice(0, 4000),
        watermark_before: input.watermark,
        watermark_after: input.status === 'succeeded' ? watermark : input.watermark,
      });
      log.info('sync finished', { source: source.name, status: input.status, ...input.counts, error: input.error });
      return { watermark };
    },
  };
}

export type SyncActivities = ReturnType<typeof createSyncActivities>;
