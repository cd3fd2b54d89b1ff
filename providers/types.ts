import type { z } from 'zod';
import type { EnvelopeCheck, Query } from '../http/client.js';
import type { StatusMap } from '../core/status.js';
import type { ProviderName, SourceConfig } from '../config/schema.js';
import type { RunBundle } from '../sync/records.js';

/**
 * How a collection endpoint pages, as data (the way dlt's REST source and Airbyte's
 * declarative connectors describe it). `http/paging.ts` is the one implementation.
 */
/** `limit` is the page size runsync asks for; `maxLimit`, when larger, what the provider accepts (a source's `pageSize` may go up to it). */
export type Paging =
  /** An opaque token from the answer is sent back as-is (Tracecat). */
  | { style: 'cursor'; cursorParam: string; nextCursor: string; hasMore?: string; limitParam?: string; limit: number; maxLimit?: number }
  /**
   * The server's cursor is the last item's timestamp and the next page takes `< cursor`
   * (`> cursor` for `order: 'asc'`), which skips items that share that timestamp at the
   * page edge (Strait). The paginator sends the last timestamp moved one microsecond
   * past it instead, so the edge is included, and the engine drops the repeats.
   */
  | { style: 'timestamp-cursor'; cursorParam: string; itemTime: string; order?: 'desc' | 'asc'; hasMore?: string; nextCursor?: string; limitParam?: string; limit: number; maxLimit?: number }
  /** limit/offset; `overlap` items of each page are fetched again so rows shifting down are not missed (B3OS). */
  | { style: 'offset'; offsetParam: string; limitParam: string; limit: number; maxLimit?: number; hasMore?: string; overlap: number }
  /** page number and page size; stops on a short page or when `total` is reached. */
  | { style: 'page'; pageParam: string; sizeParam: string; limit: number; maxLimit?: number; firstPage: number; total?: string }
  /** One answer holds everything. */
  | { style: 'single' };

export interface ListContext {
  source: SourceConfig;
  /** Lower bound of this sync's window (watermark − lookback, or now − backfill). */
  since: number;
  now: number;
}

export interface Collection {
  /** Path below the source's baseUrl; `{id}` / `{parent}` are filled URL-encoded. */
  path: string;
  query?: (ctx: ListContext) => Query;
  /** Dotted path to the array of items in the answer; a bare array answer is taken as the items. */
  items: string;
  paging: Paging;
  /** Short name used in errors and quarantine rows. */
  endpoint: string;
}

export interface ListStream {
  name: string;
  /** A collection, or one built from the source (paging set by configuration: Anon's undocumented list). */
  collection: Collection | ((source: SourceConfig) => Collection);
  /**
   * Newest-first listings without a server-side time filter stop once items fall below `since`.
   * Returns null when the item (or the source's configuration) gives no basis to stop.
   */
  stopBelow?: (item: any, source: SourceConfig) => number | null;
  /** Runs listed under each item of a parent collection (B3OS: workflows → runs); `{parent}` in the child path. */
  parents?: {
    collection: Collection;
    id: (item: any) => string;
    /** The parent's name, when the parent is a workflow: kept so runs can show it. */
    workflowName?: (item: any) => string | undefined;
  };
}

export interface ChildCollection {
  name: string;
  collection: Collection;
  schema: z.ZodType;
}

export interface ProviderDefinition {
  name: ProviderName;
  /** Provider-specific `options` of a source, validated with the rest of the config. */
  options: z.ZodType;
  /** Request headers for a token. */
  auth: (token: string, source: SourceConfig) => Record<string, string>;
  envelope?: EnvelopeCheck;
  runStatuses: StatusMap;
  stepStatuses?: StatusMap;

  /** Listing streams; absent for providers that cannot list runs (DX: fed through the inbox). */
  list?: ListStream[];
  listItem?: z.ZodType;
  /** Key of a run from a list item (or a detail answer). */
  key: (item: any) => string;
  /** The time the watermark follows (creation or start time), from a list item. */
  itemTime?: (item: any) => number | null;
  /** A change marker comparable between a list item and a detail answer. */
  fingerprint: (runObject: any) => string;

  detail?: { collection: Collection; schema: z.ZodType; pathId?: (key: string) => string };
  /** List items already carry the whole run: only children are fetched for them. */
  listItemIsDetail?: boolean;
  children?: ChildCollection[];

  /**
   * Flattens one run's answers into warehouse records. Also called with a bare list item and
   * no children when the detail endpoint answered with another run than the one listed
   * (Tracecat: detail by id returns the latest run of that id).
   */
  toBundle: (input: { run: any; children: Record<string, any[]>; source: SourceConfig }) => RunBundle;
}
