import type { z } from 'zod';
import type { EnvelopeCheck, Query } from '../http/client.js';
import type { StatusMap } from '../core/status.js';
import type { SourceConfig } from '../config/schema.js';
import type { RunBundle } from '../sync/records.js';

/**
 * How a collection endpoint pages, as data (the way dlt's REST source and Airbyte's
 * declarative connectors describe it). `http/paging.ts` is the one implementation.
 * `limit` is the page size runsync asks for; `maxLimit`, when larger, what the provider
 * accepts (a source's `pageSize` may go up to it).
 */
export type Paging =
  /** An opaque token from the answer is sent back as-is (Tracecat). */
  | { style: 'cursor'; cursorParam: string; nextCursor: string; hasMore?: string; limitParam?: string; limit: number; maxLimit?: number }
  /**
   * The server's cursor is the last item's timestamp and the next page takes `< cursor`
   * (`> cursor` for `order: 'asc'`), which skips items sharing that timestamp at the page
   * edge (Strait). runsync sends the last valid item's timestamp moved one microsecond past
   * it instead, so the edge is listed again and repeats are dropped by key.
   */
  | { style: 'timestamp-cursor'; cursorParam: string; itemTime: string; order?: 'desc' | 'asc'; hasMore?: string; nextCursor?: string; limitParam?: string; limit: number; maxLimit?: number }
  /** limit/offset; `overlap` items of each page are fetched again so rows shifting down are not missed (B3OS). */
  | { style: 'offset'; offsetParam: string; limitParam: string; limit: number; maxLimit?: number; hasMore?: string; overlap: number }
  /** page number and page size; stops on a short page or when `total` is reached. */
  | { style: 'page'; pageParam: string; sizeParam: string; limit: number; maxLimit?: number; firstPage: number; total?: string };

/** What a request's query may depend on: the source's options and this sync's window. */
export interface RequestContext<O> {
  options: O;
  /** Lower bound of this sync's window (watermark − lookback, or now − backfill). */
  since: number;
  now: number;
}

/** One GET endpoint. `path` is below the source's baseUrl; `{id}` / `{parent}` are filled URL-encoded. */
export interface Endpoint<O> {
  /** Short name used in errors and quarantine rows (no ids, no query). */
  endpoint: string;
  path: string;
  query?: (ctx: RequestContext<O>) => Query;
  /** Dotted path to the payload in the answer ('' for the whole answer); for a collection, the items array. */
  items: string;
}

export interface Collection<O> extends Endpoint<O> {
  paging: Paging;
}

/** Parents whose children are listed one by one (B3OS: workflows → runs). */
export interface ParentSpec<O, P> {
  collection: Collection<O>;
  schema: z.ZodType<P>;
  id: (parent: P) => string;
  /** The parent's name, when the parent is a workflow: kept so runs can show it. */
  workflowName?: (parent: P) => string | undefined;
}

export interface StreamSpec<O, L> {
  /** Names the stream in heartbeats and cursors: a deploy that reorders streams resumes the right one. */
  name: string;
  collection: Collection<O> | ((options: O) => Collection<O>);
  /**
   * Newest-first listings without a server-side time filter stop once items fall below
   * `since`. Returns null when the item (or the options) give no basis to stop.
   */
  stopBelow?: (item: L, options: O) => number | null;
  /** Runs listed under each item of a parent collection; `{parent}` in the stream's path. */
  parents?: BoundParents<O>;
}

export interface ChildSpec<O, T> {
  collection: Collection<O>;
  schema: z.ZodType<T>;
  /** Key that pages may repeat (timestamp cursors list their edge twice); repeats are dropped. */
  key?: (item: T) => string;
}

export interface DetailSpec<O, D> {
  request: Endpoint<O>;
  schema: z.ZodType<D>;
  /** The id in the detail path, from a run's key (Tracecat keys carry the Temporal run id too). */
  pathId?: (key: string) => string;
  /**
   * The endpoint may answer with another run than the one asked for (Tracecat: detail by
   * execution id is the latest run of it). The listed run is then written from its list
   * item (`listItemBundle`), the answered one under its own key.
   */
  mayReturnOtherRun?: boolean;
}

/**
 * A provider, typed end to end: O the source's options, L a list item, D a run's detail,
 * C the children (name → item type). `defineProvider` infers them from the zod schemas.
 */
export interface ProviderSpec<O, L, D, C extends Record<string, unknown>> {
  name: string;
  /** Provider-specific `options` of a source, validated with the rest of the config. */
  options: z.ZodType<O>;
  /** Request headers for a token (default: the token as a bearer token). */
  auth?: (token: string, options: O) => Record<string, string>;
  /** Checks every answer, HTTP 200 included, and classifies failures (auth, not found, transient). */
  envelope?: EnvelopeCheck;
  runStatuses: StatusMap;
  stepStatuses?: StatusMap;

  /** Listing streams; absent for providers that cannot list runs (fed through the inbox). */
  list?: StreamSpec<O, L>[];
  listItem?: z.ZodType<L>;
  /** Key of a run, from a list item or a detail answer. */
  key: (run: L | D) => string;
  /** The time the watermark follows (creation, start or close time), from a list item. */
  itemTime?: (item: L) => number | null;
  /** The run column holding that time: runs at or after the window's start were seen by the listing. */
  cursorColumn?: CursorColumn;
  /**
   * Any change to a run, its children included, changes its list entry's fingerprint
   * (Tracecat's history length, Anon's updatedAt): a finished run listed unchanged is
   * not fetched again, even while it settles.
   */
  listingShowsChanges?: boolean;
  /** A change marker comparable between a list item and a detail answer. */
  fingerprint: (run: L | D) => string;
  /** The fields the fingerprint is made of (for saying which may have changed). */
  fingerprintFields?: readonly string[];

  detail?: DetailSpec<O, D>;
  /** List items already carry the whole run: only children are fetched for them. */
  detailFromListItem?: (item: L) => D;
  /** A listed run flattened from its list item alone (see `DetailSpec.mayReturnOtherRun`). */
  listItemBundle?: (item: L, source: SourceConfig) => RunBundle;
  children?: { [K in keyof C]: ChildSpec<O, C[K]> };

  /** Flattens one run's answers into warehouse records. */
  toBundle: (input: { run: D; children: { [K in keyof C]: C[K][] }; options: O; source: SourceConfig }) => RunBundle;
}

// ---- what the shared engine sees: one source's provider, types closed over ----------

/** A record that cannot be used, and why (field by field where the schema says so). */
export interface Rejected {
  rejected: string;
}

/** A collection with the source's options applied. */
export interface BoundCollection {
  endpoint: string;
  path: string;
  query: (window: { since: number; now: number }) => Query;
  items: string;
  paging: Paging;
}

export interface BoundParents<O> {
  collection: (options: O) => BoundCollection;
  read: (raw: unknown) => { id: string; workflowName?: string } | Rejected;
}

export interface BoundStream {
  name: string;
  collection: BoundCollection;
  parents?: { collection: BoundCollection; read: (raw: unknown) => { id: string; workflowName?: string } | Rejected };
}

/** A validated list item. */
export interface ListedRun {
  key: string;
  /** The watermark's time of this run; null when it has none yet (open runs of a close-time watermark). */
  time: number | null;
  /** The time a newest-first listing stops on; null when it cannot stop on this item. */
  stopTime: number | null;
  fingerprint: string;
  raw: unknown;
  /** The run as a detail, when list items carry it whole. */
  asFetched: (() => FetchedRun) | null;
  /** The run flattened from this item alone, when the detail endpoint may answer with another run. */
  summary: (() => RunBundle) | null;
}

/** Children of one run, collected page by page. */
export interface ChildSink {
  name: string;
  collection: BoundCollection;
  /** Adds one raw item; a rejected one is returned (the run goes on without it); a repeat is dropped. */
  add: (raw: unknown) => Rejected | null;
}

/** A validated detail answer, collecting its children until `bundle()` flattens it. */
export interface FetchedRun {
  key: string;
  fingerprint: string;
  raw: unknown;
  children: ChildSink[];
  bundle: () => RunBundle;
}

export interface BoundDetail {
  endpoint: string;
  path: string;
  query: Query;
  items: string;
  pathId: (key: string) => string;
  mayReturnOtherRun: boolean;
  read: (raw: unknown) => FetchedRun | Rejected;
}

/** One source's provider: every hook typed inside, plain values outside. */
export interface BoundProvider {
  name: string;
  cursorColumn: CursorColumn | null;
  listingShowsChanges: boolean;
  /** The list entry's fields behind its fingerprint. */
  fingerprintFields: readonly string[];
  runStatuses: StatusMap;
  stepStatuses: StatusMap;
  envelope?: EnvelopeCheck;
  headers: (token: string) => Record<string, string>;
  streams: BoundStream[];
  /** Validates a list item of the named stream (its `stopBelow` applies). */
  readListItem: (raw: unknown, stream?: string) => ListedRun | Rejected;
  detail: BoundDetail | null;
}

/** A provider as the registry holds it. */
export interface Provider {
  name: string;
  options: z.ZodType;
  listable: boolean;
  bind: (source: SourceConfig) => BoundProvider;
}

export type CursorColumn = 'created_at' | 'started_at' | 'finished_at';

export const isRejected = (x: object): x is Rejected => 'rejected' in x;
