import { Context, ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import type { ClickHouseClient } from '@clickhouse/client';
import type { RunsyncConfig, SourceConfig } from '../config/schema.js';
import { ConfigError, sourceToken } from '../config/load.js';
import { provider } from '../providers/index.js';
import { AuthError, HttpError } from '../http/errors.js';
import { SourceSync, type Budget, type Progress } from '../sync/engine.js';
import { sourceHttpClient } from '../sync/source-http.js';
import { ClickHouseStore } from '../warehouse/store.js';
import { parseDuration } from '../core/time.js';
import { logger, registerSecret, knownSecrets } from '../core/log.js';
import { scrubText } from '../core/redact.js';
import { readState, writeState, writeSyncRecord } from '../warehouse/queries.js';
import { maxOrNull, mergeTally, zeroCounts, type BeginResult, type ListingCursor, type ListingResult, type RepollResult, type SyncCounts } from '../sync/types.js';
import { recordSync } from '../core/metrics.js';
import { Heartbeats } from './heartbeats.js';


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
  // Cancelled: reported to Temporal as such (not a failure to retry or log), also when the
  // cancellation surfaced as another error (an aborted request, a closed client).
  if (e instanceof CancelledFailure) throw e;
  const cancelled = cancellation();
  if (cancelled) throw cancelled;
  const msg = scrubText(`source "${source}": ${(e as Error).message}`, knownSecrets());
  if (e instanceof AuthError) throw ApplicationFailure.nonRetryable(msg, 'AuthError');
  if (e instanceof ConfigError) throw ApplicationFailure.nonRetryable(msg, 'ConfigError');
  if (e instanceof ApplicationFailure) throw e;
  // A 4xx other than 408/429, or an envelope error the provider calls final: the same request fails again.
  if (e instanceof HttpError && e.kind !== 'transient') throw ApplicationFailure.nonRetryable(msg, e.name);
  throw ApplicationFailure.retryable(msg, (e as Error).name || 'Error');
}

/** The activity's cancellation, when it has been cancelled (the worker's shutdown included). */
function cancellation(): CancelledFailure | null {
  let signal: AbortSignal;
  try {
    signal = Context.current().cancellationSignal;
  } catch {
    return null; // not inside an activity
  }
  if (!signal.aborted) return null;
  const reason: unknown = signal.reason;
  return reason instanceof CancelledFailure ? reason : new CancelledFailure(String(reason ?? 'cancelled'));
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

  function heartbeats(): Heartbeats {
    const ctx = Context.current();
    return new Heartbeats((d) => ctx.heartbeat(d));
  }

  function engine(source: SourceConfig, syncId: string, beats: Heartbeats, prior?: { counts?: SyncCounts; newest?: number | null; oldestFailure?: number | null }): SourceSync {
    const token = sourceToken(source, env);
    registerSecret(token);
    const bound = provider(source.provider).bind(source);
    const ctx = Context.current();
    let progress: Record<string, unknown> = prior ? { ...prior } : {};
    const http = sourceHttpClient(source, bound, token, {
      // A wait's heartbeat repeats the last progress, so a retry after it still resumes there.
      onWait: (ms, reason) => beats.beat({ ...progress, waiting: ms, reason: scrubText(reason, [token]) }),
      beforeRequest: () => beats.beat(progress),
      // Cancelled or timed out: stop sending requests (a retry may already be running).
      signal: ctx.cancellationSignal,
      onAttempt: (a) => log.debug('request', { source: source.name, endpoint: a.endpoint, attempt: a.attempt, status: a.status, ms: a.ms, bytes: a.bytes, ...(a.failure ? { failure: a.failure } : {}) }),
    });
    return new SourceSync({
      store: new ClickHouseStore(deps.client, { source: source.name, provider: source.provider, syncId, cursorColumn: bound.cursorColumn }),
      source,
      provider: bound,
      http,
      log: log.child({ source: source.name }),
      secrets: [token],
      signal: ctx.cancellationSignal,
      limits: { maxDepth: source.maxDepth, maxBytes: source.maxItemBytes },
      futureToleranceMs: parseDuration(source.futureTolerance),
      // Details carry this attempt's figures merged with the earlier attempts', so that a
      // later retry still knows every count and every run that must hold the watermark.
      heartbeat: (d: Progress) => {
        progress = { ...d, ...mergeTally(prior, d) };
        beats.beat(progress);
      },
      pulse: () => beats.beat(progress),
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
        return { startedAt: now, since, watermark: state.watermark, listable: provider(source.provider).listable };
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
      const merge = (out: ListingResult): ListingResult => ({ cursor: out.cursor, ...mergeTally(hb, out) });
      const beats = heartbeats();
      try {
        if (hb && start === null) return merge({ cursor: null, counts: zeroCounts(), newest: null, oldestFailure: null });
        const sync = engine(source, input.syncId, beats, hb);
        const out = await sync.listing(input.since, start, budget);
        await sync.close();
        return merge(out);
      } catch (e) {
        beats.flush();
        classify(e, input.source);
      } finally {
        beats.stop();
      }
    },

    /** Polls by id the runs that are open, recently finished, or waiting in the inbox. */
    async repollRuns(input: { source: string; syncId: string; after: string; listedFrom?: number | null }): Promise<RepollResult> {
      const source = sourceConfig(input.source);
      const hb = priorProgress<{ phase?: string; after?: string | null }>('repoll');
      const after = hb && typeof hb.after === 'string' ? hb.after : input.after;
      const beats = heartbeats();
      try {
        if (hb && hb.after === null) return { after: null, counts: hb.counts ?? zeroCounts() };
        const sync = engine(source, input.syncId, beats, hb);
        // What this sync's listing covered (it ran to its end before the re-poll starts).
        const listedSince = provider(source.provider).listable ? (input.listedFrom ?? null) : null;
        const out = await sync.repoll(after, budget, listedSince);
        await sync.close();
        return { after: out.after, counts: mergeTally(hb, out).counts };
      } catch (e) {
        beats.flush();
        classify(e, input.source);
      } finally {
        beats.stop();
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
      recordSync(source.name, source.provider, input.status, input.counts, (Date.now() - input.startedAt) / 1000);
      return { watermark };
    },
  };
}

export type SyncActivities = ReturnType<typeof createSyncActivities>;
