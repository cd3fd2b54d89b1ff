import type { ClickHouseClient } from '@clickhouse/client';
import { CancelledFailure } from '@temporalio/common';
import type { z } from 'zod';
import type { SourceConfig } from '../config/schema.js';
import type { ProviderDefinition, ListContext, ListStream, Collection } from '../providers/types.js';
import type { HttpClient } from '../http/client.js';
import { AuthError, EnvelopeError, HttpError } from '../http/errors.js';
import { fetchPage, fillPath, pick, type Page, type PageState } from '../http/paging.js';
import { scrub, scrubEmailText, scrubEmails, scrubText } from '../core/redact.js';
import { parseDuration, toCh } from '../core/time.js';
import type { Logger } from '../core/log.js';
import { RowWriter } from '../warehouse/writer.js';
import { eventRow, linkRow, runRow, stepRow, type QuarantineRow, type RowContext } from '../warehouse/rows.js';
import { knownRuns, runsToRepoll, type KnownRun } from '../warehouse/queries.js';
import { nextVersion } from '../warehouse/version.js';
import { fromCh } from '../core/time.js';
import { zeroCounts, type ListingCursor, type ListingResult, type RepollResult, type SyncCounts } from './types.js';
import type { RunBundle } from './records.js';

/** A record that failed its schema: quarantined with the reason, the sync goes on. */
export class RecordError extends Error {
  constructor(
    message: string,
    readonly endpoint: string,
    readonly key: string,
    readonly payload: unknown,
  ) {
    super(message);
    this.name = 'RecordError';
  }
}

export interface EngineDeps {
  client: ClickHouseClient;
  source: SourceConfig;
  def: ProviderDefinition;
  http: HttpClient;
  syncId: string;
  log: Logger;
  /** Values never to be written (the token). */
  secrets: string[];
  /** Reports progress; the activity turns it into a Temporal heartbeat. */
  heartbeat: (details: unknown) => void;
  /** Says "still alive" without new progress (after each run), so slow pages do not miss the heartbeat timeout. */
  pulse?: () => void;
  now?: () => number;
  /** Runs fetched at once within a page. */
  concurrency?: number;
}

export interface Budget {
  maxPages: number;
  maxMs: number;
}

function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`)
    .join('; ');
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}

/**
 * Syncs one source: pages its listings, decides which runs need fetching, fetches
 * detail and children, and writes versioned rows. Stateless between calls: where it
 * stands travels in the returned cursor, so an activity can resume on another worker.
 */
export class SourceSync {
  private readonly writer: RowWriter;
  private readonly now: () => number;
  private counts: SyncCounts = zeroCounts();
  private readonly seen = new Set<string>();
  /** Runs this sync already wrote, with their change marker (a detail answer may bring another run than the one asked for). */
  private readonly written = new Map<string, string>();
  private newest: number | null = null;
  private oldestFailure: number | null = null;

  constructor(private readonly d: EngineDeps) {
    this.writer = new RowWriter(d.client);
    this.now = d.now ?? Date.now;
  }

  private get name() {
    return this.d.source.name;
  }

  // ---- listing -------------------------------------------------------------

  async listing(since: number, start: ListingCursor | null, budget: Budget): Promise<ListingResult> {
    const streams = this.d.def.list ?? [];
    const began = this.now();
    const ctx: ListContext = { source: this.d.source, since, now: this.now() };
    let cur: ListingCursor | null = start ?? (streams.length ? { stream: 0 } : null);
    let pages = 0;

    while (cur && cur.stream < streams.length) {
      if (pages >= budget.maxPages || this.now() - began >= budget.maxMs) break;
      const stream = streams[cur.stream];

      // Fan-out listings enumerate their parents first (a short list: B3OS workflows).
      if (stream.parents && !cur.parents) {
        const ids: string[] = [];
        let ps: PageState | undefined;
        for (;;) {
          const page = await fetchPage(this.d.http, stream.parents.collection, ctx, {}, ps);
          this.counts.pages++;
          for (const item of page.items) {
            try {
              const id = stream.parents.id(item);
              ids.push(id);
              const name = stream.parents.workflowName?.(item);
              if (name) await this.writer.add('workflow_names', { source: this.name, workflow_id: id, name, seen_at: toCh(this.now()), version: nextVersion() });
            } catch (e) {
              await this.quarantine('error', stream.parents.collection.endpoint, '', `parent item without id: ${(e as Error).message}`, item);
            }
          }
          if (!page.next) break;
          ps = page.next;
        }
        cur = { ...cur, parents: ids, parentIndex: 0, page: undefined };
        if (ids.length === 0) {
          cur = { stream: cur.stream + 1 };
          continue;
        }
      }

      const vars: Record<string, string> = cur.parents ? { parent: cur.parents[cur.parentIndex ?? 0] } : {};
      const coll = streamCollection(stream, this.d.source);
      let page: Page;
      try {
        page = await fetchPage(this.d.http, coll, ctx, vars, cur.page);
      } catch (e) {
        if (!cur.parents || e instanceof AuthError || e instanceof CancelledFailure) throw e;
        // One parent's listing failing (a B3OS workflow) must not stop the others; the
        // watermark stays where it was so its runs are listed again next time.
        await this.quarantine('error', coll.endpoint, vars.parent, `runs of ${vars.parent} could not be listed: ${(e as Error).message}`, null);
        this.holdWatermark(since);
        cur = nextParentOrStream(cur, streams.length);
        this.d.heartbeat({ phase: 'list', cursor: cur, counts: this.snapshot(), newest: this.newest, oldestFailure: this.oldestFailure });
        continue;
      }
      this.counts.pages++;
      pages++;
      if (page.next && cur.page && JSON.stringify(page.next) === JSON.stringify(cur.page)) {
        throw new Error(`${coll.endpoint}: paging did not advance (the answer to ${JSON.stringify(cur.page)} points at itself)`);
      }
      if (page.warning) await this.quarantine('warning', coll.endpoint, vars.parent ?? '', page.warning, null);
      const source = this.d.source;
      const stopBelow = stream.stopBelow ? (item: any) => stream.stopBelow!(item, source) : undefined;
      const belowWindow = await this.processListItems(page.items, coll.endpoint, stopBelow, since);
      await this.writer.flush();

      cur = page.next && !belowWindow ? { ...cur, page: page.next } : nextParentOrStream(cur, streams.length);
      // The cursor moves on only after this page's rows are written.
      this.d.heartbeat({ phase: 'list', cursor: cur, counts: this.snapshot(), newest: this.newest, oldestFailure: this.oldestFailure });
    }
    return { cursor: cur, counts: this.snapshot(), newest: this.newest, oldestFailure: this.oldestFailure };
  }

  /** Validates, deduplicates and fetches what changed; true when the page reached below the window. */
  private async processListItems(items: unknown[], endpoint: string, stopBelow: ((item: any) => number | null) | undefined, since: number): Promise<boolean> {
    const def = this.d.def;
    const valid: { key: string; item: any; time: number | null }[] = [];
    let below = false;
    for (const raw of items) {
      const parsed = def.listItem ? def.listItem.safeParse(raw) : { success: true as const, data: raw };
      const key = safeKey(def, raw);
      if (!parsed.success) {
        await this.quarantine('error', endpoint, key, `invalid list item: ${describeIssues(parsed.error)}`, raw);
        continue;
      }
      const item = parsed.data as any;
      const time = def.itemTime?.(item) ?? null;
      if (stopBelow) {
        const st = stopBelow(item);
        if (st !== null && st < since) below = true;
      }
      if (this.seen.has(key)) continue; // page edges overlap on purpose
      this.seen.add(key);
      valid.push({ key, item, time });
    }
    const known = await knownRuns(
      this.d.client,
      this.name,
      valid.map((v) => v.key),
    );
    const settleSince = this.now() - parseDuration(this.d.source.settle);
    const todo = valid.filter((v) => {
      const fp = def.fingerprint(v.item);
      return this.written.get(v.key) !== fp && needsFetch(fp, known.get(v.key), settleSince);
    });
    await mapLimit(todo, this.d.concurrency ?? 4, async (v) => {
      const outcome = await this.syncRun(v.key, v.item, known.get(v.key), endpoint);
      if (outcome === 'transient' && v.time !== null) this.holdWatermark(v.time);
      this.d.pulse?.();
    });
    for (const v of valid) if (v.time !== null && !(this.oldestFailure !== null && v.time >= this.oldestFailure)) this.newest = this.newest === null ? v.time : Math.max(this.newest, v.time);
    return below;
  }

  // ---- re-polling by id ----------------------------------------------------

  async repoll(after: string, budget: Budget): Promise<RepollResult> {
    const began = this.now();
    const settleSince = this.now() - parseDuration(this.d.source.settle);
    let cursor: string | null = after;
    let batches = 0;
    while (cursor !== null) {
      if (batches >= budget.maxPages || this.now() - began >= budget.maxMs) break;
      const ids = await runsToRepoll(this.d.client, { source: this.name, syncId: this.d.syncId, settleSince, after: cursor, limit: 200 });
      batches++;
      if (ids.length === 0) {
        cursor = null;
        break;
      }
      const known = await knownRuns(this.d.client, this.name, ids);
      await mapLimit(ids, this.d.concurrency ?? 4, async (id) => {
        await this.syncRun(id, undefined, known.get(id), 'detail');
        this.d.pulse?.();
      });
      await this.writer.flush();
      cursor = ids.length < 200 ? null : ids[ids.length - 1];
      this.d.heartbeat({ phase: 'repoll', after: cursor, counts: this.snapshot() });
    }
    return { after: cursor, counts: this.snapshot() };
  }

  // ---- one run -------------------------------------------------------------

  /**
   * Fetches and writes one run. Fetch problems stay with the run (quarantined, the sync
   * goes on); auth errors stop the source, and write errors fail the activity (retried).
   */
  private async syncRun(key: string, listItem: unknown, known: KnownRun | undefined, endpoint: string): Promise<RunOutcome> {
    let fetched: Awaited<ReturnType<SourceSync['fetchRun']>>;
    try {
      fetched = await this.fetchRun(key, listItem);
    } catch (e) {
      return this.runFailed(e, key, listItem, endpoint);
    }
    const got = fetched.bundle.run.run_id;
    if (got === key) {
      await this.writeBundle(fetched, known);
      return 'ok';
    }
    // The detail endpoint answered with another run (Tracecat: detail by id is the latest
    // run of that id, after a reset a different one). That run is written under its own
    // key; the listed run keeps what its list item says. Re-polled without a list item,
    // it stays as it was until a listing shows it again.
    const other = await knownRuns(this.d.client, this.name, [got]);
    await this.writeBundle(fetched, other.get(got));
    if (listItem === undefined) return 'ok';
    let bundle: RunBundle;
    try {
      bundle = this.d.def.toBundle({ run: listItem, children: {}, source: this.d.source });
      if (bundle.run.run_id !== key) throw new Error(`it flattens to run ${bundle.run.run_id}`);
    } catch (e) {
      return this.runFailed(new RecordError(`run ${key} could not be flattened from its list item: ${(e as Error).message}`, endpoint, key, listItem), key, listItem, endpoint);
    }
    // The list item is a summary: the raw detail kept for this run (its full history) stays.
    await this.writeBundle({ runObject: listItem, bundle }, known, { keepRaw: true });
    return 'ok';
  }

  /**
   * A run that could not be fetched. Only a transient failure (network, 429, 5xx after
   * retries) holds the watermark back, so the run is listed again; a record that can never
   * pass (schema, 4xx) is quarantined and let go, or it would pin the watermark forever.
   */
  private async runFailed(e: unknown, key: string, listItem: unknown, endpoint: string): Promise<RunOutcome> {
    // Cancelled (the sync was stopped, the worker is shutting down): nothing is wrong with the run.
    if (e instanceof AuthError || e instanceof CancelledFailure) throw e;
    if (listItem === undefined && isNotFound(e)) {
      // Polled by id and the provider no longer knows it: stop polling it, say so once.
      await this.writer.add('gone_runs', { source: this.name, run_id: key, gone_at: toCh(this.now()), reason: (e as Error).message.slice(0, 500), version: nextVersion() });
      await this.quarantine('warning', (e as HttpError).endpoint, key, `run ${key} is no longer known to the provider (${(e as Error).message}); it is not polled again`, null);
      this.d.log.warn('run gone', { source: this.name, run: key });
      return 'ok';
    }
    this.counts.runs_failed++;
    if (e instanceof RecordError) {
      await this.quarantine('error', e.endpoint, e.key, e.message, e.payload);
      return 'permanent';
    }
    const where = e instanceof HttpError ? e.endpoint : endpoint;
    await this.quarantine('error', where, key, `run ${key} could not be fetched: ${(e as Error).message}`, null);
    this.d.log.warn('run fetch failed', { source: this.name, run: key, error: (e as Error).message });
    return isTransient(e) ? 'transient' : 'permanent';
  }

  async fetchRun(key: string, listItem?: unknown): Promise<{ runObject: any; bundle: RunBundle }> {
    const def = this.d.def;
    const ctx: ListContext = { source: this.d.source, since: 0, now: this.now() };
    let runObject: any = listItem;
    if (runObject === undefined || !def.listItemIsDetail) {
      if (!def.detail) throw new Error(`provider ${def.name} has no detail endpoint to fetch run ${key}`);
      const id = def.detail.pathId ? def.detail.pathId(key) : key;
      const coll = def.detail.collection;
      const body = await this.d.http.getJson(fillPath(coll.path, { id }), coll.query?.(ctx) ?? {}, coll.endpoint);
      const raw = pick(body, coll.items);
      const parsed = def.detail.schema.safeParse(raw);
      if (!parsed.success) throw new RecordError(`invalid detail of run ${key}: ${describeIssues(parsed.error)}`, def.detail.collection.endpoint, key, raw);
      runObject = parsed.data;
    }
    const children: Record<string, any[]> = {};
    const childId = def.detail?.pathId ? def.detail.pathId(key) : key;
    for (const child of def.children ?? []) {
      const out: any[] = [];
      const seen = new Set<string>();
      let state: PageState | undefined;
      for (;;) {
        const page = await fetchPage(this.d.http, child.collection, ctx, { id: childId }, state);
        if (page.next && state && JSON.stringify(page.next) === JSON.stringify(state)) throw new Error(`${child.collection.endpoint}: paging did not advance for run ${key}`);
        if (page.warning) await this.quarantine('warning', child.collection.endpoint, key, page.warning, null);
        for (const raw of page.items) {
          const parsed = child.schema.safeParse(raw);
          if (!parsed.success) {
            await this.quarantine('error', child.collection.endpoint, `${key}/${(raw as any)?.id ?? '?'}`, `invalid ${child.name} item of run ${key}: ${describeIssues(parsed.error)}`, raw);
            continue;
          }
          const id = (parsed.data as any)?.id;
          if (typeof id === 'string') {
            if (seen.has(id)) continue;
            seen.add(id);
          }
          out.push(parsed.data);
        }
        if (!page.next) break;
        state = page.next;
      }
      children[child.name] = out;
    }
    let bundle: RunBundle;
    try {
      bundle = def.toBundle({ run: runObject, children, source: this.d.source });
    } catch (e) {
      throw new RecordError(`run ${key} could not be flattened: ${(e as Error).message}`, def.detail?.collection.endpoint ?? 'detail', key, runObject);
    }
    return { runObject, bundle };
  }

  /**
   * Writes one run's rows. The run row goes last: its change marker says the run is up
   * to date, so it must not land without its steps and events (see RowWriter.flush).
   */
  private async writeBundle({ runObject, bundle }: { runObject: any; bundle: RunBundle }, known: KnownRun | undefined, opts: { keepRaw?: boolean } = {}): Promise<void> {
    const def = this.d.def;
    const now = this.now();
    // Above the stored version even when another worker's clock ran ahead of this one's.
    const stored = known && known.run_id === bundle.run.run_id ? known.version : 0;
    const ctx: RowContext = { source: this.name, provider: def.name, syncId: this.d.syncId, now, version: Math.max(nextVersion(), stored + 1) };
    const fingerprint = def.fingerprint(runObject);
    // A run found under another key (e.g. after a Tracecat reset) is new to the warehouse.
    const sameRun = known && known.run_id === bundle.run.run_id ? known : undefined;
    const r0 = bundle.run;
    const run = { ...r0, error: this.cleanText(r0.error), triggered_by: this.cleanText(r0.triggered_by), trigger: this.cleanText(r0.trigger), attributes: this.cleanAttributes(r0.attributes) };
    const { row, warnings } = runRow(run, def.runStatuses, ctx, fingerprint, sameRun ? fromCh(sameRun.first_seen_at) : null);
    const again = this.written.has(bundle.run.run_id);
    this.written.set(bundle.run.run_id, fingerprint);
    if (again) this.counts.runs_polled++;
    else if (!sameRun) this.counts.runs_new++;
    else if (sameRun.fingerprint !== fingerprint) this.counts.runs_updated++;
    else this.counts.runs_polled++;
    const runId = bundle.run.run_id;
    // Said once per version of the run, not on every re-poll of an unchanged one.
    const changed = !sameRun || sameRun.fingerprint !== fingerprint;
    if (changed) for (const w of warnings) await this.quarantine('warning', 'durations', runId, `run ${runId}: negative duration stored as NULL (${w})`, null);
    for (const s of bundle.steps ?? []) {
      const r = stepRow(runId, { ...s, error: this.cleanText(s.error), attributes: this.cleanAttributes(s.attributes) }, def.stepStatuses ?? def.runStatuses, ctx);
      await this.writer.add('step_versions', r.row);
      if (changed) for (const w of r.warnings) await this.quarantine('warning', 'durations', runId, `run ${runId}: negative duration stored as NULL (${w})`, null);
    }
    for (const e of bundle.events ?? []) {
      const clean = { ...e, message: this.cleanText(e.message), data: e.data === undefined || e.data === null ? e.data : this.cleanValue(e.data) };
      await this.writer.add('event_versions', eventRow(runId, clean, ctx));
    }
    for (const l of bundle.links ?? []) await this.writer.add('link_versions', linkRow(runId, l, ctx));
    if (!opts.keepRaw) {
      await this.writer.add('raw_runs', {
        source: this.name,
        run_id: runId,
        provider: def.name,
        fetched_at: toCh(now),
        payload: JSON.stringify(this.cleanValue(bundle.raw)),
        version: ctx.version,
      });
    }
    await this.writer.add('run_versions', row as unknown as Record<string, unknown>);
  }

  // Nothing a provider hands over may carry the token into the warehouse, whatever field it
  // sits in; e-mail addresses only when the source allows personal data.
  private cleanText(text: string | undefined): string {
    const t = scrubText(text ?? '', this.d.secrets);
    return this.d.source.personalData ? t : scrubEmailText(t);
  }

  private cleanValue(value: unknown): unknown {
    const v = scrub(value, this.d.secrets);
    return this.d.source.personalData ? v : scrubEmails(v);
  }

  private cleanAttributes(a: Record<string, string> | undefined): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(a ?? {})) out[k] = this.cleanText(v);
    return out;
  }

  /** The watermark must stay below `time`: something at or after it was not fetched. */
  private holdWatermark(time: number): void {
    this.oldestFailure = this.oldestFailure === null ? time : Math.min(this.oldestFailure, time);
  }

  private async quarantine(severity: 'error' | 'warning', endpoint: string, key: string, reason: string, payload: unknown): Promise<void> {
    if (severity === 'error') this.counts.quarantined++;
    const row: QuarantineRow = {
      source: this.name,
      received_at: toCh(this.now())!,
      provider: this.d.def.name,
      sync_id: this.d.syncId,
      endpoint,
      record_key: key,
      severity,
      reason: reason.slice(0, 2000),
      payload: payload === null || payload === undefined ? '' : JSON.stringify(this.cleanValue(payload)).slice(0, 100_000),
    };
    await this.writer.add('quarantine', row as unknown as Record<string, unknown>);
  }

  /** Counts so far, with this call's HTTP figures and rows written. */
  private snapshot(): SyncCounts {
    const s = this.d.http.stats;
    return { ...this.counts, api_calls: s.apiCalls, retries: s.retries, rate_limited: s.rateLimited, rows_written: this.writer.written };
  }

  async close(): Promise<void> {
    await this.writer.flush();
  }
}

/** A stream's collection for this source (built from its options when the paging is configurable). */
/**
 * A stream's collection for this source; the source's `pageSize`, when set, replaces
 * the page size of the listing (never above what the provider accepts).
 */
export function streamCollection(stream: ListStream, source: SourceConfig): Collection {
  const coll = typeof stream.collection === 'function' ? stream.collection(source) : stream.collection;
  const p = coll.paging;
  if (source.pageSize === undefined || !('limit' in p)) return coll;
  const max = p.maxLimit ?? p.limit;
  return { ...coll, paging: { ...p, limit: Math.min(source.pageSize, max) } };
}


type RunOutcome = 'ok' | 'transient' | 'permanent';

/** Worth listing the run again next time: the network, rate limits, 5xx; not a 4xx or a bad record. */
export function isTransient(e: unknown): boolean {
  if (e instanceof EnvelopeError) return e.retryable;
  if (e instanceof HttpError) return e.status === 0 || e.status === 408 || e.status === 429 || e.status >= 500;
  return !(e instanceof RecordError);
}

function nextParentOrStream(cur: ListingCursor, streams: number): ListingCursor | null {
  if (cur.parents && (cur.parentIndex ?? 0) + 1 < cur.parents.length) return { ...cur, parentIndex: (cur.parentIndex ?? 0) + 1, page: undefined };
  return cur.stream + 1 < streams ? { stream: cur.stream + 1 } : null;
}

/** The provider's definite "no such run": HTTP 404, or an envelope error code saying so (DX `not_found`). */
export function isNotFound(e: unknown): boolean {
  if (e instanceof EnvelopeError) return /not_?found/i.test(e.code);
  return e instanceof HttpError && e.status === 404;
}

function safeKey(def: ProviderDefinition, raw: unknown): string {
  try {
    const k = def.key(raw);
    return typeof k === 'string' ? k : '';
  } catch {
    return '';
  }
}

/** New, changed, still open, or finished recently enough that it may still change. */
export function needsFetch(fingerprint: string, known: KnownRun | undefined, settleSince: number): boolean {
  if (!known) return true;
  if (known.fingerprint !== fingerprint) return true;
  if (!known.is_terminal) return true;
  const finished = fromCh(known.finished_at);
  return finished !== null && finished >= settleSince;
}
