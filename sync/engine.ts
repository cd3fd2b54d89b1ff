import { sha1Hex } from '../core/hash.js';
import type { SourceConfig } from '../config/schema.js';
import { isRejected, type BoundProvider, type BoundStream, type FetchedRun, type ListedRun, type Rejected } from '../providers/types.js';
import type { HttpClient } from '../http/client.js';
import { failureKind, HttpError } from '../http/errors.js';
import { paginate, pick, fillPath, type Page, type PageState } from '../http/paging.js';
import { scrub, scrubEmailText, scrubEmails, scrubText } from '../core/redact.js';
import { parseDuration } from '../core/time.js';
import type { Logger } from '../core/log.js';
import { overLimits, type ItemLimits } from './limits.js';
import type { KnownRun, SyncStore } from './store.js';
import { zeroCounts, type ListingCursor, type ListingResult, type RepollResult, type SyncCounts, type Tally } from './types.js';
import type { RunBundle } from './records.js';

/** A record that can never pass as it is (schema, flattening): quarantined with the reason, the sync goes on. */
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

/** Some runs written in this call are not in the warehouse: the call fails and is retried from its last heartbeat. */
export class ShortfallError extends Error {
  constructor(readonly missingIds: string[]) {
    super(`${missingIds.length} run(s) counted as written are not in the warehouse: ${missingIds.slice(0, 10).join(', ')}${missingIds.length > 10 ? ', …' : ''}`);
    this.name = 'ShortfallError';
  }
}

export interface EngineDeps {
  store: SyncStore;
  source: SourceConfig;
  provider: BoundProvider;
  http: HttpClient;
  log: Logger;
  /** Values never to be written (the token). */
  secrets: string[];
  /** Reports progress; the activity turns it into a Temporal heartbeat. */
  heartbeat: (details: Progress) => void;
  /** Says "still alive" without new progress (after each run). */
  pulse?: () => void;
  /** Set when the sync is cancelled: what fails after it is the cancellation, not the run. */
  signal?: AbortSignal;
  now?: () => number;
  limits: ItemLimits;
  /** How far past now an item's time may lie and still move the watermark. */
  futureToleranceMs: number;
  /**
   * How often a listing writes its queued rows, checks that they landed and reports the
   * cursor (ms; 1,000 by default, 0: after every page). Each write is an insert per table,
   * and an insert has a fixed cost in the warehouse (a new part, merged later) far above
   * that of its rows. A kill loses at most this much work, which the retry does again; a
   * failure checks what was written before it is thrown.
   */
  checkEveryMs?: number;
}

/** What a heartbeat carries: where the call stands and what it counted, never rows. */
export type Progress = ({ phase: 'list'; cursor: ListingCursor | null; done?: number } & Tally) | { phase: 'repoll'; after: string | null; counts: SyncCounts };

export interface Budget {
  maxPages: number;
  maxMs: number;
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}

type RunOutcome = 'ok' | 'transient' | 'permanent';

/**
 * Syncs one source: pages its listings, decides which runs need fetching, fetches detail
 * and children, and hands each run's records to the store. Where it stands travels in
 * the returned cursor, so an activity can resume on another worker.
 */
export class SourceSync {
  private readonly now: () => number;
  private counts: SyncCounts = zeroCounts();
  private readonly seen = new Set<string>();
  private readonly rejected = new Set<string>();
  /** Runs this call wrote, with their change marker (a detail answer may bring another run than the one asked for). */
  private readonly written = new Map<string, string>();
  /** Runs written since the last check that they landed: id → version. */
  private unconfirmed = new Map<string, number>();
  private newest: number | null = null;
  private oldestListed: number | null = null;
  /** Runs the provider said it no longer knows, in this call: said in one line, not one each. */
  private gone: string[] = [];
  private gaps = 0;
  private oldestFailure: number | null = null;
  /** Oldest item time reached in the listing (one stream, one parent) being paged now. */
  private reach: number | null = null;

  constructor(private readonly d: EngineDeps) {
    this.now = d.now ?? Date.now;
  }

  private get name() {
    return this.d.source.name;
  }

  // ---- listing -------------------------------------------------------------

  async listing(since: number, start: ListingCursor | null, budget: Budget): Promise<ListingResult> {
    const streams = this.d.provider.streams;
    // Budgets are wall-clock time, whatever clock the data is judged by.
    const deadline = Date.now() + budget.maxMs;
    const window = { since, now: this.now() };
    let cur: ListingCursor | null = start ?? (streams.length ? { stream: streams[0].name } : null);
    let pages = 0;
    // Written, checked and reported together, every `checkEveryMs` and before any result:
    // `confirmed` is the chain of checks, `unchecked` the progress of pages done since the
    // last one (undefined: none; null: rows to check, nothing to report).
    let confirmed: Promise<void> = Promise.resolve();
    const checkEvery = this.d.checkEveryMs ?? 1_000;
    let checkedAt = Date.now();
    let unchecked: Progress | null | undefined;
    const check = (progress: Progress | null) => {
      checkedAt = Date.now();
      unchecked = undefined;
      const before = confirmed;
      confirmed = before.then(() => this.confirm()).then(() => {
        if (progress) this.d.heartbeat(progress);
      });
      confirmed.catch(() => undefined); // awaited before any result
    };
    const settle = async () => {
      if (unchecked !== undefined) check(unchecked);
      await confirmed;
    };

    while (cur) {
      const at = streams.findIndex((s) => s.name === cur!.stream);
      // A stream no longer defined (a deploy renamed it) is left; the next sync lists anew.
      if (at < 0) {
        cur = null;
        break;
      }
      const stream = streams[at];
      // A fan-out stream's parents failing to list reports the streams done before it first,
      // as a failing page does, so a retry resumes at this stream.
      const parents = stream.parents
        ? await this.parentIds(stream, window).catch(async (e: unknown) => {
            await settle();
            throw e;
          })
        : null;
      if (parents && parents.length === 0) {
        cur = this.nextStream(at);
        continue;
      }
      // Resume at the parent the cursor names; one that disappeared starts the list over (repeats are dropped by key).
      let pi = parents ? Math.max(0, cur.parent === undefined ? 0 : parents.indexOf(cur.parent)) : 0;
      let state: PageState | undefined = cur.page;
      let exhausted = false;
      while (!exhausted) {
        const parent = parents?.[pi];
        this.reach = null;
        const vars: Record<string, string> = parent === undefined ? {} : { parent };
        const left = budget.maxPages - pages;
        if (left <= 0 || Date.now() >= deadline) {
          await settle();
          return this.result({ stream: stream.name, parent, page: state });
        }
        let next: PageState | null = null;
        let below = false;
        // Pipelined: the next page is asked for while this page's runs are fetched, and the
        // rows written are checked (see `check`) while the next page's runs are fetched. The
        // cursor still moves past a page only once its rows are written and checked, in order.
        const pageStream = paginate(this.d.http, stream.collection, { vars, window, start: state, budget: { maxPages: left, deadline } })[Symbol.asyncIterator]();
        try {
          const readAhead = (): Promise<ReadPage | null> => {
            const p = pageStream.next().then((r) => (r.done ? null : this.readPage(r.value, stream)));
            p.catch(() => undefined); // awaited on the next turn; unawaited only when this page fails
            return p;
          };
          let ahead: Promise<ReadPage | null> | null = readAhead();
          while (ahead) {
            const read: ReadPage | null = await ahead;
            ahead = null;
            if (!read) break;
            const page = read.page;
            this.counts.pages++;
            pages++;
            if (page.warning) await this.quarantine('warning', stream.collection.endpoint, parent ?? '', page.warning, null);
            const plan = await this.planListItems(read, stream, since);
            if (!plan.below && page.next) ahead = readAhead();
            await this.fetchListed(plan, stream.collection.endpoint);
            next = page.next;
            state = next ?? undefined;
            below = plan.below;
            // What the heartbeat says is taken now, before the next page changes it.
            const progress = below ? null : { phase: 'list' as const, cursor: next ? { stream: stream.name, parent, page: next } : this.after(at, parents, pi), done: this.done(at, parents, pi, since, window.now), ...this.tally() };
            if (Date.now() - checkedAt >= checkEvery) check(progress);
            else unchecked = progress ?? unchecked ?? null;
            if (below) break;
          }
        } catch (e) {
          // The pages done before the failure are written and reported, so a retry resumes
          // after them; a failed write or check outranks the page's own failure.
          await settle();
          if (!parent || !(e instanceof HttpError) || e.kind === 'auth' || this.d.signal?.aborted) throw e;
          // One parent's listing failing (a workflow's runs) must not stop the others; the
          // watermark stays where it was so its runs are listed again next time.
          await this.quarantine('error', stream.collection.endpoint, parent, `runs of ${parent} could not be listed: ${(e as Error).message}`, null);
          this.holdWatermark(since);
          this.gaps++;
          next = null;
        } finally {
          await pageStream.return?.(undefined).catch(() => undefined);
        }
        if (next && !below) {
          // Budget spent mid-collection.
          await settle();
          return this.result({ stream: stream.name, parent, page: next });
        }
        state = undefined;
        if (parents && pi + 1 < parents.length) pi++;
        else exhausted = true;
      }
      cur = this.nextStream(at);
    }
    await settle();
    return this.result(null);
  }

  /**
   * How far the listing is, 0..1, for an estimate of the time left: streams and parents are
   * equal shares, and within one the time paged back from now toward `since` (newest first).
   */
  private done(at: number, parents: string[] | null, pi: number, since: number, until: number): number {
    const span = until - since;
    const inner = this.reach === null || span <= 0 ? 0 : Math.min(1, Math.max(0, (until - this.reach) / span));
    const n = parents?.length || 1;
    return (at + (pi + inner) / n) / this.d.provider.streams.length;
  }

  private result(cursor: ListingCursor | null): ListingResult {
    return { cursor, ...this.tally() };
  }

  private tally(): Tally {
    return { counts: this.snapshot(), newest: this.newest, oldestFailure: this.oldestFailure, oldestListed: this.oldestListed, gaps: this.gaps };
  }

  private nextStream(at: number): ListingCursor | null {
    const next = this.d.provider.streams[at + 1];
    return next ? { stream: next.name } : null;
  }

  private after(at: number, parents: string[] | null, pi: number): ListingCursor | null {
    if (parents && pi + 1 < parents.length) return { stream: this.d.provider.streams[at].name, parent: parents[pi + 1] };
    return this.nextStream(at);
  }

  /** The parents of a fan-out stream (a short list, listed again by each call); their names are kept. */
  private async parentIds(stream: BoundStream, window: { since: number; now: number }): Promise<string[]> {
    const p = stream.parents!;
    const ids: string[] = [];
    for await (const page of paginate(this.d.http, p.collection, { window })) {
      this.counts.pages++;
      for (const raw of page.items) {
        const read = p.read(raw);
        if (isRejected(read)) {
          await this.quarantine('error', p.collection.endpoint, '', read.rejected, raw);
          continue;
        }
        if (!ids.includes(read.id)) ids.push(read.id);
        if (read.workflowName) await this.d.store.workflowName(read.id, read.workflowName);
      }
    }
    return ids;
  }

  /**
   * A page's items checked and read, and the warehouse asked what it knows of them: no state of
   * this sync is read or changed, so it runs while the page before is still being fetched.
   */
  private readPage(page: Page, stream: BoundStream): ReadPage {
    const items = page.items.map((raw): ReadItem => {
      const over = overLimits(raw, this.d.limits);
      return over ? { raw, over } : { raw, listed: this.d.provider.readListItem(raw, stream.name) };
    });
    const keys = items.flatMap((i) => (i.listed && !isRejected(i.listed) ? [i.listed.key] : []));
    const known = this.d.store.knownRuns(keys);
    known.catch(() => undefined); // awaited by planListItems
    return { page, items, known };
  }

  /** Validates and deduplicates a page's items, and decides which runs to fetch. */
  private async planListItems(read: ReadPage, stream: BoundStream, since: number): Promise<ListingPlan> {
    const endpoint = stream.collection.endpoint;
    const valid: ListedRun[] = [];
    let below = false;
    const latest = this.now() + this.d.futureToleranceMs;
    for (const { raw, over, listed } of read.items) {
      if (over || !listed) {
        await this.quarantine('error', endpoint, keyOf(raw), `list item ${over}`, null);
        continue;
      }
      if (isRejected(listed)) {
        // Overlapping pages list a bad record again: it is quarantined once per sync.
        const said = `${keyOf(raw)} ${listed.rejected}`;
        if (keyOf(raw) && this.rejected.has(said)) continue;
        this.rejected.add(said);
        await this.quarantine('error', endpoint, keyOf(raw), listed.rejected, raw);
        continue;
      }
      if (listed.stopTime !== null && listed.stopTime < since) below = true;
      if (listed.time !== null) this.oldestListed = this.oldestListed === null ? listed.time : Math.min(this.oldestListed, listed.time);
      if (listed.time !== null) this.reach = this.reach === null ? listed.time : Math.min(this.reach, listed.time);
      if (listed.time !== null && listed.time > latest) {
        // A time in the future would carry the watermark past every run to come.
        await this.quarantine('warning', endpoint, listed.key, `run ${listed.key}: its time ${new Date(listed.time).toISOString()} lies beyond now + ${this.d.source.futureTolerance} (futureTolerance); it does not move the watermark`, null);
        listed.time = null;
      }
      if (this.seen.has(listed.key)) continue; // page edges overlap on purpose
      this.seen.add(listed.key);
      valid.push(listed);
    }
    const known = await read.known;
    const settleSince = this.now() - parseDuration(this.d.source.settle);
    const showsChanges = this.d.provider.listingShowsChanges;
    const debug = this.d.log.isDebug?.() ?? true;
    const todo: ListedRun[] = [];
    for (const v of valid) {
      const k = known.get(v.key);
      const d: FetchDecision = this.written.get(v.key) === v.fingerprint ? { fetch: false, reason: 'written by this sync' } : fetchDecision(v.fingerprint, k, settleSince, showsChanges);
      if (d.fetch) todo.push(v);
      if (debug) this.sayDecision(v, k, d);
    }
    return { valid, todo, known, below };
  }

  /** Fetches and writes the runs a plan chose; then the page's times count toward the watermark. */
  private async fetchListed(plan: ListingPlan, endpoint: string): Promise<void> {
    await mapLimit(plan.todo, this.d.source.concurrency, async (v) => {
      const outcome = await this.syncRun(v.key, v, plan.known.get(v.key), endpoint);
      if (outcome === 'transient' && v.time !== null) this.holdWatermark(v.time);
      this.d.pulse?.();
    });
    for (const v of plan.valid) if (v.time !== null && !(this.oldestFailure !== null && v.time >= this.oldestFailure)) this.newest = this.newest === null ? v.time : Math.max(this.newest, v.time);
  }

  /** Why a listed run is fetched or skipped, for --verbose; what changed when its list entry did. */
  private sayDecision(v: ListedRun, known: KnownRun | undefined, d: FetchDecision): void {
    const fields: Record<string, unknown> = { source: this.name, run: v.key, reason: d.reason };
    if (d.reason === 'listing changed' && known) {
      const raw = v.raw as Record<string, unknown>;
      const marker = this.d.provider.fingerprintFields;
      const status = marker.includes('status') && typeof raw.status === 'string' ? raw.status : undefined;
      // The warehouse keeps the provider's status word, not the other marker fields: those are named as candidates.
      if (status !== undefined && known.provider_status !== undefined && status !== known.provider_status) fields.changed = `status ${known.provider_status} -> ${status}`;
      else fields.changed = marker.filter((f) => f !== 'status').join('|') || 'fingerprint';
      fields.listed = marker.map((f) => `${f}=${JSON.stringify(raw[f] ?? null)}`).join(' ');
    }
    this.d.log.debug(d.fetch ? 'fetch run' : 'skip run', fields);
  }

  // ---- re-polling by id ----------------------------------------------------

  /** `listedSince`: every run whose cursor time is at or after it was seen by this sync's listing (null: none can be assumed). */
  async repoll(after: string, budget: Budget, listedSince: number | null = null): Promise<RepollResult> {
    const deadline = Date.now() + budget.maxMs;
    const settleSince = this.now() - parseDuration(this.d.source.settle);
    // Runs the warehouse knows come first, then the inbox, at most `inboxPerSync` ids a sync:
    // a flood of handed-in ids waits its turn instead of crowding out the open runs.
    const cap = this.d.source.inboxPerSync;
    let c: RepollCursor | null = parseRepollCursor(after);
    for (let batches = 0; c !== null; batches++) {
      if (batches >= budget.maxPages || Date.now() >= deadline) break;
      const limit: number = c.kind === 'inbox' ? Math.min(200, cap - c.taken) : 200;
      const got: { ids: string[]; next: string } = limit > 0 ? await this.d.store.runsToRepoll({ kind: c.kind, settleSince, listedSince, after: c.id, limit }) : { ids: [], next: c.id };
      const ids = got.ids;
      const known = await this.d.store.knownRuns(ids);
      if (this.d.log.isDebug?.() ?? true) {
        const reason = c.kind === 'inbox' ? 'handed in through the inbox' : 'known re-poll: open or settling, not reached by the listing';
        for (const id of ids) this.d.log.debug('fetch run', { source: this.name, run: id, reason, status: known.get(id)?.provider_status });
      }
      await mapLimit(ids, this.d.source.concurrency, async (id) => {
        await this.syncRun(id, undefined, known.get(id), 'detail');
        this.d.pulse?.();
      });
      await this.confirm();
      this.sayGone();
      if (c.kind === 'known') c = ids.length < limit ? { kind: 'inbox', taken: 0, id: '' } : { kind: 'known', taken: 0, id: got.next };
      else c = ids.length < limit || c.taken + ids.length >= cap ? null : { kind: 'inbox', taken: c.taken + ids.length, id: got.next };
      this.d.heartbeat({ phase: 'repoll', after: formatRepollCursor(c), counts: this.snapshot() });
    }
    return { after: formatRepollCursor(c), counts: this.snapshot() };
  }

  private sayGone(): void {
    if (!this.gone.length) return;
    this.d.log.warn('runs no longer known to the provider, not polled again', { source: this.name, runs: this.gone.length, first: this.gone.slice(0, 3).join(',') });
    this.gone = [];
  }

  /** Writes what is queued and checks that every run written since the last check landed. */
  private async confirm(): Promise<void> {
    // Taken together, with nothing awaited between: every run taken here had its rows queued
    // before this flush. Runs written meanwhile (the next page's) wait for the next check.
    const written = this.unconfirmed;
    this.unconfirmed = new Map();
    await this.d.store.flush();
    const missing = await this.d.store.missing(written);
    if (missing.length) throw new ShortfallError(missing);
  }

  // ---- one run -------------------------------------------------------------

  /**
   * Fetches and writes one run. Fetch problems stay with the run; auth errors stop the
   * source, cancellation stops the call, and write errors fail the activity (retried).
   */
  private async syncRun(key: string, listed: ListedRun | undefined, known: KnownRun | undefined, endpoint: string): Promise<RunOutcome> {
    let run: FetchedRun;
    let bundle: RunBundle;
    try {
      run = await this.fetchRun(key, listed);
      bundle = this.flatten(run, key);
    } catch (e) {
      return this.runFailed(e, key, listed, endpoint);
    }
    const got = bundle.run.run_id;
    if (got === key) {
      await this.writeRun(bundle, run.fingerprint, known);
      return 'ok';
    }
    // The detail endpoint answered with another run (declared by the provider): that run is
    // written under its own key, the listed one from what its list item says. Polled by id
    // without a list item, the asked-for run stays as it was until a listing shows it again.
    const other = await this.d.store.knownRuns([got]);
    await this.writeRun(bundle, run.fingerprint, other.get(got));
    if (!listed?.summary) return 'ok';
    let summary: RunBundle;
    try {
      summary = listed.summary();
      if (summary.run.run_id !== key) throw new Error(`it flattens to run ${summary.run.run_id}`);
    } catch (e) {
      return this.runFailed(new RecordError(`run ${key} could not be flattened from its list item: ${(e as Error).message}`, endpoint, key, listed.raw), key, listed, endpoint);
    }
    // The list item is a summary: the raw detail kept for this run (its full history) stays.
    await this.writeRun(summary, listed.fingerprint, known, { keepRaw: true });
    return 'ok';
  }

  /**
   * A run that could not be fetched. A failure that may pass (network, 429, 5xx, a cut-off
   * body, after retries) holds the watermark so the run is listed again; one that can
   * never pass (schema, 4xx) is quarantined and let go, or it would pin the watermark forever.
   */
  private async runFailed(e: unknown, key: string, listed: ListedRun | undefined, endpoint: string): Promise<RunOutcome> {
    if (this.d.signal?.aborted) throw e;
    const kind = failureKind(e);
    if (kind === 'auth') throw e;
    const where = e instanceof HttpError ? e.endpoint : e instanceof RecordError ? e.endpoint : endpoint;
    const msg = (e as Error).message;
    if (listed === undefined && kind === 'not_found') {
      // Polled by id and the provider no longer knows it: stop polling it, say so once.
      await this.d.store.runGone(key, msg);
      await this.quarantine('warning', where, key, `run ${key} is no longer known to the provider (${msg}); it is not polled again`, null);
      this.d.log.debug('run gone', { source: this.name, run: key });
      this.gone.push(key);
      return 'ok';
    }
    this.counts.runs_failed++;
    if (kind === 'transient') {
      await this.quarantine('warning', where, key, `run ${key} could not be fetched this time and is listed again next sync: ${msg}`, null);
      this.d.log.warn('run fetch failed, will retry next sync', { source: this.name, run: key, error: msg });
      return 'transient';
    }
    await this.quarantine('error', where, key, e instanceof RecordError ? msg : `run ${key} could not be fetched: ${msg}`, e instanceof RecordError ? e.payload : null);
    return 'permanent';
  }

  async fetchRun(key: string, listed?: ListedRun): Promise<FetchedRun> {
    const p = this.d.provider;
    let run: FetchedRun;
    if (listed?.asFetched) run = listed.asFetched();
    else {
      const detail = p.detail;
      if (!detail) throw new RecordError(`provider ${p.name} has no detail endpoint to fetch run ${key}`, 'detail', key, null);
      const body = await this.d.http.getJson(fillPath(detail.path, { id: detail.pathId(key) }), detail.query, detail.endpoint);
      const raw = pick(body, detail.items);
      const over = overLimits(raw, this.d.limits);
      if (over) throw new RecordError(`detail of run ${key} is ${over}`, detail.endpoint, key, null);
      const read = detail.read(raw);
      if (isRejected(read)) throw new RecordError(`invalid detail of run ${key}: ${read.rejected}`, detail.endpoint, key, raw);
      run = read;
    }
    const id = p.detail ? p.detail.pathId(key) : key;
    const window = { since: 0, now: this.now() };
    for (const child of run.children) {
      for await (const page of paginate(this.d.http, child.collection, { vars: { id }, window })) {
        if (page.warning) await this.quarantine('warning', child.collection.endpoint, key, page.warning, null);
        for (const raw of page.items) {
          const over = overLimits(raw, this.d.limits);
          const bad = over ? { rejected: `${child.name} item of run ${key} is ${over}` } : child.add(raw);
          if (bad) await this.quarantine('error', child.collection.endpoint, `${key}/${keyOf(raw) || '?'}`, bad.rejected, over ? null : raw);
        }
      }
    }
    return run;
  }

  private flatten(run: FetchedRun, key: string): RunBundle {
    try {
      return run.bundle();
    } catch (e) {
      throw new RecordError(`run ${key} could not be flattened: ${(e as Error).message}`, this.d.provider.detail?.endpoint ?? 'detail', key, run.raw);
    }
  }

  /** Cleans a run's records and hands them to the store as one unit. */
  private async writeRun(b: RunBundle, fingerprint: string, known: KnownRun | undefined, opts: { keepRaw?: boolean } = {}): Promise<void> {
    const runId = b.run.run_id;
    const sameRun = known && known.run_id === runId ? known : undefined;
    // Object.assign, not a spread that adds keys: the same object (keys in the same order, so the
    // same content hash) at a fraction of the cost per record in Node 20 (see warehouse/rows.ts).
    const bundle: RunBundle = {
      run: Object.assign({}, b.run, { workflow_name: b.run.workflow_name || this.d.source.workflowNames[b.run.workflow_id] || '', error: this.cleanText(b.run.error), triggered_by: this.cleanText(b.run.triggered_by), trigger: this.cleanText(b.run.trigger), attributes: this.cleanAttributes(b.run.attributes) }),
      steps: b.steps?.map((s) => Object.assign({}, s, { error: this.cleanText(s.error), attributes: this.cleanAttributes(s.attributes) })),
      events: b.events?.map((e) => Object.assign({}, e, { message: this.cleanText(e.message), data: e.data === undefined || e.data === null ? e.data : this.cleanValue(e.data) })),
      links: b.links,
      raw: opts.keepRaw ? null : this.cleanValue(b.raw),
    };
    const p = this.d.provider;
    const contentHash = hashOf(bundle);
    const again = this.written.has(runId);
    this.written.set(runId, fingerprint);
    // Fetched again with nothing changed: nothing to write.
    if (sameRun && sameRun.fingerprint === fingerprint && sameRun.content_hash === contentHash) {
      this.counts.runs_polled++;
      return;
    }
    const { version, warnings } = await this.d.store.writeRun({ bundle, fingerprint, contentHash, known: sameRun, statuses: { run: p.runStatuses, step: p.stepStatuses }, keepRaw: !!opts.keepRaw });
    this.unconfirmed.set(runId, version);
    if (again) this.counts.runs_polled++;
    else if (!sameRun) this.counts.runs_new++;
    else if (sameRun.fingerprint !== fingerprint) this.counts.runs_updated++;
    else this.counts.runs_polled++;
    // Said once per version of the run, not on every re-poll of an unchanged one.
    if (!sameRun || sameRun.fingerprint !== fingerprint) for (const w of warnings) await this.quarantine('warning', 'durations', runId, `run ${runId}: negative duration stored as NULL (${w})`, null);
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
    const safe = payload === null || payload === undefined || overLimits(payload, this.d.limits) !== null ? '' : JSON.stringify(this.cleanValue(payload));
    await this.d.store.quarantine({ severity, endpoint, key, reason, payload: safe });
  }

  /**
   * Counts so far, with this call's HTTP figures and rows written. Rows are counted when handed
   * to the store: whatever carries this snapshot (a heartbeat, the result) goes out only after
   * the rows were written and checked (confirm), or not at all.
   */
  private snapshot(): SyncCounts {
    const s = this.d.http.stats;
    return { ...this.counts, api_calls: s.apiCalls, retries: s.retries, rate_limited: s.rateLimited, rows_written: this.d.store.rowsQueued };
  }

  /** Writes and checks what is still queued (quarantine rows of a call that ended between pages). */
  async close(): Promise<void> {
    await this.confirm();
  }
}

/** A list item checked for size and read by the provider. */
type ReadItem = { raw: unknown; over: string; listed?: undefined } | { raw: unknown; over?: undefined; listed: ListedRun | Rejected };

/** A list page read ahead (see readPage). */
interface ReadPage {
  page: Page;
  items: ReadItem[];
  known: Promise<Map<string, KnownRun>>;
}

/** A list page, validated: the runs it lists, those to fetch, what the warehouse knows of them. */
interface ListingPlan {
  valid: ListedRun[];
  todo: ListedRun[];
  known: Map<string, KnownRun>;
  /** The page reached below the window. */
  below: boolean;
}

/** Where re-polling stands: which kind of run, after which position (the store's), and how many inbox ids this sync took. */
interface RepollCursor {
  kind: 'known' | 'inbox';
  id: string;
  taken: number;
}

function parseRepollCursor(after: string): RepollCursor {
  if (after.startsWith('inbox:')) {
    const [, taken, ...id] = after.split(':');
    return { kind: 'inbox', taken: Number(taken) || 0, id: id.join(':') };
  }
  return { kind: 'known', taken: 0, id: after.startsWith('known:') ? after.slice('known:'.length) : after };
}

const formatRepollCursor = (c: RepollCursor | null): string | null => (c === null ? null : c.kind === 'known' ? `known:${c.id}` : `inbox:${c.taken}:${c.id}`);

/** A record's own id, for naming it in quarantine rows, when it has one at the usual place. */
function keyOf(raw: unknown): string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return '';
  const id = (raw as Record<string, unknown>).id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : '';
}

export interface FetchDecision {
  fetch: boolean;
  reason: 'new' | 'listing changed' | 'open at provider' | 'finished within settle' | 'unchanged in listing' | 'unchanged and settled' | 'written by this sync';
}

/**
 * Whether a listed run is fetched, and why: new or changed; and, where a change need not
 * show in the list entry, still open or finished recently enough that it may still change.
 */
export function fetchDecision(fingerprint: string, known: KnownRun | undefined, settleSince: number, listingShowsChanges = false): FetchDecision {
  if (!known) return { fetch: true, reason: 'new' };
  if (known.fingerprint !== fingerprint) return { fetch: true, reason: 'listing changed' };
  if (listingShowsChanges) return { fetch: false, reason: 'unchanged in listing' };
  if (!known.is_terminal) return { fetch: true, reason: 'open at provider' };
  if (known.finished_at !== null && known.finished_at >= settleSince) return { fetch: true, reason: 'finished within settle' };
  return { fetch: false, reason: 'unchanged and settled' };
}


/** What a run's rows say, as one hash (raw answers left out: they are kept, not compared). */
function hashOf(b: RunBundle): string {
  return sha1Hex(JSON.stringify([b.run, b.steps ?? [], b.events ?? [], b.links ?? []]));
}
